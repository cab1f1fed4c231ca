"""Delivering pings to local peers: discovery, protocol choice, host limits, and outcomes."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import override_settings

from backlinks_django import exceptions
from backlinks_django.choices import Kind, Outcome
from backlinks_django.delivery import (
    HostGate,
    Job,
    Source,
    deliver_all,
    deliver_remote,
    result_for_error,
)
from backlinks_django.exceptions import (
    DeliveryError,
    NoEndpoint,
    PeerFault,
    PeerHTTPError,
    PeerRejected,
    PeerTimeout,
    PeerUnreachable,
)
from backlinks_django.results import Result
from tests.helpers import LOOPBACK, Peer, local_server

SOURCE = Source(
    url="http://testserver/articles/mine/",
    title="Mine",
    excerpt="Words about this.",
    blog_name="Test site",
    html="",
    user_agent="backlinks-tests",
)
RDF = (
    '<!-- <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:trackback="http://madskills.com/public/xml/rss/module/trackback/">'
    '<rdf:Description rdf:about="{base}/post" dc:identifier="{base}/post" dc:title="P" '
    'trackback:ping="{base}/trackback" /></rdf:RDF> -->'
)


def delivered(target_url: str, *, trackback_url: str = "") -> Result:
    """Deliver one link of :data:`SOURCE`, alone."""
    return deliver_remote(Job(target_url, trackback_url), SOURCE, HostGate(2, 0.0))


# --- discovery and protocols ---------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
@pytest.mark.parametrize("discovery", ["header", "link"])
def test_a_pingback_server_is_found_in_the_header_or_a_link_element(httpserver, discovery):
    peer = Peer(httpserver, discovery=discovery)
    target = peer.page("/post")

    result = delivered(target)

    assert peer.calls == [(SOURCE.url, target)]
    assert (result.outcome, result.protocol, result.endpoint, result.message) == (
        Outcome.SUCCESS,
        Kind.PINGBACK,
        httpserver.url_for("/xmlrpc"),
        "Registered. Thanks!",
    )


@override_settings(BACKLINKS=LOOPBACK)
def test_a_target_advertising_nothing_has_no_endpoint_and_is_not_retried(httpserver):
    peer = Peer(httpserver, discovery="none")

    result = delivered(peer.page("/post"))

    assert (result.outcome, result.retry) == (Outcome.NO_ENDPOINT, False)


@override_settings(BACKLINKS=LOOPBACK)
def test_trackback_is_the_fallback_when_only_rdf_is_advertised(httpserver):
    peer = Peer(httpserver, discovery="none")
    target = peer.page("/post", RDF.format(base=httpserver.url_for("/").rstrip("/")))

    result = delivered(target)

    assert (result.outcome, result.protocol, result.endpoint) == (
        Outcome.SUCCESS,
        Kind.TRACKBACK,
        httpserver.url_for("/trackback"),
    )
    (fields,) = peer.trackbacks
    assert (fields["url"], fields["title"], fields["blog_name"]) == (
        [SOURCE.url],
        [SOURCE.title],
        [SOURCE.blog_name],
    )


@override_settings(BACKLINKS={**LOOPBACK, "SEND_PROTOCOLS": ["webmention", "pingback"]})
def test_the_trackback_fallback_can_be_switched_off(httpserver):
    peer = Peer(httpserver, discovery="none")
    target = peer.page("/post", RDF.format(base=httpserver.url_for("/").rstrip("/")))

    assert delivered(target).outcome == Outcome.NO_ENDPOINT
    assert peer.trackbacks == []


@override_settings(BACKLINKS=LOOPBACK)
def test_webmention_is_preferred_when_advertised(httpserver):
    peer = Peer(httpserver, discovery="webmention")
    target = peer.page("/post")

    result = delivered(target)

    assert (peer.webmentions, peer.calls) == ([(SOURCE.url, target)], [])
    assert (result.protocol, result.outcome, result.message) == (
        Kind.WEBMENTION,
        Outcome.SUCCESS,
        "202 Accepted",
    )


@override_settings(BACKLINKS={**LOOPBACK, "SEND_PROTOCOLS": ["pingback", "webmention"]})
def test_the_protocol_order_is_a_setting(httpserver):
    peer = Peer(httpserver, discovery="webmention")

    assert delivered(peer.page("/post")).protocol == Kind.PINGBACK
    assert (len(peer.calls), len(peer.webmentions)) == (1, 0)


@override_settings(BACKLINKS=LOOPBACK)
def test_a_trackback_answered_409_already_registered_counts_as_delivered(httpserver):
    httpserver.expect_request("/tb", method="POST").respond_with_data(
        '<?xml version="1.0"?><response><error>1</error><message>Already</message></response>',
        status=409,
        content_type="text/xml",
    )
    url = httpserver.url_for("/tb")

    result = delivered(url, trackback_url=url)

    assert (result.outcome, result.retry) == (Outcome.SUCCESS, False)


@override_settings(BACKLINKS={"SCHEME": "http", "ALLOWED_PORTS": None})
def test_private_targets_are_not_fetched_by_default(httpserver):
    peer = Peer(httpserver)

    result = delivered(peer.page("/post"))

    assert (result.outcome, result.retry) == (Outcome.NO_ENDPOINT, False)
    assert len(httpserver.log) == 0


# --- faults and errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "outcome", "retried"),
    [
        (17, Outcome.FAULT, False),
        (33, Outcome.FAULT, False),
        (0, Outcome.REJECTED, False),
        (50, Outcome.FAULT, True),
        (48, Outcome.SUCCESS, False),  # the peer already has this backlink
    ],
)
@override_settings(BACKLINKS=LOOPBACK)
def test_a_peers_fault_is_reported_with_its_code(httpserver, fault, outcome, retried):
    peer = Peer(httpserver, fault=fault)

    result = delivered(peer.page("/post"))

    assert (result.outcome, result.fault_code, result.retry) == (outcome, fault, retried)


class SlowPeer(PeerTimeout):
    """A subclass defined outside the app: it must take its base's outcome."""


class GonePeer(PeerHTTPError):
    pass


class NoEndpointHere(NoEndpoint):
    pass


OUTCOMES = [
    (DeliveryError("broken"), Outcome.UNREACHABLE),
    (NoEndpoint("none"), Outcome.NO_ENDPOINT),
    (PeerFault(17, "no link"), Outcome.FAULT),
    (PeerRejected("no"), Outcome.REJECTED),
    (PeerHTTPError(500), Outcome.HTTP_ERROR),
    (PeerUnreachable("refused"), Outcome.UNREACHABLE),
    (PeerTimeout("slow"), Outcome.TIMEOUT),
    (SlowPeer("slower"), Outcome.TIMEOUT),
    (GonePeer(410), Outcome.HTTP_ERROR),
    (NoEndpointHere("none"), Outcome.NO_ENDPOINT),
]


@pytest.mark.parametrize(
    ("error", "outcome"), OUTCOMES, ids=[type(e).__name__ for e, _ in OUTCOMES]
)
def test_each_delivery_error_has_its_outcome_and_subclasses_inherit_it(error, outcome):
    assert result_for_error(error).outcome == outcome


def test_every_delivery_error_of_the_app_has_an_expected_outcome():
    """So that a new DeliveryError subclass is added to :data:`OUTCOMES` above."""
    in_app = {
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, DeliveryError)
    }

    assert in_app <= {type(error) for error, _ in OUTCOMES}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PeerFault(48, "old"), Result(Outcome.SUCCESS, message="Fault 48: old", fault_code=48)),
        (PeerHTTPError(409), Result(Outcome.SUCCESS, message="Already registered at the peer.")),
        (PeerFault(0, ""), Result(Outcome.REJECTED, message="Fault 0", fault_code=0)),
        (
            PeerFault(429, "slow down"),
            Result(Outcome.FAULT, "", "", "Fault 429: slow down", 429, retry=True, flood=True),
        ),
        (
            PeerHTTPError(429),
            Result(Outcome.HTTP_ERROR, message="HTTP 429", retry=True, flood=True),
        ),
        (PeerHTTPError(503), Result(Outcome.HTTP_ERROR, message="HTTP 503", retry=True)),
        (PeerHTTPError(404), Result(Outcome.HTTP_ERROR, message="HTTP 404")),
    ],
    ids=["fault-48", "http-409", "fault-0", "fault-429", "http-429", "http-503", "http-404"],
)
def test_answers_that_mean_delivered_refused_or_flooded(error, expected):
    assert result_for_error(error) == expected


# --- several links at once -----------------------------------------------------------------


@override_settings(BACKLINKS={**LOOPBACK, "FETCH_DEADLINE": 1.0})
def test_a_hanging_peer_times_out_without_holding_up_the_others():
    with local_server(threaded=True) as slow_server, local_server(threaded=True) as fast_server:
        slow, fast = Peer(slow_server, delay=3), Peer(fast_server)
        jobs = [Job(slow.page("/post")), Job(fast.page("/post"))]
        started = time.monotonic()
        results = deliver_all(jobs, SOURCE, seconds=60)
        elapsed = time.monotonic() - started

    assert [result.outcome for result in results] == [Outcome.TIMEOUT, Outcome.SUCCESS]
    assert elapsed < 2.5


@override_settings(BACKLINKS={**LOOPBACK, "SEND_PER_HOST": 2})
def test_at_most_per_host_requests_go_to_one_host_at_once():
    with local_server(threaded=True) as server:
        peer = Peer(server, delay=0.2)
        jobs = [Job(peer.page(f"/post{i}")) for i in range(6)]
        results = deliver_all(jobs, SOURCE, seconds=60)

    assert {result.outcome for result in results} == {Outcome.SUCCESS}
    assert (len(peer.calls), peer.max_active) == (6, 2)


@override_settings(BACKLINKS={**LOOPBACK, "SEND_HOST_INTERVAL": 0.3})
def test_pings_to_one_host_are_spaced():
    with local_server(threaded=True) as server:
        peer = Peer(server)
        started = time.monotonic()
        deliver_all([Job(peer.page("/a")), Job(peer.page("/b"))], SOURCE, seconds=60)
        elapsed = time.monotonic() - started

    # The two pings start at least 0.3 s apart.
    assert len(peer.calls) == 2
    assert elapsed >= 0.3


@override_settings(BACKLINKS={**LOOPBACK, "SEND_HOST_INTERVAL": 5.0})
def test_a_ping_whose_turn_comes_after_the_deadline_is_a_timeout_to_retry(httpserver):
    peer = Peer(httpserver)
    jobs = [Job(peer.page("/a")), Job(peer.page("/b"))]

    results = deliver_all(jobs, SOURCE, seconds=1.0)

    assert sorted(result.outcome for result in results) == [Outcome.SUCCESS, Outcome.TIMEOUT]
    assert [result.retry for result in results if result.outcome == Outcome.TIMEOUT] == [True]
    assert len(peer.calls) == 1


# --- no database ---------------------------------------------------------------------------


def test_delivery_imports_no_models():
    """The network part stays apart from the ORM: importing it loads no model module."""
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys, backlinks_django.delivery; "
        "print(sorted(m for m in sys.modules if m.startswith('backlinks_django.models')))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# --- the per-server cap: sending has its own budget ----------------------------------------

CAPPED = {**LOOPBACK, "RATE_LIMIT_PER_FETCHED_HOST": (2, 60.0)}


def verifications_up_to_the_cap(url: str) -> None:
    """Fetch ``url`` as verifying strangers' pings does, until that server's cap refuses."""
    from backlinks_django.fetch import HostBusy, fetch

    fetch(url)
    fetch(url)
    with pytest.raises(HostBusy):
        fetch(url)


@override_settings(BACKLINKS=CAPPED)
def test_verifications_up_to_the_cap_do_not_stop_delivery_to_that_server(httpserver):
    peer = Peer(httpserver)
    target = peer.page("/post")
    verifications_up_to_the_cap(target)

    result = delivered(target)

    assert result.outcome == Outcome.SUCCESS
    assert peer.calls == [(SOURCE.url, target)]


@override_settings(BACKLINKS=CAPPED)
def test_verifications_up_to_the_cap_do_not_stop_a_webmention_notice(httpserver):
    from backlinks_django.delivery import resend_webmention

    Peer(httpserver)
    endpoint = httpserver.url_for("/webmention")
    verifications_up_to_the_cap(endpoint)

    result = resend_webmention(endpoint, SOURCE.url, "http://peer.example/p", user_agent="t")

    assert result.outcome == Outcome.SUCCESS


@override_settings(BACKLINKS=CAPPED)
def test_delivery_spends_the_sending_budget_and_leaves_verification_its_own(httpserver):
    from backlinks_django.fetch import fetch

    peer = Peer(httpserver)
    first, second = peer.page("/one"), peer.page("/two")
    assert delivered(first).outcome == Outcome.SUCCESS  # discovery and ping: the whole cap

    capped = delivered(second)

    assert (capped.outcome, capped.retry) == (Outcome.UNREACHABLE, True)
    assert "try again in" in capped.message
    assert fetch(second).status == 200
