"""Real local peers for sending tests: pingback and TrackBack servers on 127.0.0.1."""

from __future__ import annotations

import threading
import time
import xmlrpc.client
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


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
