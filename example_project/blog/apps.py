from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backlinks_django.registry import register

        from .models import Entry

        register(Entry, content="body", published="published_at", pings_open="pings_open")
