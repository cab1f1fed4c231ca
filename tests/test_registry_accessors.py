"""register()'s accessors: checked against the model (system check E020), and never able to
break a save or a deletion when they fail anyway."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from backlinks_django import muted, registry
from backlinks_django.checks import check_registrations
from tests.helpers import links
from tests.testapp.models import Article, Note

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_register_example() -> dict[str, Any]:
    """The keyword arguments of the README's ``register(Entry, ...)`` example, as written."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.S):
        if "register(" not in block:
            continue
        for node in ast.walk(ast.parse(block)):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "register"
                and getattr(node.args[0], "id", None) == "Entry"
            ):
                return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    raise AssertionError("README.md has no register(Entry, ...) example")


@pytest.fixture
def reregister() -> Iterator[Any]:
    """Register a model differently for one test; its test-settings registration after."""
    saved = {model: registry.get_registration(model) for model in (Article, Note)}

    def reregister(model: type, **kwargs: Any) -> registry.Registration:
        return registry.register(model, **kwargs)

    yield reregister
    for model, registration in saved.items():
        assert registration is not None
        registry._registry[model] = registration


def e020(model: type | None = None) -> list[checks.CheckMessage]:
    return [m for m in check_registrations() if model is None or m.obj is model]


# --- the system check -------------------------------------------------------------------------


def test_the_test_apps_registrations_pass():
    assert e020() == []


def test_readme_example_on_a_model_without_those_fields_names_each_one(reregister):
    example = readme_register_example()
    assert example["pings_open"] == "pings_open"  # the case the issue met
    reregister(Note, **example)  # Note has only `text`

    messages = e020(Note)

    assert {m.id for m in messages} == {"backlinks_django.E020"}
    assert all(m.level == checks.ERROR for m in messages)
    by_argument = {re.search(r"register\(Note, (\w+)=", m.msg)[1]: m.msg for m in messages}
    assert set(by_argument) == {"content", "published", "pings_open", "author_email"}
    assert "testapp.Note has no attribute 'pings_open'" in by_argument["pings_open"]
    assert "testapp.Note has no attribute 'author'" in by_argument["author_email"]


def test_dotted_accessor_is_followed_through_the_relation(reregister):
    from backlinks_django.models import Backlink

    # The first name is missing.
    reregister(Article, content="body", author_email="author.email")
    (message,) = e020(Article)
    assert "testapp.Article has no attribute 'author'" in message.msg

    # Past a to-one relation (Backlink.site), the related model is checked.
    try:
        registry.register(Backlink, content="excerpt", url="source_url", author_email="site.email")
        (message,) = e020(Backlink)
        assert "register(Backlink, author_email='site.email')" in message.msg
        assert "sites.Site has no attribute 'email'" in message.msg

        registry.register(Backlink, content="excerpt", url="source_url", author_email="site.name")
        assert e020(Backlink) == []
    finally:
        registry.unregister(Backlink)


def test_methods_properties_and_functions_pass(reregister):
    reregister(
        Article,
        content=lambda obj: obj.body,
        published="published_at",
        pings_open="pings_open",
        url="get_absolute_url",
        author_email=lambda obj: "a@example.com",
    )
    assert e020(Article) == []


def test_a_model_without_get_absolute_url_and_no_url_is_e020(reregister):
    from backlinks_django.models import BlockedDomain

    registry.register(BlockedDomain, content="domain")
    try:
        (message,) = e020(BlockedDomain)
        assert "url='get_absolute_url'" in message.msg
    finally:
        registry.unregister(BlockedDomain)


@pytest.mark.django_db
def test_manage_py_check_fails_on_it(reregister, site):
    reregister(Note, **readme_register_example())

    with pytest.raises(SystemCheckError, match=r"backlinks_django.E020"):
        call_command("check")


@pytest.mark.parametrize("bad", [True, 1, ["pings_open"]])
def test_register_refuses_an_accessor_of_the_wrong_type(reregister, bad):
    with pytest.raises(TypeError, match="pings_open"):
        reregister(Article, content="body", pings_open=bad)


# --- saving and deleting never break ----------------------------------------------------------


@pytest.mark.django_db
def test_readme_example_on_a_model_without_the_fields_saves_and_logs(
    reregister, site, queued, django_capture_on_commit_callbacks, caplog
):
    reregister(Note, **readme_register_example())

    with caplog.at_level(logging.ERROR, logger="backlinks_django.receivers"):
        with django_capture_on_commit_callbacks(execute=True):
            note = Note.objects.create(text=links("http://peer.example/x"))

    assert Note.objects.filter(pk=note.pk).exists()
    assert queued == []
    (record,) = caplog.records
    message = record.getMessage()
    assert f"testapp.Note {note.pk}" in message
    assert "register(Note, published='published_at') raised AttributeError" in message


@pytest.mark.django_db
def test_a_missing_pings_open_field_is_logged_by_name(
    reregister, site, queued, django_capture_on_commit_callbacks, caplog
):
    reregister(Article, content="body", published="published_at", pings_open="comments_open")

    with caplog.at_level(logging.ERROR, logger="backlinks_django.receivers"):
        with django_capture_on_commit_callbacks(execute=True):
            article = Article.objects.create(
                title="A",
                slug="a",
                body=links("http://peer.example/x"),
                published_at=timezone.now(),
            )

    assert Article.objects.filter(pk=article.pk).exists()
    assert queued == []
    assert "register(Article, pings_open='comments_open') raised AttributeError" in caplog.text
    assert "testapp.Article" in caplog.text


@pytest.mark.django_db
def test_a_raising_method_is_logged_too(
    reregister, site, queued, django_capture_on_commit_callbacks, caplog
):
    def broken(obj: Article) -> bool:
        raise ValueError("no database of switches")

    reregister(Article, content="body", pings_open=broken)

    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.create(title="A", slug="a", body="", published_at=timezone.now())

    assert Article.objects.count() == 1
    assert "raised ValueError: no database of switches" in caplog.text


@pytest.mark.django_db
def test_a_muted_save_with_a_failing_content_accessor_saves_and_logs(
    reregister, site, django_capture_on_commit_callbacks, caplog
):
    reregister(Article, content="html", published="published_at")

    with django_capture_on_commit_callbacks(execute=True), muted():
        Article.objects.create(title="A", slug="a", body="", published_at=timezone.now())

    assert Article.objects.count() == 1
    assert "register(Article, content='html') raised AttributeError" in caplog.text


@pytest.mark.django_db
def test_a_deletion_with_a_failing_url_accessor_deletes_and_logs(
    reregister, site, django_capture_on_commit_callbacks, caplog
):
    article = Article.objects.create(title="A", slug="a", body="", published_at=timezone.now())
    reregister(Article, content="body", url="permalink")

    with django_capture_on_commit_callbacks(execute=True):
        article.delete()

    assert not Article.objects.exists()
    assert "register(Article, url='permalink') raised AttributeError" in caplog.text


def test_the_registry_imports_before_the_apps_are_ready():
    # The README's register() example imports it at the top of an apps.py, which Django
    # imports before any model: importing a model there raises AppRegistryNotReady.
    import subprocess
    import sys

    code = (
        "import django.conf; django.conf.settings.configure(INSTALLED_APPS=["
        "'django.contrib.contenttypes', 'django.contrib.sites', 'backlinks_django']); "
        "from backlinks_django.registry import register"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=README.parent
    )
    assert result.returncode == 0, result.stderr
