"""What sending an object's pings costs in queries: a fixed number per task, one per link.

Pinned like tests/test_receive_cost.py: a change that adds a query to every sent link, or to
every sending task, shows here (and in bench/fanout.py's CPU per save), not only as a slower
worker.
"""

from __future__ import annotations

import pytest
from django.contrib.sites.models import Site
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from backlinks_django import send
from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing
from tests.helpers import LOOPBACK, Peer, entry, links

pytestmark = pytest.mark.django_db


def _sql(queries: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
    ]


@override_settings(BACKLINKS={**LOOPBACK, "SEND_HOST_INTERVAL": 0})
def test_a_sending_task_costs_five_queries_and_one_update_per_link(httpserver, site):
    peer = Peer(httpserver)
    Site.objects.get_current()  # cached, as in a running worker

    def send_links(count: int) -> list[str]:
        article = entry(f"e{count}", links(*(peer.page(f"/{count}/{n}") for n in range(count))))
        with CaptureQueriesContext(connection) as queries:
            send.send_object(article)
        assert OutboundPing.objects.filter(outcome=Outcome.SUCCESS).count() >= count
        return _sql(queries)

    one, five = send_links(1), send_links(5)

    # The site's settings, the new rows (INSERT, conflicts ignored), the due rows' ids, the
    # claim (UPDATE), one read of the candidates (this task's rows and others' claims), and
    # the result's UPDATE.
    assert len(one) == 6, "\n".join(one)
    updates = [query for query in five if query.startswith("UPDATE")]
    assert len(five) - len(one) == 4
    assert len(updates) == 1 + 5  # the claim, then one per result
