from django.apps import AppConfig


class UsageLogsConfig(AppConfig):
    name = "usagelogs"
    verbose_name = "API usage logs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apikeys.extensions import register_blocked_ips_source, register_traffic_source, register_used_from_source

        from . import checks  # noqa: F401 - registers the system checks
        from .selectors import blocked_ips_for, used_from_for
        from .traffic import traffic_by_address

        register_blocked_ips_source(blocked_ips_for)
        register_used_from_source(used_from_for)
        register_traffic_source(traffic_by_address)
