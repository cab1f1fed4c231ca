"""The receive pipeline shared by every protocol: spam checks, moderation, one row per ping."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backlinks_django.exceptions import AlreadyRegistered
from backlinks_django.models import Backlink, Kind, SiteSettings, Status
from backlinks_django.pipeline import Ping, receive
from backlinks_django.spam import Candidate, Decision, Verdict
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE

pytestmark = pytest.mark.django_db

# What remember() saw: each candidate, and whether its backlink was stored at the time.
seen: list[tuple[Candidate, bool]] = []


def hold_everything(candidate: Candidate) -> Verdict:
    return Verdict(Decision.HOLD, "Held by the test check")


def spam_if_casino(candidate: Candidate) -> Verdict | None:
    if "casino" in candidate.backlink.title.lower():
        return Verdict(Decision.SPAM, "Casino")
    return None


def remember(candidate: Candidate) -> None:
    seen.append((candidate, candidate.backlink.pk is not None))


def ping(source: str, target: str, **kwargs) -> Ping:
    return Ping(kind=Kind.PINGBACK, source_url=source, target_url=target, **kwargs)


def spam_checks(*names: str) -> override_settings:
    return override_settings(
        BACKLINKS={
            **BASE,
            "ALLOWED_NETWORKS": ["127.0.0.0/8"],
            "SPAM_CHECKS": [f"{__name__}.{name}" for name in names],
        }
    )


def test_a_check_holding_a_backlink_stores_its_reason(serve_source, article_url, site):
    SiteSettings.objects.create(site=site, moderation="auto")
    source = serve_source(page_linking_to(article_url))

    with spam_checks("hold_everything"):
        backlink = receive(ping(source, article_url), site=site)

    assert (backlink.status, backlink.reason) == (Status.PENDING, "Held by the test check")


def test_a_check_can_flag_spam(serve_source, article_url, site):
    source = serve_source(page_linking_to(article_url, title="Best CASINO"))

    with spam_checks("spam_if_casino"):
        backlink = receive(ping(source, article_url), site=site)

    assert (backlink.status, backlink.reason) == (Status.SPAM, "Casino")


def test_checks_see_the_senders_fields_as_sent_beside_the_cleaned_backlink(
    serve_source, article, article_url, site
):
    source = serve_source(page_linking_to(article_url))
    seen.clear()

    with spam_checks("remember"):
        receive(
            Ping(
                kind=Kind.TRACKBACK,
                source_url=source,
                target_url=article_url,
                title="<b>Big</b> news",
                excerpt="<p>Read <a href='http://x.example/'>this</a></p>",
                blog_name="Peer\nBlog",
                remote_ip=" 203.0.113.9 ",
                user_agent="Peer/1.0",
                target=article,
            ),
            site=site,
        )

    ((candidate, stored),) = seen
    assert (candidate.kind, candidate.source_url, candidate.target_url) == (
        Kind.TRACKBACK,
        source,
        article_url,
    )
    assert (candidate.title, candidate.blog_name) == ("<b>Big</b> news", "Peer\nBlog")
    assert candidate.excerpt == "<p>Read <a href='http://x.example/'>this</a></p>"
    assert (candidate.remote_ip, candidate.user_agent) == ("203.0.113.9", "Peer/1.0")
    assert (candidate.author, candidate.verified) == ("", True)
    assert (candidate.backlink.title, stored) == ("Big news", False)


def test_unique_constraint_holds_one_row_per_target_and_source(make_backlink):
    first = make_backlink(source_url="http://peer.example/p")
    with pytest.raises(IntegrityError):
        make_backlink(source_url=first.source_url, kind=Kind.TRACKBACK)


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_pings_store_one_row(site, article_url):
    """Both pings pass the duplicate check before either stores: the constraint decides."""
    httpserver = HTTPServer(threaded=True)
    httpserver.start()
    both_fetching = threading.Barrier(2, timeout=5)

    def slow_source(request: Request) -> Response:
        # Both pings are now past the duplicate check. The second answer comes
        # a little later so the two inserts do not overlap: SQLite's shared
        # in-memory test database reports overlapping writes as "table is
        # locked" instead of waiting.
        if both_fetching.wait() == 0:
            time.sleep(0.3)
        return Response(page_linking_to(article_url), content_type="text/html")

    httpserver.expect_request("/source").respond_with_handler(slow_source)
    source = httpserver.url_for("/source")
    outcomes: list[str] = []

    def send() -> None:
        try:
            receive(ping(source, article_url), site=site)
            outcomes.append("stored")
        except AlreadyRegistered:
            outcomes.append("48")
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    httpserver.stop()

    assert sorted(outcomes) == ["48", "stored"]
    assert Backlink.objects.count() == 1


def test_a_source_url_with_surrounding_whitespace_is_fetched_as_stored(
    serve_source, article_url, site
):
    source = serve_source(page_linking_to(article_url))

    with spam_checks():
        backlink = receive(ping(f"  {source}\n", article_url), site=site)

    assert backlink.source_url == source
    assert backlink.title  # verified: the page was fetched and the link found


def test_the_stored_twin_read_with_sql_is_the_row_the_orm_reads(make_backlink, article):
    """stored_twin() builds the backlink from a row of its own SQL: every field as the ORM
    gives it (dates aware, the address as text, null where null)."""
    from django.forms.models import model_to_dict

    from backlinks_django.models import stored_twin

    stored = make_backlink(
        kind=Kind.WEBMENTION,
        status=Status.APPROVED,
        remote_ip="2001:db8::7",
        user_agent="Peer/1.0",
        author_name="Ann",
        author_url="https://ann.example/",
        published=timezone.now(),
        original_url="https://ann.example/p",
    )
    make_backlink(source_url="http://other.example/p")

    twin = stored_twin(article, stored.source_url)

    orm = Backlink.objects.get(pk=stored.pk)
    assert twin is not None and twin.pk == orm.pk
    assert model_to_dict(twin) == model_to_dict(orm)
    assert (twin.received_at, twin.updated_at, twin.published) == (
        orm.received_at,
        orm.updated_at,
        orm.published,
    )
    assert stored_twin(article, "http://nowhere.example/p") is None


def test_a_row_updated_with_sql_is_what_save_with_update_fields_writes(make_backlink):
    """rows.update() writes the named fields only, sets an auto_now field as save() does,
    sends no signal, and tells a row that is gone."""
    from django.db.models.signals import post_save

    from backlinks_django.models import rows

    stored = make_backlink(title="Before", excerpt="Kept")
    Backlink.objects.filter(pk=stored.pk).update(updated_at=timezone.now() - timedelta(days=1))
    stale = Backlink.objects.get(pk=stored.pk)
    stale.title, stale.excerpt, stale.status = "After", "Not written", Status.APPROVED
    signals: list[object] = []

    def heard(**kwargs: object) -> None:
        signals.append(kwargs)

    post_save.connect(heard, sender=Backlink)
    try:
        assert rows.update(stale, ["title", "status", "updated_at"]) == 1
    finally:
        post_save.disconnect(heard, sender=Backlink)

    fresh = Backlink.objects.get(pk=stored.pk)
    assert (fresh.title, fresh.status, fresh.excerpt) == ("After", Status.APPROVED, "Kept")
    assert fresh.updated_at == stale.updated_at
    assert timezone.now() - fresh.updated_at < timedelta(minutes=1)
    assert signals == []
    Backlink.objects.filter(pk=stored.pk).delete()
    assert rows.update(stale, ["title"]) == 0
