"""Sending pings when registered content is saved."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from backlinks_django import send, tasks
from backlinks_django.compat import task_backends
from backlinks_django.models import Backlink, Kind, OutboundPing, Outcome, SiteSettings, Status
from backlinks_django.signals import backlink_received
from tests.conftest import post_trackback_inline
from tests.peers import Peer
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article, Unregistered

pytestmark = pytest.mark.django_db

LOOPBACK = {
    "ALLOWED_PORTS": None,
    "ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
    "SCHEME": "http",
    "SEND_HOST_INTERVAL": 0,
}
DUMMY = {"default": {"BACKEND": f"{settings.TASKS_MODULE}.backends.dummy.DummyBackend"}}


def links(*urls: str) -> str:
    return "".join(f'<p>See <a href="{url}">this</a>.</p>' for url in urls)


def entry(slug: str, body: str, **fields) -> Article:
    defaults = {
        "title": slug.title(),
        "published_at": timezone.now() - timezone.timedelta(hours=1),
    }
    defaults.update(fields)
    with transaction.atomic():  # keep the on_commit receiver out of these set-up saves
        return Article.objects.create(slug=slug, body=body, **defaults)


@pytest.fixture
def dummy_backend(site) -> Iterator[list]:
    with override_settings(TASKS=DUMMY):
        backend = task_backends["default"]
        backend.clear()
        yield backend.results


@pytest.fixture
def peer(httpserver: HTTPServer) -> Peer:
    return Peer(httpserver)


def outcomes(obj: Article) -> dict[str, str]:
    return dict(OutboundPing.objects.for_object(obj).values_list("target_url", "outcome"))


# --- when ---------------------------------------------------------------------------------


def test_save_enqueues_after_commit_only(dummy_backend, django_capture_on_commit_callbacks):
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
            assert dummy_backend == []

    assert len(callbacks) == 1  # two saves in one transaction: one send, after the commit
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Article).pk
    assert [r.args for r in dummy_backend] == [[ct, str(article.pk), False]]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_save_sends_nothing(site):
    with override_settings(TASKS=DUMMY):
        backend = task_backends["default"]
        backend.clear()
        with transaction.atomic():
            Article.objects.create(title="A", slug="a", body="", published_at=timezone.now())
            transaction.set_rollback(True)

        assert backend.results == []


def test_fixture_loading_sends_nothing(
    dummy_backend, django_capture_on_commit_callbacks, tmp_path
):
    fixture = tmp_path / "articles.json"
    fixture.write_text(
        '[{"model": "testapp.article", "pk": 7, "fields": {"title": "F", "slug": "f", '
        '"body": "<a href=\\"http://peer.example/x\\">x</a>", "published_at": "2020-01-01T00:00:00Z", '
        '"pings_open": true}}]'
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddata", str(fixture), verbosity=0)

    assert dummy_backend == []


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
    dummy_backend, django_capture_on_commit_callbacks, fields
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

    assert dummy_backend == []


def test_unregistered_models_send_nothing(dummy_backend, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Unregistered.objects.create(name="x")

    assert dummy_backend == []


# --- what and how --------------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_save_pings_a_linked_peer_through_the_task(peer, site, django_capture_on_commit_callbacks):
    target = peer.page("/post")

    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(
            title="Mine", slug="mine", body=links(target), published_at=timezone.now()
        )

    assert peer.calls == [("http://testserver/articles/mine/", target)]
    row = OutboundPing.objects.get()
    assert (row.outcome, row.protocol, row.endpoint, row.attempts) == (
        Outcome.SUCCESS,
        Kind.PINGBACK,
        peer.server.url_for("/xmlrpc"),
        1,
    )
    assert row.message == "Registered. Thanks!"
    assert row.source == article


@override_settings(BACKLINKS=LOOPBACK)
def test_saving_again_without_new_links_sends_nothing_and_one_new_link_one_ping(peer, site):
    first, second = peer.page("/one"), peer.page("/two")
    article = entry("mine", links(first))
    send.send_object(article)
    send.send_object(article)
    assert len(peer.calls) == 1

    article.body = links(first, second)
    send.send_object(article)

    assert [call[1] for call in peer.calls] == [first, second]


@override_settings(BACKLINKS=LOOPBACK)
def test_links_are_resolved_deduplicated_and_keep_query_strings(peer, site):
    base = peer.server.url_for("/").rstrip("/")
    peer.page("/post")
    article = entry(
        "mine",
        f'<a href="{base}/post?p=5#c1">a</a> <a href="{base}/post?p=5">b</a> '
        f'<a href="{base}/">front page</a> <a href="mailto:x@example.com">m</a> <a href="/articles/mine/">me</a>',
    )

    send.send_object(article)

    assert sorted(outcomes(article)) == [f"{base}/post?p=5"]
    assert peer.calls == [("http://testserver/articles/mine/", f"{base}/post?p=5")]


@override_settings(BACKLINKS=LOOPBACK)
def test_link_element_discovery(httpserver, site):
    peer = Peer(httpserver, discovery="link")
    target = peer.page("/post")

    send.send_object(entry("mine", links(target)))

    assert len(peer.calls) == 1


@override_settings(BACKLINKS=LOOPBACK)
def test_no_endpoint_is_recorded_and_not_retried(httpserver, site):
    peer = Peer(httpserver, discovery="none")
    target = peer.page("/post")
    article = entry("mine", links(target))

    send.send_object(article)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.next_attempt_at) == (Outcome.NO_ENDPOINT, None)


@override_settings(BACKLINKS={**BASE, **LOOPBACK})
def test_trackback_fallback_when_only_rdf_is_advertised(httpserver, site):
    peer = Peer(httpserver, discovery="none")
    base = httpserver.url_for("/").rstrip("/")
    rdf = (
        '<!-- <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        f'<rdf:Description rdf:about="{base}/post" dc:identifier="{base}/post" dc:title="P" '
        f'trackback:ping="{base}/trackback" /></rdf:RDF> -->'
    )
    target = peer.page("/post", rdf)

    send.send_object(entry("mine", links(target)))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.protocol, row.endpoint) == (
        Outcome.SUCCESS,
        Kind.TRACKBACK,
        f"{base}/trackback",
    )
    (fields,) = peer.trackbacks
    assert fields["url"] == ["http://testserver/articles/mine/"]
    assert fields["title"] == ["Mine"]
    assert fields["blog_name"] == ["Test site"]


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_PROTOCOLS": ["webmention", "pingback"]})
def test_trackback_fallback_can_be_switched_off(httpserver, site):
    peer = Peer(httpserver, discovery="none")
    base = httpserver.url_for("/").rstrip("/")
    rdf = (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
        f'<rdf:Description dc:identifier="{base}/post" trackback:ping="{base}/trackback" /></rdf:RDF>'
    )
    send.send_object(entry("mine", links(peer.page("/post", rdf))))

    assert OutboundPing.objects.get().outcome == Outcome.NO_ENDPOINT
    assert peer.trackbacks == []


@override_settings(BACKLINKS=LOOPBACK)
def test_requested_trackback_is_sent_and_resendable(httpserver, site):
    peer = Peer(httpserver)
    article = entry("mine", "<p>No links.</p>")
    from django.contrib.contenttypes.models import ContentType

    OutboundPing.objects.create(
        site=site,
        content_type=ContentType.objects.get_for_model(article),
        object_id=str(article.pk),
        target_url=httpserver.url_for("/trackback"),
        endpoint=httpserver.url_for("/trackback"),
        protocol=Kind.TRACKBACK,
        requested=True,
    )

    send.send_object(article)
    send.send_object(article, force=True)

    assert len(peer.trackbacks) == 2
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS


# --- results and retries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "outcome", "retried"),
    [
        (17, Outcome.FAULT, False),
        (33, Outcome.FAULT, False),
        (0, Outcome.REJECTED, False),
        (50, Outcome.FAULT, True),
    ],
)
@override_settings(BACKLINKS=LOOPBACK)
def test_faults_are_recorded_with_their_code(httpserver, site, fault, outcome, retried):
    peer = Peer(httpserver, fault=fault)
    send.send_object(entry("mine", links(peer.page("/post"))))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code, row.next_attempt_at is not None) == (
        outcome,
        fault,
        retried,
    )


@override_settings(BACKLINKS=LOOPBACK)
def test_fault_48_counts_as_delivered(httpserver, site):
    peer = Peer(httpserver, fault=48)
    send.send_object(entry("mine", links(peer.page("/post"))))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code, row.next_attempt_at) == (Outcome.SUCCESS, 48, None)


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_FLOOD_WINDOW": 16.0})
def test_wordpress_flood_fault_429_is_retried_after_the_window(httpserver, site):
    peer = Peer(httpserver, fault=429)
    before = timezone.now()
    send.send_object(entry("mine", links(peer.page("/post"))))

    row = OutboundPing.objects.get()
    assert row.outcome == Outcome.FAULT
    assert 15 <= (row.next_attempt_at - before).total_seconds() <= 18


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_FLOOD_WINDOW": 1.2})
def test_two_posts_of_one_flood_limited_blog_both_get_their_ping(httpserver, site):
    peer = Peer(httpserver, flood_window=1.0)
    article = entry("mine", links(peer.page("/one"), peer.page("/two")))

    send.send_object(article)
    assert len(peer.calls) == 1
    time.sleep(1.3)
    call_command("send_backlinks", "--due", stdout=io.StringIO())

    assert sorted(target for _, target in peer.calls) == [
        peer.server.url_for("/one"),
        peer.server.url_for("/two"),
    ]
    assert set(outcomes(article).values()) == {Outcome.SUCCESS}


@override_settings(
    BACKLINKS={**BASE, **LOOPBACK, "SEND_RETRY_DELAY": 10.0, "SEND_MAX_ATTEMPTS": 3}
)
def test_transient_errors_back_off_exponentially_then_stop(httpserver, site):
    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    delays = []
    for _ in range(3):
        OutboundPing.objects.update(next_attempt_at=timezone.now() - timezone.timedelta(seconds=1))
        start = timezone.now()
        send.send_object(article)
        row = OutboundPing.objects.get()
        delays.append(
            None
            if row.next_attempt_at is None
            else round((row.next_attempt_at - start).total_seconds())
        )

    assert row.outcome == Outcome.HTTP_ERROR
    assert row.attempts == 3
    assert delays == [10, 20, None]
    send.send_object(article)
    assert OutboundPing.objects.get().attempts == 3  # stopped: not due any more


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "FETCH_DEADLINE": 1.0, "SEND_HOST_INTERVAL": 0})
def test_hanging_peer_times_out_without_holding_up_others(site):
    slow_server, fast_server = HTTPServer(threaded=True), HTTPServer(threaded=True)
    slow_server.start()
    fast_server.start()
    try:
        slow = Peer(slow_server, delay=3)
        fast = Peer(fast_server)
        article = entry("mine", links(slow.page("/post"), fast.page("/post")))
        started = time.monotonic()
        send.send_object(article)
        elapsed = time.monotonic() - started
    finally:
        slow_server.stop()
        fast_server.stop()

    result = outcomes(article)
    assert result[slow_server.url_for("/post")] == Outcome.TIMEOUT
    assert result[fast_server.url_for("/post")] == Outcome.SUCCESS
    assert elapsed < 2.5


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_PER_HOST": 2, "SEND_HOST_INTERVAL": 0})
def test_at_most_per_host_requests_at_once(site):
    server = HTTPServer(threaded=True)
    server.start()
    try:
        peer = Peer(server, delay=0.2)
        targets = [peer.page(f"/post{i}") for i in range(6)]
        send.send_object(entry("mine", links(*targets)))
    finally:
        server.stop()

    assert len(peer.calls) == 6
    assert peer.max_active == 2


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_HOST_INTERVAL": 0.3})
def test_requests_to_one_host_are_spaced(site):
    server = HTTPServer(threaded=True)
    server.start()
    try:
        peer = Peer(server)
        started = time.monotonic()
        send.send_object(entry("mine", links(peer.page("/a"), peer.page("/b"))))
        elapsed = time.monotonic() - started
    finally:
        server.stop()

    # The two pings start at least 0.3 s apart.
    assert len(peer.calls) == 2
    assert elapsed >= 0.3


@override_settings(BACKLINKS=LOOPBACK)
def test_failing_peer_does_not_break_the_save(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver, status=500)
    target = peer.page("/post")

    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(
            title="A", slug="a", body=links(target), published_at=timezone.now()
        )

    assert Article.objects.filter(pk=article.pk).exists()
    assert OutboundPing.objects.get().outcome == Outcome.HTTP_ERROR


@override_settings(BACKLINKS={"SCHEME": "http", "ALLOWED_PORTS": None})
def test_private_targets_are_not_fetched_by_default(httpserver, site):
    peer = Peer(httpserver)
    send.send_object(entry("mine", links(peer.page("/post"))))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.next_attempt_at) == (Outcome.NO_ENDPOINT, None)
    assert len(httpserver.log) == 0


def test_site_switch_sending_off(peer, site):
    SiteSettings.objects.create(site=site, send_pings=False)
    with override_settings(BACKLINKS=LOOPBACK):
        send.send_object(entry("mine", links(peer.page("/post"))))

    assert peer.calls == []
    assert not OutboundPing.objects.exists()


# --- self-pings ----------------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_self_ping_lands_a_pending_backlink_in_process(site):
    target = entry("target", "<p>Hi</p>")
    source = entry("source", links(f"http://testserver{target.get_absolute_url()}"))

    send.send_object(source)

    backlink = Backlink.objects.get()
    assert (backlink.target, backlink.status, backlink.source_url) == (
        target,
        Status.PENDING,
        "http://testserver/articles/source/",
    )
    assert (backlink.title, backlink.blog_name) == ("Source", "Test site")
    assert "this" in backlink.excerpt
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS


@override_settings(BACKLINKS=LOOPBACK)
def test_self_pings_off_are_skipped_and_the_switch_applies_to_the_next_save(site):
    target = entry("target", "<p>Hi</p>")
    source = entry("source", links(f"http://testserver{target.get_absolute_url()}"))
    settings_row = SiteSettings.objects.create(site=site, self_pings=False)

    send.send_object(source)
    assert OutboundPing.objects.get().outcome == Outcome.SKIPPED
    assert not Backlink.objects.exists()

    settings_row.self_pings = True
    settings_row.save()
    send.send_object(source, force=True)
    assert OutboundPing.objects.get().outcome == Outcome.SUCCESS
    assert Backlink.objects.count() == 1


@override_settings(BACKLINKS=LOOPBACK)
def test_self_ping_to_closed_target_is_a_fault(site):
    target = entry("target", "<p>Hi</p>", pings_open=False)
    source = entry("source", links(f"http://testserver{target.get_absolute_url()}"))

    send.send_object(source)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.fault_code) == (Outcome.FAULT, 33)


# --- admin and command ---------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_retry_now_action(admin_client, httpserver, site):
    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    send.send_object(article)
    peer.status = 200
    row = OutboundPing.objects.get()

    response = admin_client.post(
        "/admin/backlinks_django/outboundping/",
        {"action": "retry_now", "_selected_action": [row.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["1 ping was queued again."]
    row.refresh_from_db()
    assert (row.outcome, row.attempts) == (Outcome.SUCCESS, 2)


@override_settings(BACKLINKS=LOOPBACK)
def test_command_dry_run_sends_nothing_then_sends(peer, site):
    target = peer.page("/post")
    article = entry("mine", links(target))
    out = io.StringIO()

    call_command("send_backlinks", "--model", "testapp.Article", "--dry-run", stdout=out)
    assert f"would ping {target}" in out.getvalue()
    assert peer.calls == []

    out = io.StringIO()
    call_command("send_backlinks", "--object", f"testapp.Article:{article.pk}", stdout=out)
    assert peer.calls == [("http://testserver/articles/mine/", target)]
    assert "[1/1]" in out.getvalue() and "success" in out.getvalue()

    call_command("send_backlinks", "--all", "--force", stdout=io.StringIO())
    assert len(peer.calls) == 2


def test_command_rejects_unknown_or_unregistered_models(site):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="Unknown model"):
        call_command("send_backlinks", "--model", "nope.Nothing")
    with pytest.raises(CommandError, match="not registered"):
        call_command("send_backlinks", "--model", "testapp.Unregistered")
    with pytest.raises(CommandError, match=r"No testapp\.Article"):
        call_command("send_backlinks", "--object", "testapp.Article:999")


def test_site_fixture_domain(site):
    assert Site.objects.get_current().domain == "testserver"


@override_settings(BACKLINKS=LOOPBACK)
def test_task_schedules_its_retry_on_a_deferring_backend(httpserver, dummy_backend):
    from django.contrib.contenttypes.models import ContentType

    from backlinks_django.tasks import send_pings as send_pings_task

    peer = Peer(httpserver, status=500)
    article = entry("mine", links(peer.page("/post")))
    ct = ContentType.objects.get_for_model(article).pk

    send_pings_task.call(ct, str(article.pk))

    (retry,) = dummy_backend
    row = OutboundPing.objects.get()
    assert retry.args == [ct, str(article.pk)]
    assert retry.task.run_after == row.next_attempt_at


@override_settings(BACKLINKS=LOOPBACK)
def test_trackback_answered_409_already_registered_counts_as_delivered(httpserver, site):
    from django.contrib.contenttypes.models import ContentType

    httpserver.expect_request("/tb", method="POST").respond_with_data(
        '<?xml version="1.0"?><response><error>1</error><message>Already</message></response>',
        status=409,
        content_type="text/xml",
    )
    article = entry("mine", "<p>No links.</p>")
    OutboundPing.objects.create(
        site=site,
        content_type=ContentType.objects.get_for_model(article),
        object_id=str(article.pk),
        target_url=httpserver.url_for("/tb"),
        protocol=Kind.TRACKBACK,
        requested=True,
    )

    send.send_object(article)

    row = OutboundPing.objects.get()
    assert (row.outcome, row.next_attempt_at) == (Outcome.SUCCESS, None)


# --- webmention ----------------------------------------------------------------------------


@override_settings(BACKLINKS={**BASE, **LOOPBACK})
def test_webmention_is_preferred_when_advertised(httpserver, site):
    peer = Peer(httpserver, discovery="webmention")
    target = peer.page("/post")

    send.send_object(entry("mine", links(target)))

    assert peer.webmentions == [("http://testserver/articles/mine/", target)]
    assert peer.calls == []
    row = OutboundPing.objects.get()
    assert (row.protocol, row.outcome, row.message) == (
        Kind.WEBMENTION,
        Outcome.SUCCESS,
        "202 Accepted",
    )


@override_settings(BACKLINKS={**BASE, **LOOPBACK, "SEND_PROTOCOLS": ["pingback", "webmention"]})
def test_protocol_order_is_a_setting(httpserver, site):
    peer = Peer(httpserver, discovery="webmention")
    send.send_object(entry("mine", links(peer.page("/post"))))

    assert (len(peer.calls), len(peer.webmentions)) == (1, 0)


@override_settings(BACKLINKS={**BASE, **LOOPBACK})
def test_update_resends_webmentions_to_old_and_new_targets_but_not_pingbacks(httpserver, site):
    mentions = Peer(httpserver, discovery="webmention")
    old, new = mentions.page("/old"), mentions.page("/new")
    server2 = HTTPServer()
    server2.start()
    try:
        pings = Peer(server2)
        pinged = pings.page("/p")
        article = entry("mine", links(old, pinged))
        send.send_object(article)

        article.body = links(new, pinged)  # the link to /old was removed
        send.send_object(article)
    finally:
        server2.stop()

    assert sorted(t for _, t in mentions.webmentions) == sorted([old, old, new])
    assert len(pings.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_deleting_an_object_resends_its_webmentions(httpserver, site):
    site.domain = "testserver"
    site.save()
    peer = Peer(httpserver, discovery="webmention")
    target = peer.page("/post")
    with override_settings(BACKLINKS={**BASE, **LOOPBACK}):
        article = Article.objects.create(
            title="Mine", slug="mine", body=links(target), published_at=timezone.now()
        )
        assert len(peer.webmentions) == 1  # sent on commit by the immediate backend

        article.delete()

    assert peer.webmentions == [("http://testserver/articles/mine/", target)] * 2
    assert OutboundPing.objects.get().attempts == 2


def _claim_links(article: Article, site: Site) -> list[OutboundPing]:
    registration = send.registry.get_registration(article)
    return send.record_links(article, send.source_for(article, registration, site), site).rows


def _webmention_row(site: Site, article: Article, url: str = "https://peer.example/post/"):
    from django.contrib.contenttypes.models import ContentType

    return OutboundPing.objects.create(
        site=site,
        content_type=ContentType.objects.get_for_model(article),
        object_id=str(article.pk),
        target_url=url,
        protocol=Kind.WEBMENTION,
        endpoint="https://peer.example/webmention",
        outcome=Outcome.SUCCESS,
        attempts=1,
    )


def test_a_claimed_row_is_held_from_other_tasks_until_its_claim_ends(site, dummy_backend):
    """A task that died mid-send leaves its rows free again once the claim has run out."""
    article = entry("mine", links("https://peer.example/post/"))
    (row,) = _claim_links(article, site)
    assert (row.outcome, row.claimed_until is not None) == (Outcome.PENDING, True)

    ct = ContentType.objects.get_for_model(article).pk
    assert tasks.send_pings.call(ct, str(article.pk)) == 0  # a second task gets nothing...
    (follow_up,) = dummy_backend  # ...and queues a send for when the first one is surely done
    assert follow_up.task.run_after == row.claimed_until

    OutboundPing.objects.update(claimed_until=timezone.now() - timezone.timedelta(seconds=1))
    assert [r.pk for r in _claim_links(article, site)] == [row.pk]


def test_a_result_for_a_row_changed_meanwhile_is_not_stored(site):
    article = entry("mine", links("https://peer.example/post/"))
    (held,) = _claim_links(article, site)
    # The claim ran out and another task took the row over.
    OutboundPing.objects.update(claimed_until=timezone.now() + timezone.timedelta(minutes=2))

    held.record_result(send.Result(Outcome.NO_ENDPOINT, message="late"))

    row = OutboundPing.objects.get()
    assert (row.outcome, row.attempts, row.message) == (Outcome.PENDING, 0, "")


def test_deleting_during_a_send_still_notifies_the_webmention_target(site, monkeypatch):
    article = entry("mine", links("https://peer.example/post/"))
    row = _webmention_row(site, article)
    (held,) = _claim_links(article, site)  # a save's task is sending the row
    sent = []
    monkeypatch.setattr(send.delivery.webmention, "send", lambda *a, **k: sent.append(a) or "202")

    send.notify_deleted(row.content_type_id, row.object_id, "https://me.example/gone/")
    # The save's task finishes later: its older result is not recorded over the notice.
    held.record_result(send.Result(Outcome.FAULT, message="older"))

    assert len(sent) == 1
    stored = OutboundPing.objects.get()
    assert (stored.outcome, stored.message, stored.claimed_until) == (Outcome.SUCCESS, "202", None)


def test_a_notice_that_fails_unexpectedly_is_recorded_and_the_others_still_sent(site, monkeypatch):
    article = entry("mine", links("https://a.example/post/", "https://b.example/post/"))
    bad = _webmention_row(site, article, "https://a.example/post/")
    good = _webmention_row(site, article, "https://b.example/post/")

    def flaky(endpoint, source, target, **kwargs):
        if target == bad.target_url:
            raise RuntimeError("a bug met by this peer")
        return "202"

    monkeypatch.setattr(send.delivery.webmention, "send", flaky)

    send.notify_deleted(bad.content_type_id, bad.object_id, "https://me.example/gone/")

    outcomes = dict(OutboundPing.objects.values_list("target_url", "outcome"))
    assert outcomes == {bad.target_url: Outcome.UNREACHABLE, good.target_url: Outcome.SUCCESS}


def test_the_outbound_log_shows_a_row_being_sent(admin_client, site):
    article = entry("mine", links("https://peer.example/post/"))
    (row,) = _claim_links(article, site)

    response = admin_client.get(f"/admin/backlinks_django/outboundping/{row.pk}/change/")

    assert response.status_code == 200
    assert "Being sent until" in response.content.decode()


# --- The claim protocol under review: each of these was a bug of its first version ----------


# A self-ping that raises anything but BacklinkError aborts deliver(): the remote rows are
#    never attempted, every claimed row stays claimed, and no retry is scheduled.
@override_settings(BACKLINKS=LOOPBACK)
def test_an_unexpected_self_ping_error_leaves_the_other_links_sent(peer, site, monkeypatch):
    target = entry("target", "<p>Hi</p>")
    remote = peer.page("/post")
    source = entry("source", links(f"http://testserver{target.get_absolute_url()}", remote))

    def buggy_receiver(**kwargs):  # e.g. a site's backlink_received receiver, or a custom check
        raise RuntimeError("bug in a receiver")

    backlink_received.connect(buggy_receiver)
    try:
        send.send_object(source)
    finally:
        backlink_received.disconnect(buggy_receiver)

    assert peer.calls == [("http://testserver/articles/source/", remote)]
    assert not OutboundPing.objects.filter(claimed_until__isnull=False).exists()


# Deletion notice vs. a save's task finishing while the notice is on the wire: the notice's
#    own result is dropped and the save's older result stays.
def test_a_notice_is_stored_even_when_the_saves_task_records_first(site, monkeypatch):
    article = entry("mine", links("https://peer.example/post/"))
    _webmention_row(site, article)
    (held,) = _claim_links(article, site)  # a save's task is sending the row

    def notice(*args, **kwargs):
        # The save's task records its (older) result while the notice is being sent.
        held.record_result(send.Result(Outcome.HTTP_ERROR, message="older"))
        return "202 Accepted"

    monkeypatch.setattr(send.delivery.webmention, "send", notice)
    send.notify_deleted(held.content_type_id, held.object_id, "https://me.example/gone/")

    stored = OutboundPing.objects.get()
    assert (stored.outcome, stored.message) == (Outcome.SUCCESS, "202 Accepted")


# The claim's length is fixed before the self-pings, but the remote phase only starts
#    after them and gets a full SEND_DEADLINE: slow self-pings (a backlink_received receiver,
#    a nested send on the immediate backend that saves the target) make the claim run out
#    mid-send. The follow-up queued for exactly that claim's end then sends the same link.
#    Constants are scaled down (margin 0, grace 0.2 s, safety 0.1 s, deadline 1 s;
#    defaults: 60/2/5/60).
@override_settings(BACKLINKS={**LOOPBACK, "SEND_DEADLINE": 1.0})
def test_slow_self_pings_do_not_let_the_claim_run_out_mid_send(peer, site, monkeypatch):
    monkeypatch.setattr(send, "CLAIM_MARGIN", 0.0)
    monkeypatch.setattr(send.delivery, "DEADLINE_GRACE", 0.2)
    monkeypatch.setattr(send, "CLAIM_SAFETY", 0.1)
    monkeypatch.setattr("secrets.randbelow", lambda n: 0)
    target = entry("target", "<p>Hi</p>")
    remote = peer.page("/post")
    source = entry("source", links(f"http://testserver{target.get_absolute_url()}", remote))
    ct = ContentType.objects.get_for_model(source).pk

    def slow_receiver(**kwargs):
        time.sleep(1.3)  # stands in for a nested immediate send of the target (up to 62 s)
        # The follow-up a second save queued for this task's claim end runs now:
        tasks.send_pings.call(ct, str(source.pk))

    backlink_received.connect(slow_receiver)
    try:
        send.send_object(source)
    finally:
        backlink_received.disconnect(slow_receiver)

    assert len(peer.calls) == 1, peer.calls  # the follow-up's; the outer task stopped in time


# A result _record dropped (another task took the row over) still schedules a retry task.
@override_settings(BACKLINKS=LOOPBACK)
def test_a_dropped_result_schedules_no_retry(site, dummy_backend):
    article = entry("mine", links("https://peer.example/post/"))
    (held,) = _claim_links(article, site)
    OutboundPing.objects.update(claimed_until=timezone.now() + timezone.timedelta(minutes=2))

    held.record_result(send.Result(Outcome.TIMEOUT, retry=True))  # dropped: not stored
    tasks.schedule_retry(held.content_type_id, held.object_id, [held])

    assert OutboundPing.objects.get().next_attempt_at is None
    assert list(dummy_backend) == []


# Reusing a linked row for a TrackBack keeps a claim taken after clean()'s busy check:
#    save_new's full save writes the claim back, so the stale task's result then overwrites
#    the editor's fresh request (the editor must win).
def test_trackback_request_survives_a_claim_taken_after_the_busy_check(
    admin_client, site, monkeypatch
):
    from backlinks_django.admin import TrackbackFormSet

    article = entry("mine", links("https://peer.example/post/"))
    OutboundPing.objects.create(
        site=site,
        content_type=ContentType.objects.get_for_model(article),
        object_id=str(article.pk),
        target_url="https://peer.example/post/",
        outcome=Outcome.NO_ENDPOINT,
        next_attempt_at=timezone.now() - timezone.timedelta(seconds=1),  # due: a task may claim
    )
    held = []
    original_clean = TrackbackFormSet.clean

    def clean_then_a_task_claims(self):
        original_clean(self)  # the busy check passes...
        held.extend(_claim_links(article, site))  # ...then a worker claims the row

    monkeypatch.setattr(TrackbackFormSet, "clean", clean_then_a_task_claims)
    response = post_trackback_inline(admin_client, article, "https://peer.example/post/")
    assert response.status_code == 302
    (row,) = held
    row.record_result(send.Result(Outcome.SUCCESS, Kind.PINGBACK, "https://x/xmlrpc"))

    stored = OutboundPing.objects.get()
    assert stored.requested
    assert (stored.outcome, stored.attempts) == (Outcome.PENDING, 0)


# Editing the URL of an existing TrackBack request keeps its old outcome: never sent.
def test_editing_a_sent_trackback_url_sends_the_new_one(admin_client, site):
    article = entry("mine", "<p>No links</p>")
    row = OutboundPing.objects.create(
        site=site,
        content_type=ContentType.objects.get_for_model(article),
        object_id=str(article.pk),
        target_url="https://old.example/tb/",
        endpoint="https://old.example/tb/",
        protocol=Kind.TRACKBACK,
        requested=True,
        outcome=Outcome.SUCCESS,
        attempts=1,
    )
    response = post_trackback_inline(
        admin_client, article, existing={row.pk: "https://new.example/tb/"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.target_url == "https://new.example/tb/"
    assert OutboundPing.objects.due().filter(pk=row.pk).exists()
