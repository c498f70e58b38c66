from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apikeys.extensions import register_deferrer

        from . import checks, sources, tasks  # noqa: F401 - receivers, checks and the queue's tasks

        register_deferrer(tasks.run_deferred)
