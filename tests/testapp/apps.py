from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from backlinks_django.registry import register

        from .models import Article, Note

        register(Article, content="body", published="published_at", pings_open="pings_open")
        register(Note, content="text", url_names=["notes"], lookups={"p": "pk"})
