"""Losing nothing when a worker dies: results stored as they come, expired claims recovered.

The subprocess tests (tests/crash_scenario.py) kill a real ``db_worker`` with SIGKILL mid-batch.
"""

from __future__ import annotations

import threading

import pytest
from django.test import override_settings
from werkzeug import Request, Response

from backlinks_django import send
from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing
from tests.helpers import LOOPBACK, Peer, entry, links, local_server, outcomes

pytestmark = pytest.mark.django_db


# --- each result stored as it comes ----------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_a_result_is_stored_while_other_links_are_still_being_sent(site, monkeypatch):
    slow_done = threading.Event()
    fast_recorded = threading.Event()
    seen: dict[str, str] = {}

    def slow_page(request: Request) -> Response:
        try:
            fast_recorded.wait(5)  # a peer slower than the fast link's whole delivery
            return Response("<html><body>No endpoint</body></html>", content_type="text/html")
        finally:
            slow_done.set()

    record = OutboundPing.record_result

    def recording(row: OutboundPing, result, **kwargs):
        stored = record(row, result, **kwargs)
        if row.target_url == fast:
            # Stored for good: a worker killed now would not send this link again.
            seen["stored"] = OutboundPing.objects.get(pk=row.pk).outcome
            seen["slow peer"] = "answered" if slow_done.is_set() else "still in flight"
            fast_recorded.set()
        return stored

    monkeypatch.setattr(OutboundPing, "record_result", recording)
    with local_server(threaded=True) as fast_server, local_server(threaded=True) as slow_server:
        fast = Peer(fast_server).page("/post")
        slow_server.expect_request("/post").respond_with_handler(slow_page)
        slow = slow_server.url_for("/post")
        article = entry("mine", links(fast, slow))

        send.send_object(article)

    assert seen == {"stored": Outcome.SUCCESS, "slow peer": "still in flight"}
    assert outcomes(article) == {fast: Outcome.SUCCESS, slow: Outcome.NO_ENDPOINT}
