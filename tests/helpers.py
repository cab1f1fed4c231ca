"""Shared test helpers: local peers on 127.0.0.1, saved entries, outbound rows, dummy tasks."""

from __future__ import annotations

import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models, transaction
from django.dispatch import Signal
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from backlinks_django.choices import Kind, Outcome
from backlinks_django.compat import task_backends
from backlinks_django.models import InboundPing, OutboundPing
from tests.settings import BACKLINKS as BASE
from tests.settings import TASKS_MODULE
from tests.testapp.models import Article

# Settings under which the app sends to peers on 127.0.0.1 at any port, without spacing pings.
LOOPBACK = {
    **BASE,
    "ALLOWED_PORTS": None,
    "ALLOWED_NETWORKS": ["127.0.0.0/8", "::1/128"],
    "SCHEME": "http",
    "SEND_HOST_INTERVAL": 0,
}
DUMMY_TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.dummy.DummyBackend"}}


def links(*urls: str) -> str:
    """HTML with one paragraph linking to each of ``urls``."""
    return "".join(f'<p>See <a href="{url}">this</a>.</p>' for url in urls)


def entry(slug: str, body: str, **fields: Any) -> Article:
    """A published article, saved without queueing its pings (tests send them themselves)."""
    values: dict[str, Any] = {
        "title": slug.title(),
        "published_at": timezone.now() - timezone.timedelta(hours=1),
    }
    values.update(fields)
    with transaction.atomic():  # keeps the on_commit receiver out of set-up saves
        return Article.objects.create(slug=slug, body=body, **values)


def outbound_row(obj: models.Model, target_url: str, **fields: Any) -> OutboundPing:
    """An outbound row for one link of ``obj`` on the current site."""
    values: dict[str, Any] = {
        "site": Site.objects.get_current(),
        "content_type": ContentType.objects.get_for_model(obj),
        "object_id": str(obj.pk),
        "target_url": target_url,
    }
    values.update(fields)
    return OutboundPing.objects.create(**values)


def sent_webmention(
    obj: models.Model,
    url: str = "https://peer.example/post/",
    endpoint: str = "https://peer.example/webmention",
) -> OutboundPing:
    """An outbound row for a Webmention ``obj`` sent to ``url`` through ``endpoint`` earlier."""
    return outbound_row(
        obj,
        url,
        protocol=Kind.WEBMENTION,
        endpoint=endpoint,
        outcome=Outcome.SUCCESS,
        attempts=1,
    )


def claimed_elsewhere() -> OutboundPing:
    """The one outbound row, as another task that is sending it holds it."""
    (row,) = OutboundPing.objects.all().claim(60).rows
    return row


def self_link(target: Article) -> str:
    """The absolute URL of one of the test site's own articles."""
    return f"http://testserver{target.get_absolute_url()}"


def outcomes(obj: models.Model) -> dict[str, str]:
    """{target URL: outcome} of the outbound rows of ``obj``."""
    return dict(OutboundPing.objects.for_object(obj).values_list("target_url", "outcome"))


def messages_of(response: Any) -> list[str]:
    """The messages the admin showed on ``response``."""
    return [str(message) for message in response.context["messages"]]


@contextmanager
def dummy_tasks() -> Iterator[list[Any]]:
    """Tasks go to the DummyBackend within the block; yields the list of what was queued."""
    with override_settings(TASKS=DUMMY_TASKS):
        backend = task_backends["default"]
        backend.clear()
        yield backend.results


@contextmanager
def connected(signal: Signal, receiver: Callable[..., object]) -> Iterator[None]:
    """``receiver`` hears ``signal`` within the block only."""
    signal.connect(receiver)
    try:
        yield
    finally:
        signal.disconnect(receiver)


@contextmanager
def local_server(*, threaded: bool = False) -> Iterator[HTTPServer]:
    """A second HTTP server on 127.0.0.1, beside pytest-httpserver's own, for the block."""
    server = HTTPServer(threaded=threaded)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Peer:
    """A blog on ``server`` whose pages advertise a pingback server that records calls.

    ``fault`` makes the server answer that fault code; ``status`` an HTTP status;
    ``delay`` slows every answer; ``discovery`` is "header", "link", "none", or
    "webmention" (a Webmention endpoint besides the pingback header).
    """

    server: HTTPServer
    discovery: str = "header"
    fault: int | None = None
    status: int = 200
    delay: float = 0.0
    # Like WordPress: refuse a ping within this many seconds of the last accepted one.
    flood_window: float = 0.0
    last_accepted: float = float("-inf")
    calls: list[tuple[str, str]] = field(default_factory=list)
    trackbacks: list[dict[str, list[str]]] = field(default_factory=list)
    webmentions: list[tuple[str, str]] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.expect_request("/xmlrpc", method="POST").respond_with_handler(self._xmlrpc)
        self.server.expect_request("/trackback", method="POST").respond_with_handler(
            self._trackback
        )
        self.server.expect_request("/webmention", method="POST").respond_with_handler(
            self._webmention
        )

    def page(self, path: str, extra_html: str = "") -> str:
        """Serve a target page at ``path`` and return its URL."""
        self.server.expect_request(path).respond_with_handler(
            lambda request: self._page(request, extra_html)
        )
        return self.server.url_for(path)

    def _enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def _page(self, request: Request, extra_html: str) -> Response:
        self._enter()
        try:
            time.sleep(self.delay)
            head = ""
            headers = {}
            if self.discovery in ("header", "webmention"):
                headers["X-Pingback"] = self.server.url_for("/xmlrpc")
            if self.discovery == "webmention":
                headers["Link"] = f'<{self.server.url_for("/webmention")}>; rel="webmention"'
            elif self.discovery == "link":
                head = f'<link rel="pingback" href="{self.server.url_for("/xmlrpc")}">'
            body = f"<html><head><title>Peer</title>{head}</head><body>{extra_html}</body></html>"
            return Response(body, content_type="text/html", headers=headers)
        finally:
            self._leave()

    def _xmlrpc(self, request: Request) -> Response:
        self._enter()
        try:
            time.sleep(self.delay)
            if self.status != 200:
                return Response("oops", status=self.status)
            params, method = xmlrpc.client.loads(request.get_data())
            assert method == "pingback.ping"
            with self._lock:
                now = time.monotonic()
                flooded = now - self.last_accepted < self.flood_window
                if not flooded:
                    self.calls.append((params[0], params[1]))
                    self.last_accepted = now
            if flooded:
                fault = xmlrpc.client.Fault(429, "You are posting comments too quickly.")
                body = xmlrpc.client.dumps(fault, methodresponse=True)
            elif self.fault is not None:
                body = xmlrpc.client.dumps(
                    xmlrpc.client.Fault(self.fault, ""), methodresponse=True
                )
            else:
                body = xmlrpc.client.dumps(("Registered. Thanks!",), methodresponse=True)
            return Response(body, content_type="text/xml")
        finally:
            self._leave()

    def _webmention(self, request: Request) -> Response:
        form = parse_qs(request.get_data().decode("utf-8"))
        with self._lock:
            self.webmentions.append((form["source"][0], form["target"][0]))
        return Response("Accepted", status=202)

    def _trackback(self, request: Request) -> Response:
        with self._lock:
            self.trackbacks.append(parse_qs(request.get_data().decode("utf-8")))
        return Response(
            '<?xml version="1.0" encoding="utf-8"?><response><error>0</error></response>',
            content_type="text/xml",
        )


def post_webmention(client: Any, data: dict[str, str], **extra: Any) -> Any:
    """POST ``data`` to the Webmention endpoint form-encoded, as senders do."""
    return client.post(
        "/backlinks/webmention/",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )


def verify_queued() -> list[InboundPing]:
    """Do the verification tasks' work until no queued ping is due; the rows it took, as they
    ended (a row deferred to a later time among them)."""
    from backlinks_django.inbound import process_next

    done = []
    while (row := process_next()) is not None:
        done.append(row)
    return done


def ended_fault(row: InboundPing) -> int:
    """The Pingback fault code of a refused queued ping (its message is the fault's)."""
    from backlinks_django import exceptions

    refusals = (exceptions.SourceNotFound, exceptions.SourceGone, exceptions.NoLinkToTarget)
    codes = {error.default_message: error.fault_code for error in refusals}
    assert row.state == InboundPing.State.REJECTED, (row.state, row.message)
    return codes[row.message]
