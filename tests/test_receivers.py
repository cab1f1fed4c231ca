"""When saving registered content queues its pings: after the commit, and only for news."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from tests.helpers import dummy_tasks, links
from tests.testapp.models import Article, Unregistered

pytestmark = pytest.mark.django_db


def test_save_queues_one_send_after_commit_only(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            article = Article.objects.create(
                title="A",
                slug="a",
                body=links("http://peer.example/x"),
                published_at=timezone.now(),
            )
            article.title = "A again"
            article.save()
            assert queued == []

    assert len(callbacks) == 1  # two saves in one transaction: one send, after the commit
    ct = ContentType.objects.get_for_model(Article).pk
    assert [r.args for r in queued] == [[ct, str(article.pk), False]]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_save_sends_nothing(site):
    with dummy_tasks() as queued:
        with transaction.atomic():
            Article.objects.create(title="A", slug="a", body="", published_at=timezone.now())
            transaction.set_rollback(True)

        assert queued == []


def test_fixture_loading_sends_nothing(queued, django_capture_on_commit_callbacks, tmp_path):
    fixture = tmp_path / "articles.json"
    fixture.write_text(
        '[{"model": "testapp.article", "pk": 7, "fields": {"title": "F", "slug": "f", '
        '"body": "<a href=\\"http://peer.example/x\\">x</a>", "published_at": "2020-01-01T00:00:00Z", '
        '"pings_open": true}}]'
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)

    assert queued == []


@pytest.mark.parametrize(
    "fields",
    [
        {"pings_open": False},
        {"published_at": None},
        {"published_at": timezone.now() + timezone.timedelta(days=1)},
    ],
    ids=["closed", "draft", "scheduled"],
)
def test_unpublished_or_closed_objects_send_nothing(
    queued, django_capture_on_commit_callbacks, fields
):
    values = {
        "title": "A",
        "slug": "a",
        "body": links("http://peer.example/x"),
        "published_at": timezone.now(),
    }
    values.update(fields)
    with django_capture_on_commit_callbacks(execute=True):
        Article.objects.create(**values)

    assert queued == []


def test_unregistered_models_send_nothing(queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Unregistered.objects.create(name="x")

    assert queued == []
