from django.apps import AppConfig


class UsageLogsConfig(AppConfig):
    name = "usagelogs"
    verbose_name = "API usage logs"
    default_auto_field = "django.db.models.BigAutoField"
