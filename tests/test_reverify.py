"""Link-rot re-verification of approved backlinks."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from backlinks_django.models import Backlink, Kind, Status
from tests.conftest import page_linking_to

pytestmark = pytest.mark.django_db


def test_reverify_removes_gone_and_unlinked_sources_and_keeps_the_rest(
    httpserver, make_backlink, article_url, unused_port
):
    httpserver.expect_request("/kept").respond_with_data(
        page_linking_to(article_url), content_type="text/html"
    )
    httpserver.expect_request("/gone").respond_with_data("Gone", status=410)
    httpserver.expect_request("/unlinked").respond_with_data(
        "<p>No link now</p>", content_type="text/html"
    )
    kept = make_backlink(Status.APPROVED, source_url=httpserver.url_for("/kept"))
    gone = make_backlink(
        Status.APPROVED, source_url=httpserver.url_for("/gone"), kind=Kind.WEBMENTION
    )
    unlinked = make_backlink(
        Status.APPROVED, source_url=httpserver.url_for("/unlinked"), kind=Kind.TRACKBACK
    )
    down = make_backlink(Status.APPROVED, source_url=f"http://127.0.0.1:{unused_port}/down")
    pending = make_backlink(Status.PENDING, source_url=httpserver.url_for("/gone") + "?p")
    out = io.StringIO()

    call_command("reverify_backlinks", stdout=out)

    statuses = dict(Backlink.objects.values_list("pk", "status"))
    assert statuses[kept.pk] == Status.APPROVED
    assert statuses[gone.pk] == Status.REMOVED
    assert statuses[unlinked.pk] == Status.REMOVED
    assert statuses[down.pk] == Status.APPROVED  # a failure that may pass: kept
    assert statuses[pending.pk] == Status.PENDING  # only approved ones are re-verified
    text = out.getvalue()
    assert "[1/4]" in text and "[4/4]" in text
    assert "Re-verified 4 backlink(s): 1 ok, 2 removed, 1 unreachable." in text


def test_reverify_by_kind(httpserver, make_backlink):
    httpserver.expect_request("/gone").respond_with_data("Gone", status=410)
    pingback = make_backlink(Status.APPROVED, source_url=httpserver.url_for("/gone"))
    out = io.StringIO()

    call_command("reverify_backlinks", "--kind", "webmention", stdout=out)

    pingback.refresh_from_db()
    assert pingback.status == Status.APPROVED
    assert "Re-verified 0 backlink(s)" in out.getvalue()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--limit", "-1"), ("--older-than", "99999999999"), ("--older-than", "x")],
)
def test_out_of_range_arguments_are_command_errors(option, value):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=option.lstrip("-").replace("-", "[-_]")):
        call_command("reverify_backlinks", option, value)
