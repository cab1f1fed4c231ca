"""Fixtures of the fetcher's tests: loopback-only connections, raw servers, a resolver hook."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3.util.connection
from pytest_httpserver import HTTPServer

from backlinks_django import fetch as fetch_module
from tests.fetch.rawserver import Handler, RawServer, close_at_once


@pytest.fixture(autouse=True)
def stay_on_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that tries to connect beyond loopback (if the address guard broke)."""
    outside: list[str] = []
    real_create_connection = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if not ipaddress.ip_address(address[0].strip("[]")).is_loopback:
            outside.append(address[0])
            raise OSError("test refused to leave loopback")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    yield
    assert outside == [], f"tried to connect to {outside}"


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Start :class:`RawServer` s (``start(handler, host)``) that are closed after the test."""
    servers: list[RawServer] = []

    def start(handler: Handler = close_at_once, host: str = "127.0.0.1") -> RawServer:
        server = RawServer(handler, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def configure(settings: Any) -> Callable[..., None]:
    """Override single BACKLINKS keys, keeping the test settings' others."""

    def apply(**values: Any) -> None:
        settings.BACKLINKS = {**settings.BACKLINKS, **values}

    return apply


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    """The IPv4 pytest-httpserver; an expected request that never came fails the test."""
    yield httpserver_ipv4
    httpserver_ipv4.check_assertions()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[tuple[str, int]]]:
    """Replace the resolver hook: every name resolves to ``addresses``; returns the call log."""

    def install(*addresses: str) -> list[tuple[str, int]]:
        calls: list[tuple[str, int]] = []

        def fake(host: str, port: int) -> list[str]:
            calls.append((host, port))
            return list(addresses)

        monkeypatch.setattr(fetch_module, "resolve_host", fake)
        return calls

    return install
