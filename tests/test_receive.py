"""The receive pipeline shared by every protocol."""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backlinks_django.exceptions import AlreadyRegistered, TargetNotFound, TargetNotPingable
from backlinks_django.models import Backlink, Kind, SiteSettings, Status
from backlinks_django.receive import Ping, is_on_site, receive
from backlinks_django.spam import Candidate, Decision, Verdict
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


def hold_everything(candidate: Candidate) -> Verdict:
    return Verdict(Decision.HOLD, "Held by the test check")


def spam_if_casino(candidate: Candidate) -> Verdict | None:
    if "casino" in candidate.backlink.title.lower():
        return Verdict(Decision.SPAM, "Casino")
    return None


def ping(source: str, target: str, **kwargs) -> Ping:
    return Ping(kind=Kind.PINGBACK, source_url=source, target_url=target, **kwargs)


@pytest.mark.parametrize(
    ("url", "domain", "expected"),
    [
        ("http://example.com/a", "example.com", True),
        ("https://EXAMPLE.com/a", "example.com", True),
        ("http://example.com:8000/a", "example.com", False),
        ("http://example.com:8000/a", "example.com:8000", True),
        ("http://example.com/a", "example.com:80", True),
        ("http://www.example.com/a", "example.com", False),
        ("http://example.com./a", "example.com", True),
    ],
)
def test_is_on_site(url, domain, expected):
    from django.contrib.sites.models import Site

    assert is_on_site(url, Site(domain=domain)) is expected


def test_a_check_holding_a_backlink_stores_its_reason(serve_source, article_url, site):
    SiteSettings.objects.create(site=site, moderation="auto")
    source = serve_source(page_linking_to(article_url))

    with override_settings(
        BACKLINKS={
            **BASE,
            "ALLOWED_NETWORKS": ["127.0.0.0/8"],
            "SPAM_CHECKS": [f"{__name__}.hold_everything"],
        }
    ):
        backlink = receive(ping(source, article_url), site=site)

    assert (backlink.status, backlink.reason) == (Status.PENDING, "Held by the test check")


def test_a_check_can_flag_spam(serve_source, article_url, site):
    source = serve_source(page_linking_to(article_url, title="Best CASINO"))

    with override_settings(
        BACKLINKS={
            **BASE,
            "ALLOWED_NETWORKS": ["127.0.0.0/8"],
            "SPAM_CHECKS": [f"{__name__}.spam_if_casino"],
        }
    ):
        backlink = receive(ping(source, article_url), site=site)

    assert (backlink.status, backlink.reason) == (Status.SPAM, "Casino")


def test_managers_are_emailed_about_pending_backlinks(
    serve_source, article_url, site, django_capture_on_commit_callbacks
):
    source = serve_source(page_linking_to(article_url, title="Peer post"))

    with override_settings(
        BACKLINKS={**BASE, "ALLOWED_NETWORKS": ["127.0.0.0/8"], "NOTIFY_MANAGERS": True}
    ):
        with django_capture_on_commit_callbacks(execute=True):
            receive(ping(source, article_url), site=site)

    assert len(mail.outbox) == 1
    assert "Peer post" in mail.outbox[0].subject
    assert source in mail.outbox[0].body


def test_no_email_by_default(serve_source, article_url, site, django_capture_on_commit_callbacks):
    source = serve_source(page_linking_to(article_url))

    with django_capture_on_commit_callbacks(execute=True):
        receive(ping(source, article_url), site=site)

    assert mail.outbox == []


def test_unique_constraint_holds_one_row_per_target_and_source(make_backlink):
    from django.db import IntegrityError

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


def test_target_resolution_ignores_unknown_query_parameters(serve_source, article, site):
    target = f"http://testserver{article.get_absolute_url()}?utm_source=feed"
    source = serve_source(page_linking_to(target))

    assert receive(ping(source, target), site=site).target == article


def test_future_publication_closes_pings(article, site):
    from backlinks_django.registry import get_registration

    article.published_at = timezone.now() + timezone.timedelta(minutes=5)
    registration = get_registration(Article)

    assert registration is not None
    assert registration.accepts_pings(article) is False


def test_object_without_publication_date_is_unpublished(article):
    from backlinks_django.registry import get_registration

    article.published_at = None
    assert get_registration(article).accepts_pings(article) is False  # type: ignore[union-attr]


def test_resolve_path_errors():
    from backlinks_django.registry import resolve_path

    with pytest.raises(TargetNotFound):
        resolve_path("/no/such/page/")
    with pytest.raises(TargetNotPingable):
        resolve_path("/notes/")
    with pytest.raises(TargetNotFound):
        resolve_path("/notes/?p=abc")


def test_site_settings_defaults_without_a_row(site):
    settings = SiteSettings.objects.for_site(site)

    assert settings.pk is None
    assert (
        settings.receive_pingbacks,
        settings.receive_trackbacks,
        settings.send_pings,
        settings.self_pings,
    ) == (True, True, True, True)
    assert settings.moderation == "hold"


def test_site_settings_change_is_seen_at_once(site):
    SiteSettings.objects.for_site(site)
    SiteSettings.objects.create(site=site, receive_pingbacks=False)

    assert SiteSettings.objects.for_site(site).receive_pingbacks is False
