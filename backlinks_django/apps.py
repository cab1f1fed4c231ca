from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BacklinksConfig(AppConfig):
    name = "backlinks_django"
    verbose_name = _("Backlinks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backlinks_django import checks  # noqa: F401 -- registers the system checks
