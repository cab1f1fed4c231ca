"""Update services: weblogUpdates.ping / extendedPing on publish, to local XML-RPC services."""

from __future__ import annotations

import threading
import xmlrpc.client
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import backlinks_django
from backlinks_django import send
from backlinks_django.choices import Outcome, Protocol
from backlinks_django.exceptions import DeliveryError, PeerRejected, PeerUnreachable
from backlinks_django.models import OutboundPing, SiteSettings
from backlinks_django.protocols import weblogupdates
from tests.helpers import LOOPBACK, local_server
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db

THANKS = {"flerror": False, "message": "Thanks for the ping."}


@dataclass
class UpdateService:
    """An XML-RPC update service on ``server`` at ``/RPC2`` that records the calls it gets.

    ``answer`` is its struct; ``fault`` answers a method with a fault; ``status`` an HTTP error.
    """

    server: HTTPServer
    answer: Any = field(default_factory=lambda: dict(THANKS))
    fault: dict[str, int] = field(default_factory=dict)
    status: int = 200
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.expect_request("/RPC2", method="POST").respond_with_handler(self._call)

    @property
    def url(self) -> str:
        return self.server.url_for("/RPC2")

    def _call(self, request: Request) -> Response:
        params, method = xmlrpc.client.loads(request.get_data())
        with self._lock:
            self.calls.append((method, params))
        if self.status != 200:
            return Response("down", status=self.status)
        if method in self.fault:
            body = xmlrpc.client.dumps(
                xmlrpc.client.Fault(self.fault[method], "no such method"), methodresponse=True
            )
        else:
            body = xmlrpc.client.dumps((self.answer,), methodresponse=True)
        return Response(body, content_type="text/xml")


def use_services(site, *urls: str, feed_url: str = "") -> None:
    SiteSettings.objects.create(site=site, update_services="\n".join(urls), feed_url=feed_url)


def publish(django_capture_on_commit_callbacks, slug: str = "post") -> Article:
    with django_capture_on_commit_callbacks(execute=True):
        return Article.objects.create(
            title=slug.title(), slug=slug, body="<p>No links.</p>", published_at=timezone.now()
        )


def service_rows() -> list[OutboundPing]:
    return list(OutboundPing.objects.filter(protocol=Protocol.UPDATE_SERVICE).order_by("pk"))


# --- telling services ---------------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_publishing_tells_each_update_service_with_weblogupdates_ping(
    httpserver, site, django_capture_on_commit_callbacks
):
    with local_server() as other:
        first, second = UpdateService(httpserver), UpdateService(other)
        use_services(site, first.url, "", f"  {second.url}  ", first.url)

        article = publish(django_capture_on_commit_callbacks)

    expected = [("weblogUpdates.ping", ("Test site", "http://testserver/"))]
    assert (first.calls, second.calls) == (expected, expected)
    rows = service_rows()
    assert [(r.target_url, r.endpoint, r.outcome, r.message, r.attempts) for r in rows] == [
        (first.url, first.url, Outcome.SUCCESS, "Thanks for the ping.", 1),
        (second.url, second.url, Outcome.SUCCESS, "Thanks for the ping.", 1),
    ]
    assert rows[0].source == article


@override_settings(BACKLINKS=LOOPBACK)
def test_with_a_feed_extended_ping_names_the_changed_page_and_the_feed(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver)
    use_services(site, service.url, feed_url="http://testserver/feed/")

    publish(django_capture_on_commit_callbacks)

    assert service.calls == [
        (
            "weblogUpdates.extendedPing",
            (
                "Test site",
                "http://testserver/",
                "http://testserver/articles/post/",
                "http://testserver/feed/",
            ),
        )
    ]


@override_settings(BACKLINKS=LOOPBACK)
def test_a_service_without_extended_ping_is_told_with_ping(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver, fault={"weblogUpdates.extendedPing": -32601})
    use_services(site, service.url, feed_url="http://testserver/feed/")

    publish(django_capture_on_commit_callbacks)

    assert [method for method, _params in service.calls] == [
        "weblogUpdates.extendedPing",
        "weblogUpdates.ping",
    ]
    assert service_rows()[0].outcome == Outcome.SUCCESS


@override_settings(BACKLINKS=LOOPBACK)
def test_a_service_answering_flerror_is_recorded_as_a_refusal_with_its_message(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver, answer={"flerror": True, "message": "Slow down."})
    use_services(site, service.url)

    publish(django_capture_on_commit_callbacks)

    (row,) = service_rows()
    assert (row.outcome, row.message, row.next_attempt_at) == (
        Outcome.REJECTED,
        "Slow down.",
        None,
    )


@override_settings(BACKLINKS=LOOPBACK)
def test_a_service_that_is_down_is_retried_later(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver, status=503)
    use_services(site, service.url)

    publish(django_capture_on_commit_callbacks)

    (row,) = service_rows()
    assert (row.outcome, row.message) == (Outcome.HTTP_ERROR, "HTTP 503")
    assert row.next_attempt_at is not None

    service.status = 200
    row.next_attempt_at = timezone.now()
    row.save()
    call_command("send_backlinks", "--due", stdout=StringIO())

    assert service_rows()[0].outcome == Outcome.SUCCESS
    assert len(service.calls) == 2


@override_settings(BACKLINKS=LOOPBACK)
def test_services_are_told_once_per_object_and_again_with_force(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver)
    use_services(site, service.url)
    article = publish(django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        article.body = "<p>Edited.</p>"
        article.save()
    assert len(service.calls) == 1

    send.send_object(article, force=True)
    assert len(service.calls) == 2
    assert service_rows()[0].attempts == 2


@override_settings(BACKLINKS=LOOPBACK)
def test_no_service_is_told_by_default(httpserver, site, django_capture_on_commit_callbacks):
    UpdateService(httpserver)

    publish(django_capture_on_commit_callbacks)

    assert service_rows() == []
    assert httpserver.log == []


@override_settings(BACKLINKS=LOOPBACK)
def test_a_site_that_sends_no_pings_tells_no_service(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver)
    SiteSettings.objects.create(site=site, update_services=service.url, send_pings=False)

    publish(django_capture_on_commit_callbacks)

    assert service.calls == []


@override_settings(BACKLINKS={**LOOPBACK, "ENVIRONMENT": "staging"})
def test_a_staging_site_tells_no_service(httpserver, site, django_capture_on_commit_callbacks):
    service = UpdateService(httpserver)
    use_services(site, service.url)

    publish(django_capture_on_commit_callbacks)

    assert service.calls == []
    assert service_rows() == []


@override_settings(BACKLINKS=LOOPBACK)
def test_an_import_records_the_services_unsent_and_a_later_save_does_not_tell_them(
    httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver)
    use_services(site, service.url)
    with backlinks_django.muted():
        article = publish(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        article.save()

    assert service.calls == []
    assert [row.outcome for row in service_rows()] == [Outcome.SKIPPED]


@override_settings(BACKLINKS=LOOPBACK)
def test_the_outbound_log_lists_update_service_rows_under_their_protocol(
    admin_client, httpserver, site, django_capture_on_commit_callbacks
):
    service = UpdateService(httpserver)
    use_services(site, service.url)
    publish(django_capture_on_commit_callbacks)

    response = admin_client.get(
        "/admin/backlinks_django/outboundping/", {"protocol": Protocol.UPDATE_SERVICE}
    )

    assert response.status_code == 200
    assert service.url in response.content.decode()
    assert "Update service" in response.content.decode()


# --- the list of services -----------------------------------------------------------------------


def test_the_service_list_takes_http_urls_one_a_line(site):
    settings = SiteSettings(site=site, update_services="http://rpc.example/\n\nftp://x.example/")

    with pytest.raises(ValidationError) as info:
        settings.full_clean()

    assert "ftp://x.example/ is not an http or https URL" in str(info.value)


def test_a_list_saved_without_validation_sends_only_its_valid_urls(site):
    settings = SiteSettings(
        site=site,
        update_services="https://rpc.example/RPC2\nnot a url\nhttps://rpc.example/RPC2\n"
        + "https://long.example/"
        + "a" * 2000,
    )

    assert settings.update_service_urls() == ["https://rpc.example/RPC2"]


# --- the wire ----------------------------------------------------------------------------------


def test_an_answer_without_a_struct_is_unreadable():
    with pytest.raises(PeerUnreachable, match="no flerror"):
        weblogupdates.read_answer("Thanks for the ping.")


def test_flerror_as_an_int_is_read_as_a_boolean():
    assert weblogupdates.read_answer({"flerror": 0, "message": "ok"}) == "ok"
    with pytest.raises(PeerRejected, match="refused"):
        weblogupdates.read_answer({"flerror": 1})


def test_a_nested_message_is_not_shown():
    message = weblogupdates.read_answer({"flerror": False, "message": [[["deep"]]]})

    assert message == "(an XML-RPC list, not shown)"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=10,
    )
    | st.fixed_dictionaries(
        {"flerror": st.booleans() | st.integers() | st.text(), "message": st.text()}
    )
)
def test_any_answer_is_a_message_or_a_delivery_error(answer):
    try:
        assert isinstance(weblogupdates.read_answer(answer), str)
    except DeliveryError:
        pass
