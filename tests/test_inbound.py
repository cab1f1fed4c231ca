"""The inbound queue: what waits, who goes next, what is refused, what is kept."""

from __future__ import annotations

import datetime
import xmlrpc.client
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlinks_django import inbound, tasks, throttle
from backlinks_django.exceptions import RateLimited, TargetNotFound
from backlinks_django.models import Backlink, InboundPing, Kind, Status
from backlinks_django.pipeline import Ping
from tests.conftest import page_linking_to
from tests.helpers import dummy_tasks, post_webmention, verify_queued
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db

QUEUE_ALL = {**BASE, "RECEIVE_BUDGET": 0}
FORM = "application/x-www-form-urlencoded"


def queue(source: str, target: str, ip: str, kind: Kind = Kind.PINGBACK) -> InboundPing:
    accepted = inbound.accept(Ping(kind, source, target, remote_ip=ip), Site.objects.get_current())
    assert accepted.queued is not None and accepted.backlink is None
    return accepted.queued


def articles(count: int) -> list[str]:
    return [
        f"http://testserver{Article.objects.create(title=f'T{i}', slug=f't{i}', published_at=timezone.now()).get_absolute_url()}"
        for i in range(count)
    ]


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_queued_pingback_is_verified_by_the_task_and_stored(
    xmlrpc_call, serve_source, article_url
):
    source = serve_source(page_linking_to(article_url, title="Hello"))

    answer = xmlrpc_call("pingback.ping", source, article_url)

    assert answer == f"Pingback from {source} to {article_url} queued for verification."
    assert not Backlink.objects.exists()
    (row,) = verify_queued()
    assert row.state == InboundPing.State.ACCEPTED
    assert row.backlink == Backlink.objects.get(kind=Kind.PINGBACK, title="Hello")


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_queued_trackback_keeps_its_fields_and_target(
    client, article, article_url, serve_source
):
    source = serve_source(page_linking_to(article_url))
    ct = ContentType.objects.get_for_model(article)
    form = {"url": source, "title": "Their title", "excerpt": "Their words", "blog_name": "Blog"}

    response = client.post(
        f"/backlinks/trackback/{ct.pk}/{article.pk}/", urlencode(form), content_type=FORM
    )

    assert response.status_code == 200
    assert b"<error>0</error>" in response.content
    verify_queued()
    backlink = Backlink.objects.get()
    assert (
        backlink.kind,
        backlink.target,
        backlink.title,
        backlink.excerpt,
        backlink.blog_name,
    ) == (
        Kind.TRACKBACK,
        article,
        "Their title",
        "Their words",
        "Blog",
    )


@override_settings(BACKLINKS=QUEUE_ALL)
@pytest.mark.parametrize("object_id", ["999999", "not-a-key"])
def test_a_queued_ping_whose_target_is_gone_or_unkeyable_ends_as_not_found(
    article_url, serve_source, object_id
):
    """The target deleted after the answer, or a row naming a key its model cannot take:
    refused as the missing page it is, not as an error of ours."""
    source = serve_source(page_linking_to(article_url))
    row = queue(source, article_url, "203.0.113.1")
    InboundPing.objects.filter(pk=row.pk).update(target_object_id=object_id)

    (ended,) = verify_queued()

    assert ended.state == InboundPing.State.REJECTED
    assert ended.message == TargetNotFound.default_message
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_verifier_killed_after_storing_leaves_a_ping_accepted_once(
    article_url, serve_source, monkeypatch
):
    """A verifier that stored the backlink and died before ending its row (SIGKILL between the
    two writes): the row is claimed again once its claim runs out, and ends accepted with that
    backlink, not refused as a twin of itself; one backlink in all."""
    source = serve_source(page_linking_to(article_url))
    row = queue(source, article_url, "203.0.113.1")

    def killed(row: InboundPing, names: object) -> int:
        raise SystemExit("killed")  # the row's end is never written

    with monkeypatch.context() as patched:
        patched.setattr(inbound.rows, "update", killed)
        with pytest.raises(SystemExit):
            inbound.process_next()
    assert Backlink.objects.count() == 1
    assert InboundPing.objects.get(pk=row.pk).state == InboundPing.State.VERIFYING
    InboundPing.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - datetime.timedelta(seconds=1)
    )

    (ended,) = verify_queued()

    assert ended.pk == row.pk and ended.attempts == 2
    assert ended.state == InboundPing.State.ACCEPTED
    assert ended.backlink == Backlink.objects.get()


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_resent_ping_still_waiting_is_not_queued_twice(article_url, serve_source):
    source = serve_source(page_linking_to(article_url))

    first = queue(source, article_url, "203.0.113.1")
    again = queue(source, article_url, "203.0.113.1")

    assert again.pk == first.pk
    assert InboundPing.objects.count() == 1


@override_settings(BACKLINKS={**QUEUE_ALL, "INBOUND_QUEUE_PER_SENDER": 1})
def test_a_resend_of_a_waiting_ping_is_answered_even_with_the_senders_share_full(
    article_url, serve_source
):
    source = serve_source(page_linking_to(article_url))
    first = queue(source, article_url, "203.0.113.1")

    again = queue(source, article_url, "203.0.113.1")

    assert again.pk == first.pk
    assert InboundPing.objects.get().received_at == first.received_at


@override_settings(BACKLINKS={**BASE, "RATE_LIMIT_PER_IP": (5, 60)})
def test_a_burst_from_one_blog_is_queued_and_all_of_it_stored(xmlrpc_call, site, serve_source):
    targets = articles(12)
    sources = [serve_source(page_linking_to(t), path=f"/post{i}") for i, t in enumerate(targets)]

    answers = [xmlrpc_call("pingback.ping", s, t) for s, t in zip(sources, targets, strict=True)]

    assert sum("registered" in answer for answer in answers) == 5
    assert sum("queued for verification" in answer for answer in answers) == 7
    verify_queued()
    assert Backlink.objects.count() == 12


@override_settings(BACKLINKS={**QUEUE_ALL, "INBOUND_QUEUE_PER_SENDER": 3})
def test_a_sender_past_its_queue_share_is_refused_and_others_are_not(site, unused_port):
    targets = articles(5)
    junk = f"http://127.0.0.1:{unused_port}/p"
    for i in range(3):
        queue(f"{junk}{i}", targets[i], "2001:db8:1:1::1")

    with pytest.raises(RateLimited):
        queue(f"{junk}x", targets[3], "2001:db8:1:1:ffff::2")  # the same /64
    queue(f"{junk}y", targets[4], "2001:db8:1:2::1")

    assert InboundPing.objects.count() == 4


@override_settings(BACKLINKS={**QUEUE_ALL, "INBOUND_QUEUE_MAX": 2})
def test_a_full_queue_refuses_everyone(site, unused_port):
    targets = articles(3)
    for i in range(2):
        queue(f"http://127.0.0.1:{unused_port}/p{i}", targets[i], f"198.51.100.{i}")

    with pytest.raises(RateLimited):
        queue(f"http://127.0.0.1:{unused_port}/p9", targets[2], "198.51.100.9")


@override_settings(BACKLINKS=QUEUE_ALL)
def test_senders_take_turns(site, unused_port):
    targets = articles(12)
    for i in range(10):
        queue(f"http://flood.example/p{i}", targets[i], "203.0.113.66")
    queue("http://alice.example/post", targets[10], "198.51.100.1")
    queue("http://bob.example/post", targets[11], "198.51.100.2")

    order = [row.source_url for row in InboundPing.objects.due().fair_order()]

    assert order[:3] == [
        "http://flood.example/p0",
        "http://alice.example/post",
        "http://bob.example/post",
    ]


@override_settings(BACKLINKS=QUEUE_ALL)
def test_one_verifier_serves_a_newcomer_before_the_rest_of_a_flood(site):
    targets = articles(14)
    for i in range(10):  # each from a host of its own: only the sender is shared
        queue(f"http://flood{i}.example/p", targets[i], "203.0.113.66")
    queue("http://alice.example/post", targets[10], "198.51.100.1")

    served = [inbound.process_next() for _ in range(3)]
    # A later newcomer joins the round being served: after the flood's row of that round,
    # before the flood's six others.
    queue("http://bob.example/post", targets[11], "198.51.100.2")
    served += [inbound.process_next() for _ in range(2)]

    assert [row.source_url if row else None for row in served] == [
        "http://flood0.example/p",
        "http://alice.example/post",
        "http://flood1.example/p",
        "http://flood2.example/p",
        "http://bob.example/post",
    ]


@override_settings(BACKLINKS=QUEUE_ALL)
def test_one_verifier_serves_a_source_domain_in_turn_whoever_sends(site):
    targets = articles(8)
    for i in range(6):  # one domain, many senders
        queue(f"http://n{i}.wildcard.example/p", targets[i], f"198.51.100.{i}")
    queue("http://alice.example/post", targets[6], "203.0.113.9")

    served = [inbound.process_next() for _ in range(2)]

    assert [row.source_url if row else None for row in served] == [
        "http://n0.wildcard.example/p",
        "http://alice.example/post",
    ]


@override_settings(BACKLINKS=QUEUE_ALL)
def test_source_domains_take_turns_whoever_sends(site):
    targets = articles(6)
    for i in range(5):
        queue(f"http://n{i}.wildcard.example/p", targets[i], f"198.51.100.{i}")
    queue("http://alice.example/post", targets[5], "203.0.113.9")

    order = [row.source_url for row in InboundPing.objects.due().fair_order()]

    assert order.index("http://alice.example/post") <= 1


@override_settings(BACKLINKS={**QUEUE_ALL, "INBOUND_CONCURRENCY": 2})
def test_a_sender_at_its_concurrency_cap_waits_while_others_are_served(site, unused_port):
    targets = articles(4)
    busy = [queue(f"http://flood.example/p{i}", targets[i], "203.0.113.66") for i in range(3)]
    other = queue(f"http://127.0.0.1:{unused_port}/post", targets[3], "198.51.100.1")
    until = timezone.now() + datetime.timedelta(minutes=1)
    for row in busy[:2]:
        assert inbound.claim(row.pk, until)

    took = inbound.process_next()

    assert took is not None and took.pk == other.pk
    assert inbound.process_next() is None  # the third of the busy sender's must wait
    assert InboundPing.objects.get(pk=busy[2].pk).state == InboundPing.State.QUEUED


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_row_whose_verifier_died_is_taken_again(site, article_url, serve_source):
    row = queue(serve_source(page_linking_to(article_url)), article_url, "198.51.100.1")
    assert inbound.claim(row.pk, timezone.now() + datetime.timedelta(minutes=1))
    assert inbound.process_next() is None  # claimed, by a verifier still within its time

    InboundPing.objects.filter(pk=row.pk).update(claimed_until=timezone.now())

    again = inbound.process_next()
    assert again is not None and again.state == InboundPing.State.ACCEPTED
    assert again.attempts == 2


@override_settings(BACKLINKS=QUEUE_ALL)
def test_verifiers_claim_a_row_once(site, article_url, serve_source):
    row = queue(serve_source(page_linking_to(article_url)), article_url, "198.51.100.1")
    until = timezone.now() + datetime.timedelta(minutes=1)

    assert inbound.claim(row.pk, until)
    assert not inbound.claim(row.pk, until)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_verifiers_at_once_take_every_row_once(site, article_url):
    """Three verifiers claim from one queue at the same time: the one statement that picks and
    claims a row re-checks it under the row's lock, so a row two of them picked is verified by
    one, and the other picks again."""
    import threading

    from pytest_httpserver import HTTPServer

    server = HTTPServer(threaded=True)
    server.start()
    server.expect_request("/p").respond_with_data(
        page_linking_to(article_url), content_type="text/html"
    )
    count = 30
    limits = {**QUEUE_ALL, "INBOUND_CONCURRENCY": 10}
    try:
        with override_settings(BACKLINKS=limits):
            for n in range(count):
                queue(server.url_for(f"/p?n={n}"), article_url, f"198.51.100.{n}", Kind.WEBMENTION)
            verified: list[list[InboundPing]] = [[], [], []]

            def verify(mine: list[InboundPing]) -> None:
                try:
                    while InboundPing.objects.waiting().exists():
                        row = inbound.process_next()
                        if row is not None:
                            mine.append(row)
                finally:
                    connection.close()

            threads = [threading.Thread(target=verify, args=(mine,)) for mine in verified]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
    finally:
        server.stop()

    rows = InboundPing.objects.all()
    assert sorted(len(mine) for mine in verified) != [0, 0, count]  # they did share the work
    assert sum(len(mine) for mine in verified) == count
    assert {(row.state, row.attempts) for row in rows} == {(InboundPing.State.ACCEPTED, 1)}
    assert Backlink.objects.count() == count


@override_settings(BACKLINKS=QUEUE_ALL)
def test_peers_hear_one_message_whatever_the_fetcher_saw(client, site, no_dns_names):
    """Not "not a public address" for one and "could not be resolved" for another."""
    targets = articles(2)
    private = queue("http://10.0.0.7/post", targets[0], "198.51.100.1")
    unknown = queue("http://no-such-host.invalid/post", targets[1], "198.51.100.2")

    verify_queued()
    private.refresh_from_db()
    unknown.refresh_from_db()

    assert private.message == unknown.message == "The source URL could not be fetched."
    assert private.detail != unknown.detail  # the staff still see why
    status = client.get(f"/backlinks/webmention/{private.pk}/")
    assert status.status_code == 404  # a pingback's row has no public status page


@pytest.fixture
def no_dns_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names resolve to nothing, without asking a DNS server."""
    from backlinks_django import fetch
    from backlinks_django.exceptions import ConnectionFailed

    def refuse(host: str, port: int) -> list[str]:
        raise ConnectionFailed(f"The host {host} could not be resolved.")

    monkeypatch.setattr(fetch, "resolve_host", refuse)


def test_drafts_and_missing_objects_answer_trackbacks_alike(client, article):
    ct = ContentType.objects.get_for_model(article)
    form = urlencode({"url": "http://peer.example/post"})
    missing = client.post(f"/backlinks/trackback/{ct.pk}/999999/", form, content_type=FORM)
    article.published_at = timezone.now() + datetime.timedelta(days=1)
    article.save()

    draft = client.post(f"/backlinks/trackback/{ct.pk}/{article.pk}/", form, content_type=FORM)

    assert (draft.status_code, draft.content) == (missing.status_code, missing.content)
    assert draft.status_code == 404


def test_old_finished_rows_are_deleted_and_waiting_ones_kept(site, article_url):
    old = timezone.now() - datetime.timedelta(days=31)
    rows = {
        state: InboundPing.objects.create(
            kind=Kind.WEBMENTION,
            site=site,
            source_url=f"http://peer.example/{state}",
            target_url=article_url,
            remote_ip="198.51.100.1",
            state=state,
        )
        for state in InboundPing.State.values
    }
    recent = InboundPing.objects.create(
        kind=Kind.WEBMENTION,
        site=site,
        source_url="http://peer.example/recent",
        target_url=article_url,
        state=InboundPing.State.ACCEPTED,
    )
    InboundPing.objects.filter(pk__in=[r.pk for r in rows.values()]).update(updated_at=old)
    out = StringIO()

    call_command("process_inbound", "--prune-only", stdout=out)
    call_command("process_inbound", "--prune-only", stdout=out)  # idempotent

    kept = set(InboundPing.objects.values_list("pk", flat=True))
    assert kept == {rows["queued"].pk, rows["verifying"].pk, recent.pk}
    assert "deleted 3 old row(s)" in out.getvalue()


@override_settings(BACKLINKS=QUEUE_ALL)
def test_the_command_verifies_what_is_due(site, article_url, serve_source):
    queue(serve_source(page_linking_to(article_url)), article_url, "198.51.100.1")
    out = StringIO()

    call_command("process_inbound", stdout=out)

    assert "Verified 1 queued ping(s)" in out.getvalue()
    assert Backlink.objects.get().status == Status.PENDING


def test_the_queue_answers_faults_through_xmlrpc(xmlrpc_call, article_url):
    with pytest.raises(xmlrpc.client.Fault) as info:
        xmlrpc_call("pingback.ping", "not a url", article_url)
    assert info.value.faultCode == 0


def test_staff_see_the_queue_and_why_a_ping_was_refused(admin_client, site, article_url):
    InboundPing.objects.create(
        kind=Kind.PINGBACK,
        site=site,
        source_url="http://peer.example/post",
        target_url=article_url,
        state=InboundPing.State.REJECTED,
        message="The source URL could not be fetched.",
        detail="The host peer.example could not be resolved.",
    )

    response = admin_client.get("/admin/backlinks_django/inboundping/?state__exact=rejected")

    assert response.status_code == 200
    assert b"The host peer.example could not be resolved." in response.content
    assert admin_client.get("/admin/backlinks_django/inboundping/add/").status_code == 403


@override_settings(BACKLINKS=QUEUE_ALL)
def test_one_task_verifies_every_due_ping_it_can_claim(site, serve_source):
    targets = articles(3)
    for i, target in enumerate(targets):
        queue(serve_source(page_linking_to(target), path=f"/s{i}"), target, f"198.51.100.{i}")

    started = timezone.now()
    with dummy_tasks() as scheduled:
        assert tasks.verify_inbound.call() == 3

    assert Backlink.objects.count() == 3
    # Nothing waits: no follow-up but the wake queued before the first claim, in case the
    # worker died holding it (tests/test_crash_recovery.py), after every claim it could take.
    (recovery,) = scheduled
    assert (recovery.task.run_after - started).total_seconds() >= 5 + 60 + 30


@override_settings(BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_PER_FETCHED_HOST": (1, 60)})
def test_pings_waiting_for_a_busy_server_get_one_task_for_when_it_frees(site, serve_source):
    targets = articles(4)
    for i, target in enumerate(targets):
        queue(serve_source(page_linking_to(target), path=f"/s{i}"), target, f"198.51.100.{i}")

    with dummy_tasks() as scheduled:
        # One verified; the next finds the server busy, and its domain's rows all wait with it.
        assert tasks.verify_inbound.call() == 2
        tasks.verify_inbound.call()  # finds nothing due; the same wake is not queued twice
        wakes = list(scheduled)

    assert Backlink.objects.count() == 1
    waiting = InboundPing.objects.filter(state=InboundPing.State.QUEUED)
    assert waiting.count() == 3
    first_due = min(row.not_before for row in waiting)
    assert sorted(row.attempts for row in waiting) == [0, 0, 1]  # claimed once, not thrice
    assert len({row.not_before for row in waiting}) == 1
    # One for the busy server, one recovery wake (the first task's claims: see above).
    busy, recovery = sorted(wakes, key=lambda wake: wake.task.run_after)
    assert abs((busy.task.run_after - first_due).total_seconds()) <= 1
    assert recovery.task.run_after > first_due


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_verifier_that_died_gets_a_task_when_its_claim_runs_out(site, unused_port):
    (target,) = articles(1)
    row = queue(f"http://127.0.0.1:{unused_port}/p", target, "198.51.100.1")
    until = timezone.now() + datetime.timedelta(minutes=2)
    inbound.claim(row.pk, until)

    with dummy_tasks() as scheduled:
        assert tasks.verify_inbound.call() == 0
        wakes = list(scheduled)

    assert [abs((w.task.run_after - until).total_seconds()) <= 1 for w in wakes] == [True]


@override_settings(BACKLINKS={**QUEUE_ALL, "INBOUND_TASK_QUEUE": "inbound"})
def test_verification_goes_to_its_own_queue_so_sending_never_waits_behind_it(
    site, article_url, django_capture_on_commit_callbacks
):
    from tests.helpers import DUMMY_TASKS

    tasks_setting = {"default": {**DUMMY_TASKS["default"], "QUEUES": ["default", "inbound"]}}
    with override_settings(TASKS=tasks_setting):
        from backlinks_django.compat import task_backends

        backend = task_backends["default"]
        backend.clear()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.queue_accepted(
                inbound.accept(
                    Ping(Kind.WEBMENTION, "http://peer.example/p", article_url),
                    Site.objects.get_current(),
                )
            )

        assert [(r.task.name, r.task.queue_name) for r in backend.results] == [
            ("verify_inbound", "inbound")
        ]


def test_a_sender_verifies_one_ping_at_a_time_in_web_requests(
    xmlrpc_call, site, serve_source, client
):
    """A slow-drip flood held every web worker for the budget: one per sender, then queued."""
    from backlinks_django import throttle

    targets = articles(2)
    mine = serve_source(page_linking_to(targets[0]), path="/mine")
    other = serve_source(page_linking_to(targets[1]), path="/other")

    with throttle.holding([("sender", "127.0.0.1")], 2, 10) as held:
        assert held  # as if a verification from this sender were running in another worker
        mine_answer = xmlrpc_call("pingback.ping", mine, targets[0])
        body = xmlrpc.client.dumps((other, targets[1]), "pingback.ping")
        response = client.post(
            "/backlinks/xmlrpc/", body, content_type="text/xml", REMOTE_ADDR="198.51.100.7"
        )
    other_answer = xmlrpc.client.loads(response.content)[0][0]

    assert "queued for verification" in mine_answer
    assert "registered" in other_answer


@override_settings(BACKLINKS={**BASE, "RECEIVE_CONCURRENCY": 1})
def test_verifications_in_web_requests_are_capped_site_wide(xmlrpc_call, site, serve_source):
    from backlinks_django import throttle

    (target,) = articles(1)
    source = serve_source(page_linking_to(target))

    with throttle.holding([("sender", "203.0.113.50")], 1, 10) as held:
        assert held  # another sender's verification holds the one slot
        answer = xmlrpc_call("pingback.ping", source, target)

    assert "queued for verification" in answer
    assert "registered" in xmlrpc_call("pingback.ping", source + "?again", target)


def test_slots_are_free_again_after_the_block(site):
    from backlinks_django import throttle

    for _ in range(3):
        with throttle.holding([("sender", "a")], 1, 10) as held:
            assert held
            with throttle.holding([("sender", "b")], 1, 10) as second:
                assert not second  # the pool's one slot is taken


# --- The queue's caps on a shared cache (Redis): tallies, counted again when they pass a cap ----

# Database 10 of the tests' Redis server (others: tests/test_throttle_redis.py, tests/e2e,
# tests/test_receive_cost.py).
REDIS_DATABASE = 11  # lane 1 (offset 8) gets 3: clear of every database lane 2 uses


@pytest.fixture
def shared_cache():
    """The tests' Redis as the rate-limit cache: every process would share its tallies."""
    from tests.redis_server import redis_url

    url = redis_url(REDIS_DATABASE)
    with override_settings(
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "limits": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
        }
    ):
        yield


def test_a_burst_queues_a_few_verifiers_not_one_task_per_ping(
    client, article_url, shared_cache, django_capture_on_commit_callbacks
):
    """Every answer queued a task of its own: 1,000 pings, 1,000 tasks, all but a few of
    which found nothing left to verify. Now a few wait at once, and one that starts makes
    room for the next (its slot is a key of the shared cache)."""
    limits = override_settings(BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits"})
    with limits, dummy_tasks() as results:
        for n in range(12):
            with django_capture_on_commit_callbacks(execute=True):
                response = post_webmention(
                    client, {"source": f"http://peer{n}.example/p", "target": article_url}
                )
            assert response.status_code == 201
        queued = [r.args for r in results if r.task.name == "verify_inbound" and r.args]
        assert InboundPing.objects.waiting().count() == 12
        assert sorted(queued) == [[slot] for slot in range(inbound.WAKES)]

        tasks.verify_inbound.call(queued[0][0])  # starts: its slot is free again (and it
        # verifies every ping waiting, which fails here: the peers do not resolve)
        for n in range(12, 12 + inbound.WAKES):
            with django_capture_on_commit_callbacks(execute=True):
                post_webmention(
                    client, {"source": f"http://peer{n}.example/p", "target": article_url}
                )
        again = [r.args for r in results if r.task.name == "verify_inbound" and r.args]
        assert again[len(queued) :] == [queued[0]]


def test_a_slot_whose_task_could_not_be_queued_is_free_again(shared_cache, monkeypatch):
    """Were the slot kept, answers that land on it would queue no verifier for a minute."""

    def unreachable(slot=None):
        raise ConnectionError("the task queue is down")

    with override_settings(BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits"}):
        monkeypatch.setattr(tasks, "enqueue_verification", unreachable)
        assert throttle.take("inbound-wake:0", 60)
        with pytest.raises(ConnectionError):
            tasks.wake_verifiers(0)
        assert throttle.take("inbound-wake:0", 60)  # free again


def test_a_ping_not_queued_after_all_gives_its_verifier_slot_back(site, shared_cache, monkeypatch):
    """The slot is taken in the answer's one round trip, before the row is inserted: a resend
    of a waiting ping, or a ping refused for a full share, queues no task and must not keep a
    slot that no task would give up for a minute."""
    target = articles(1)[0]
    limits = {**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits", "INBOUND_QUEUE_PER_SENDER": 1}
    with override_settings(BACKLINKS=limits):
        monkeypatch.setattr(inbound, "_wakes", iter([0, 1, 2]))
        first = inbound.accept(Ping(Kind.WEBMENTION, "http://a.example/p", target), site)
        assert (first.wake, first.slot) == (True, 0)
        resent = inbound.accept(Ping(Kind.WEBMENTION, "http://a.example/p", target), site)
        assert resent.queued == first.queued and not resent.wake
        with pytest.raises(RateLimited):  # the sender's one place is taken
            inbound.accept(Ping(Kind.WEBMENTION, "http://b.example/p", target), site)
        assert not throttle.take("inbound-wake:0", 60)  # its task will give it up
        assert throttle.take("inbound-wake:1", 60)
        assert throttle.take("inbound-wake:2", 60)


@override_settings(BACKLINKS=QUEUE_ALL)
def test_on_a_cache_of_its_own_each_answer_queues_a_verifier(
    client, article_url, django_capture_on_commit_callbacks
):
    """A worker in another process could not give up a slot kept in this process's memory."""
    with dummy_tasks() as results:
        for n in range(inbound.WAKES + 2):
            with django_capture_on_commit_callbacks(execute=True):
                post_webmention(
                    client, {"source": f"http://peer{n}.example/p", "target": article_url}
                )
        queued = [r for r in results if r.task.name == "verify_inbound"]
    assert len(queued) == inbound.WAKES + 2


def _counts_of_rows(queries: CaptureQueriesContext) -> int:
    return sum("COUNT(" in query["sql"] for query in queries.captured_queries)


def test_on_a_shared_cache_a_full_share_is_refused_without_counting_rows_again(site, shared_cache):
    targets = articles(5)
    with override_settings(
        BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits", "INBOUND_QUEUE_PER_SENDER": 3}
    ):
        with CaptureQueriesContext(connection) as queries:
            for i in range(3):
                queue(f"http://flood{i}.example/p", targets[i], "2001:db8:1:1::1")
        # The first ping counted (no tally yet); the next two were tallied.
        assert _counts_of_rows(queries) == 2

        with pytest.raises(RateLimited):  # the tally passes the cap: counted, full
            queue("http://flood3.example/p", targets[3], "2001:db8:1:1::2")
        with CaptureQueriesContext(connection) as queries, pytest.raises(RateLimited):
            queue("http://flood4.example/p", targets[4], "2001:db8:1:1::3")

    assert _counts_of_rows(queries) == 0
    assert InboundPing.objects.count() == 3


def test_on_a_shared_cache_rows_verified_make_room_again(site, shared_cache):
    targets = articles(5)
    with override_settings(
        BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits", "INBOUND_QUEUE_PER_SENDER": 3}
    ):
        rows = [queue(f"http://b{i}.example/p", targets[i], "198.51.100.7") for i in range(3)]
        InboundPing.objects.filter(pk__in=[r.pk for r in rows[:2]]).update(
            state=InboundPing.State.ACCEPTED
        )

        # The tally (3) would refuse; counted again, the share has room for two.
        queue("http://b3.example/p", targets[3], "198.51.100.7")
        queue("http://b4.example/p", targets[4], "198.51.100.7")

    assert InboundPing.objects.filter(state=InboundPing.State.QUEUED).count() == 3


def test_on_a_shared_cache_a_lost_tally_is_counted_again_from_the_rows(site, shared_cache):
    from django.core.cache import caches

    targets = articles(4)
    with override_settings(
        BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits", "INBOUND_QUEUE_MAX": 3}
    ):
        for i in range(3):
            queue(f"http://n{i}.example/p", targets[i], f"198.51.100.{i}")
        caches["limits"].clear()  # Redis restarted, or the keys evicted

        with pytest.raises(RateLimited):
            queue("http://n3.example/p", targets[3], "198.51.100.9")

    assert InboundPing.objects.count() == 3


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_resent_ping_from_another_address_is_not_queued_twice(article_url, serve_source):
    source = serve_source(page_linking_to(article_url))

    first = queue(source, article_url, "203.0.113.1")
    again = queue(source, article_url, "198.51.100.200")

    assert again.pk == first.pk
    assert InboundPing.objects.count() == 1


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_turn_is_computed_from_the_waiting_rows_by_the_insert(site):
    targets = articles(4)
    first = queue("http://a.example/p", targets[0], "198.51.100.1")
    second = queue("http://b.a.example/p", targets[1], "198.51.100.2")  # the same domain
    third = queue("http://c.example/p", targets[2], "198.51.100.1")  # the same sender
    InboundPing.objects.filter(pk__in=[first.pk, third.pk]).update(
        state=InboundPing.State.ACCEPTED
    )
    InboundPing.objects.filter(pk=second.pk).update(state=InboundPing.State.VERIFYING)
    fourth = queue("http://d.example/p", targets[3], "198.51.100.3")

    assert [row.turn for row in (first, second, third)] == [0, 1, 1]
    assert fourth.turn == 1  # never before the lowest turn still waiting (being verified)


@override_settings(BACKLINKS=QUEUE_ALL)
def test_answers_use_switches_read_a_moment_ago_and_verification_reads_them_afresh(
    client, site, serve_source, article_url
):
    """An answer that only queues reads the site's switches and blocked domains as this
    process read them up to admission.RECENT_SECONDS ago (two queries fewer per answer); a
    change another process makes (here: an update that sends no signal) is applied when the
    ping is verified, and a change saved in this process at once."""
    from backlinks_django.models import BlockedDomain, SiteSettings

    settings_row = SiteSettings.objects.create(site=site)
    sources = [serve_source(page_linking_to(article_url), path=f"/p{n}") for n in range(3)]
    assert post_webmention(client, {"source": sources[0], "target": article_url}).status_code
    with CaptureQueriesContext(connection) as queries:
        answer = post_webmention(client, {"source": sources[1], "target": article_url})
    assert answer.status_code == 201
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert SiteSettings._meta.db_table not in read
    assert BlockedDomain._meta.db_table not in read

    SiteSettings.objects.filter(pk=settings_row.pk).update(receive_webmentions=False)
    answer = post_webmention(client, {"source": sources[2], "target": article_url})
    assert answer.status_code == 201  # queued on the switch as read a moment ago
    ended = {row.source_url: row for row in verify_queued()}
    assert ended[sources[2]].state == InboundPing.State.REJECTED
    assert "does not accept Webmentions" in ended[sources[2]].message

    settings_row.refresh_from_db()
    settings_row.save()  # saved here: seen by the next answer
    answer = post_webmention(client, {"source": sources[2] + "?again", "target": article_url})
    assert answer.status_code == 400


@override_settings(BACKLINKS=QUEUE_ALL)
def test_answers_use_the_target_read_a_moment_ago_and_verification_reads_it_afresh(
    client, serve_source, article_url
):
    """The target named by URL is read for an answer as this process read it up to
    admission.RECENT_TARGET_SECONDS ago: a page made a draft elsewhere still has pings queued
    for a while, and they are refused when verified; a draft saved in this process answers as
    a missing page at once."""
    article = Article.objects.get()
    sources = [serve_source(page_linking_to(article_url), path=f"/p{n}") for n in range(3)]
    assert post_webmention(client, {"source": sources[0], "target": article_url}).status_code
    with CaptureQueriesContext(connection) as queries:
        answer = post_webmention(client, {"source": sources[1], "target": article_url})
    assert answer.status_code == 201
    assert Article._meta.db_table not in " ".join(q["sql"] for q in queries.captured_queries)

    Article.objects.filter(pk=article.pk).update(published_at=None)  # another process, say
    answer = post_webmention(client, {"source": sources[2], "target": article_url})
    assert answer.status_code == 201
    ended = {row.source_url: row for row in verify_queued()}
    assert ended[sources[2]].state == InboundPing.State.REJECTED
    assert ended[sources[1]].state == InboundPing.State.REJECTED

    article.refresh_from_db()
    article.save()  # a draft, saved here: the next answer knows
    answer = post_webmention(client, {"source": sources[2] + "?again", "target": article_url})
    assert answer.status_code == 400


@override_settings(BACKLINKS=QUEUE_ALL)
def test_a_draft_is_not_remembered_for_answers_so_publishing_it_elsewhere_counts_at_once(
    client, article_url
):
    """Only a target that takes pings is remembered: one published in another process a
    moment after a ping found it a draft takes the next ping."""
    article = Article.objects.get()
    Article.objects.filter(pk=article.pk).update(published_at=None)  # another process, say
    draft = post_webmention(client, {"source": "http://a.example/p", "target": article_url})
    assert draft.status_code == 400
    Article.objects.filter(pk=article.pk).update(published_at=timezone.now())
    published = post_webmention(client, {"source": "http://b.example/p", "target": article_url})
    assert published.status_code == 201


def _policy_reads(queries: CaptureQueriesContext) -> int:
    from backlinks_django.models import BlockedDomain, SiteSettings

    tables = (SiteSettings._meta.db_table, BlockedDomain._meta.db_table)
    return sum(any(t in q["sql"] for t in tables) for q in queries.captured_queries)


def test_on_a_shared_cache_verifications_read_the_policy_again_only_once_it_changed(
    site, shared_cache, serve_source, article_url, django_capture_on_commit_callbacks
):
    """Two queries of every verification (the site's switches, the blocked domains) are
    read once while no change is saved: a change anywhere raises the policy's version in the
    shared cache once it commits, and the next verification in every process reads again."""
    from backlinks_django import admission, moderation
    from backlinks_django.models import SiteSettings

    settings_row = SiteSettings.objects.create(site=site)
    sources = [serve_source(page_linking_to(article_url), path=f"/p{n}") for n in range(4)]
    with override_settings(BACKLINKS={**QUEUE_ALL, "RATE_LIMIT_CACHE": "limits"}):
        queue(sources[0], article_url, "198.51.100.1", Kind.WEBMENTION)
        queue(sources[1], article_url, "198.51.100.2", Kind.WEBMENTION)
        admission.forget_recent()
        with CaptureQueriesContext(connection) as queries:
            ended = verify_queued()
        assert [row.state for row in ended] == [InboundPing.State.ACCEPTED] * 2
        assert _policy_reads(queries) == 2  # for the first verification only

        # Another process switches Webmentions off: the rows change, then the version.
        SiteSettings.objects.filter(pk=settings_row.pk).update(receive_webmentions=False)
        queue(sources[2], article_url, "198.51.100.3", Kind.WEBMENTION)
        throttle.bump("policy")
        (refused,) = verify_queued()
        assert refused.state == InboundPing.State.REJECTED
        assert "does not accept Webmentions" in refused.message

        # A save here raises the version once it commits.
        before = throttle.version("policy")
        with django_capture_on_commit_callbacks(execute=True):
            settings_row.refresh_from_db()
            settings_row.receive_webmentions = True
            settings_row.save()
        assert throttle.version("policy") == before + 1
        with django_capture_on_commit_callbacks(execute=True):  # no post_save: told apart
            moderation.block_domains(["spam.example"])
        assert throttle.version("policy") == before + 2


@pytest.mark.parametrize("read_whole", [10_000, 1], ids=["table-read-whole", "host-by-host"])
@override_settings(BACKLINKS=QUEUE_ALL)
def test_answers_read_the_blocked_domains_once_for_any_number_of_source_hosts(
    client, article_url, monkeypatch, read_whole
):
    """A flood naming a new subdomain in every ping made every answer look its host up; the
    blocked domains are now read whole, once a moment, while there are few of them."""
    from backlinks_django import admission
    from backlinks_django.models import BlockedDomain

    monkeypatch.setattr(admission, "_BLOCKED_READ_WHOLE", read_whole)
    BlockedDomain.objects.create(domain="spam.example")
    BlockedDomain.objects.create(domain="junk.example")
    with CaptureQueriesContext(connection) as queries:
        answers = [
            post_webmention(
                client, {"source": f"http://n{n}.fine.example/p", "target": article_url}
            ).status_code
            for n in range(5)
        ]
        refused = post_webmention(
            client, {"source": "http://a.b.SPAM.example./p", "target": article_url}
        )
    assert answers == [201] * 5
    assert refused.status_code == 400
    reads = sum(BlockedDomain._meta.db_table in query["sql"] for query in queries.captured_queries)
    # Past the limit: the read that found too many, then each of the six hosts.
    assert reads == (1 if read_whole > 2 else 1 + 6)
