"""Slow Webmention peers on loopback addresses 127.0.0.N, run in the test process.

Each peer serves ``GET /post/...`` (a page advertising its Webmention endpoint), ``POST /wm``
(answers 202 after the delay the test chose for that target, or 503 the first ``fail_first``
times), and ``GET /source/...`` (a page linking to the URL in its ``to`` query parameter). Every
POST is logged with when it arrived and when it was answered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Post:
    target: str
    source: str
    received: float
    answered: float = 0.0
    status: int = 0


@dataclass
class Log:
    """What every peer was sent; the test sets ``delays`` and ``fail_first`` per target URL."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    posts: list[Post] = field(default_factory=list)
    delays: dict[str, float] = field(default_factory=dict)
    fail_first: dict[str, int] = field(default_factory=dict)

    def posts_to(self, target: str) -> list[Post]:
        with self.lock:
            return [post for post in self.posts if post.target == target]

    def in_flight(self) -> int:
        with self.lock:
            return sum(1 for post in self.posts if not post.answered)


class _Handler(BaseHTTPRequestHandler):
    server: _PeerServer
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: str = "", content_type: str = "text/html") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
        if parts.path.startswith("/post/"):
            self._send(
                200,
                f'<html><head><link rel="webmention" href="{base}/wm"></head>'
                f"<body><h1>{escape(parts.path)}</h1></body></html>",
            )
        elif parts.path.startswith("/source/"):
            (to,) = parse_qs(parts.query)["to"]
            self._send(
                200,
                f"<html><head><title>Source {escape(parts.path)}</title></head><body>"
                f'<p>I liked <a href="{escape(to)}">this entry</a>.</p></body></html>',
            )
        else:
            self._send(404, "not here")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        log = self.server.log
        post = Post(form.get("target", [""])[0], form.get("source", [""])[0], time.time())
        with log.lock:
            log.posts.append(post)
            failures = log.fail_first.get(post.target, 0)
            earlier = sum(1 for p in log.posts if p.target == post.target) - 1
            delay = log.delays.get(post.target, 0.0)
        status = 503 if earlier < failures else 202
        time.sleep(delay)
        try:
            self._send(status, "" if status == 202 else "busy", "text/plain")
        finally:
            with log.lock:
                post.answered, post.status = time.time(), status


class _PeerServer(ThreadingHTTPServer):
    daemon_threads = True
    log: Log

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a worker killed mid-request leaves its peer a broken connection."""


@contextmanager
def peers(count: int, first_address: int = 10) -> Iterator[tuple[list[str], Log]]:
    """``count`` peers on 127.0.0.{first_address}...; their base URLs and the shared log."""
    log = Log()
    servers = []
    try:
        for n in range(first_address, first_address + count):
            server = _PeerServer((f"127.0.0.{n}", 0), _Handler)
            server.log = log
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        yield [f"http://{s.server_address[0]}:{s.server_address[1]}" for s in servers], log
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
