"""One deadline bounds a whole fetch (fetch.deadline): slow headers, bodies and redirect chains."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from backlinks_django.exceptions import FetchTimeout
from backlinks_django.fetch import fetch
from tests.fetch.rawserver import RawServer, drip, read_request_head


def test_body_dripping_a_byte_at_a_time_is_cut_off_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0)
    dripping = raw_server(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(dripping.url())

    assert time.monotonic() - started < 2.5


def test_headers_dripping_a_byte_at_a_time_are_cut_off_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0)
    dripping = raw_server(drip(b"HTTP/1.1 200 OK\r\nX-Slow: "))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(dripping.url())

    assert time.monotonic() - started < 2.5


def test_silent_server_times_out_at_the_deadline(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=0.5)
    silent = raw_server(lambda conn, stop: stop.wait(5))

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(silent.url())

    assert time.monotonic() - started < 2.0


def test_deadline_covers_all_redirect_hops(
    configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(FETCH_DEADLINE=1.0, FETCH_MAX_REDIRECTS=50)

    def slow_redirect(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        stop.wait(0.3)
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n")

    looping = raw_server(slow_redirect)

    started = time.monotonic()
    with pytest.raises(FetchTimeout):
        fetch(looping.url())

    assert time.monotonic() - started < 2.0
