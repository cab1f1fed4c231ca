"""An object's author hears of backlinks to it held or approved: one e-mail per batch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from backlinks_django import moderation, notifications, registry, tasks
from backlinks_django.models import Backlink, Kind, SiteSettings, Status
from backlinks_django.pipeline import Ping, receive
from tests.conftest import page_linking_to
from tests.helpers import LOOPBACK, dummy_tasks
from tests.testapp.models import Article, Note

pytestmark = pytest.mark.django_db

AUTHOR = "author@example.com"


@pytest.fixture
def author_of_articles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Articles are registered with an ``author_email`` accessor for the test."""
    registration = registry.get_registration(Article)
    told = dataclasses.replace(registration, author_email=lambda article: AUTHOR)
    monkeypatch.setitem(registry._registry, Article, told)


@pytest.fixture
def ping(
    serve_source, article_url, site, django_capture_on_commit_callbacks
) -> Callable[..., Backlink]:
    """Receive a pingback to the article from a fresh page of the local peer."""
    counter = iter(range(1, 10_000))

    def send(**settings: Any) -> Backlink:
        n = next(counter)
        source = serve_source(page_linking_to(article_url, title=f"Reply {n}"), path=f"/r{n}")
        with override_settings(BACKLINKS={**LOOPBACK, **settings}):
            with django_capture_on_commit_callbacks(execute=True):
                return receive(Ping(Kind.PINGBACK, source, article_url), site=site)

    return send


def end_batch(article: Article) -> None:
    """The batch window has passed (its cache entry expired)."""
    key = notifications._batch_key(ContentType.objects.get_for_model(article).pk, str(article.pk))
    assert caches["default"].delete(key)


def run(queued: Any) -> int:
    """Run a queued ``notify_author`` task in the test, as a worker would when it is due."""
    return tasks.notify_author.call(*queued.args)


def author_mails() -> list[Any]:
    return [message for message in mail.outbox if message.to == [AUTHOR]]


# --- the accessor -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accessor", "expected"),
    [
        (None, ""),
        ("title", "Target article"),
        (lambda article: f"  {article.slug}@example.com ", "target@example.com"),
        ("missing_relation.email", ""),
    ],
)
def test_the_author_email_accessor(article, accessor, expected):
    article.missing_relation = None
    registration = registry.Registration(model=Article, content="body", author_email=accessor)

    assert registration.get_author_email(article) == expected


def test_register_takes_an_author_email_accessor():
    try:
        registration = registry.register(Note, content="text", author_email="owner.email")
        assert registration.author_email == "owner.email"
    finally:
        registry.register(Note, content="text", url_names=["notes"], lookups={"p": "pk"})


# --- one e-mail per batch ---------------------------------------------------------------------


def test_fifty_pings_in_a_minute_queue_one_email_listing_them_all(author_of_articles, ping):
    with dummy_tasks() as queued:
        for _ in range(50):
            ping()
        (task,) = [q for q in queued if q.task.name == "notify_author"]
        # Due once the batch window has passed: the pings of that window come with it.
        wait = (task.task.run_after - timezone.now()).total_seconds()
        assert 290 < wait <= 300

        assert run(task) == 50

    (message,) = author_mails()
    assert message.subject == "50 backlinks to “Target article” (50 awaiting moderation)"
    assert message.body.count("- Awaiting moderation: Reply") == 50


def test_a_backlink_approved_on_receipt_is_listed_as_approved(author_of_articles, ping, site):
    SiteSettings.objects.create(site=site, moderation="auto")

    with dummy_tasks() as queued:
        backlink = ping()
        (task,) = queued
        run(task)

    (message,) = author_mails()
    assert message.subject == "1 backlink to “Target article” (1 approved)"
    assert f"Pingback from {backlink.source_url}" in message.body


def test_approvals_by_an_editor_make_one_more_email(
    author_of_articles, ping, article, django_capture_on_commit_callbacks
):
    with dummy_tasks() as queued:
        held = [ping(), ping(), ping()]
        run(queued[0])
        end_batch(article)

        with django_capture_on_commit_callbacks(execute=True):
            moderation.approve(Backlink.objects.filter(pk__in=[held[0].pk, held[1].pk]))
        (approval,) = [q for q in queued[1:] if q.task.name == "notify_author"]
        run(approval)

    first, second = author_mails()
    assert first.subject == "3 backlinks to “Target article” (3 awaiting moderation)"
    assert second.subject == "2 backlinks to “Target article” (2 approved)"


def test_spam_is_not_news_for_the_author(author_of_articles, ping):
    with dummy_tasks() as queued:
        ping(BLOCKED_KEYWORDS=["Reply"])

    assert Backlink.objects.get().status == Status.SPAM
    assert [q for q in queued if q.task.name == "notify_author"] == []


def test_no_accessor_no_email(ping):
    with dummy_tasks() as queued:
        ping()

    assert queued == []
    assert author_mails() == []


def test_without_deferred_tasks_the_first_goes_at_once_and_the_rest_of_the_batch_next(
    author_of_articles, ping, article
):
    """The immediate backend runs the task at once: the batch's later backlinks are listed
    in the author's next e-mail."""
    ping()
    assert len(author_mails()) == 1

    ping()
    ping()
    assert len(author_mails()) == 1

    end_batch(article)
    ping()

    first, second = author_mails()
    assert first.subject == "1 backlink to “Target article” (1 awaiting moderation)"
    assert second.subject == "3 backlinks to “Target article” (3 awaiting moderation)"


def test_a_window_of_zero_sends_one_email_per_backlink(author_of_articles, ping):
    for _ in range(3):
        ping(NOTIFY_AUTHORS_WINDOW=0)

    assert len(author_mails()) == 3


def test_managers_are_still_told_of_each_held_backlink(author_of_articles, ping):
    with dummy_tasks():
        ping(NOTIFY_MANAGERS=True)
        ping(NOTIFY_MANAGERS=True)

    assert [message.to for message in mail.outbox] == [["editor@example.com"]] * 2


def test_a_mail_error_is_logged_not_raised(author_of_articles, ping, caplog, monkeypatch):
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("backlinks_django.notifications.send_mail", refuse)
    with dummy_tasks() as queued:
        ping()
        assert run(queued[0]) == 0

    assert "Could not e-mail the author" in caplog.text


def test_the_task_for_a_deleted_object_sends_nothing(author_of_articles, ping, article):
    with dummy_tasks() as queued:
        ping()
        article.delete()
        assert run(queued[0]) == 0

    assert author_mails() == []
