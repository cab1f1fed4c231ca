"""Fixtures of the hostile-input suites: a connection counter, a simulated network, a fake DNS.

How "did not connect" is proved:

- ``counter`` listens on 127.0.0.1 and ::1 (same port) and counts every connection it accepts.
- ``network`` replaces urllib3's ``create_connection`` (the one place the fetcher opens sockets)
  with a simulated network: every attempt is recorded; servers a test started are reached at
  their real address; :data:`PUBLIC_ADDRESS` is the only public host and is unreachable (no
  packet leaves the machine); every other address (loopback, private, metadata, link-local, a
  host name that was never pinned) is "the internal network" and lands on the counter. So a
  guard bug connects to the counter, whatever address it picked, and a fetcher that bypassed
  urllib3 would still meet the real listeners on 127.0.0.1/::1.
- ``dns`` replaces the fetcher's resolver hook: numeric host strings are parsed the way the
  system resolver parses them (``inet_aton``: octal, hex, short forms), without any lookup;
  every other name resolves to 127.0.0.1, as an attacker's DNS would, unless a test gives it
  other answers. No test here ever asks a real DNS server.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import urllib3.util.connection

from backlinks_django import fetch as fetch_module
from tests.fetch.rawserver import RawServer, read_request_head

# A public address (example.com's) that the simulated network never reaches.
PUBLIC_ADDRESS = "93.184.215.14"


class ConnectionCounter:
    """Listeners on 127.0.0.1 and ::1, on one port, that count and close every connection."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._peers: list[tuple[str, int]] = []
        self._probes: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        four = socket.create_server(("127.0.0.1", 0))
        self.port: int = four.getsockname()[1]
        self._listeners = [four]
        try:
            six = socket.create_server(("::1", self.port), family=socket.AF_INET6)
        except OSError:  # no IPv6 loopback here, or the port is taken on it
            six = None
        if six is not None:
            self._listeners.append(six)
        self.has_ipv6 = six is not None
        self._threads = [
            threading.Thread(target=self._serve, args=(listener,), daemon=True)
            for listener in self._listeners
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, listener: socket.socket) -> None:
        listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._peers.append((str(peer[0]), int(peer[1])))
            conn.close()

    def connections(self) -> int:
        """Connections accepted so far, probes excluded; waits until none is still queued.

        A probe connection is made to each listener: once it is accepted, every connection
        made before it has been accepted too.
        """
        for listener in self._listeners:
            family = listener.family
            host = "127.0.0.1" if family == socket.AF_INET else "::1"
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect((host, self.port))
                name = probe.getsockname()
                me = (str(name[0]), int(name[1]))
                with self._lock:
                    self._probes.add(me)
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    with self._lock:
                        if me in self._peers:
                            break
                    time.sleep(0.005)
        with self._lock:
            return sum(1 for peer in self._peers if peer not in self._probes)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for listener in self._listeners:
            listener.close()


class SimulatedNetwork:
    """Stands in for urllib3's create_connection; see the module docstring."""

    def __init__(self, counter: ConnectionCounter, real: Callable[..., socket.socket]) -> None:
        self.counter = counter
        self.attempts: list[str] = []
        self._real = real
        self._servers: dict[tuple[str, int], tuple[str, int]] = {}

    def add_server(self, host: str, port: int, real: tuple[str, int] | None = None) -> None:
        """Let connections to ``host:port`` through to a server the test started (at ``real``,
        when it listens elsewhere, e.g. on a random port standing for port 80)."""
        self._servers[(host, port)] = real or (host, port)

    def connect(
        self, address: tuple[str, int], timeout: Any = None, *args: Any, **kwargs: Any
    ) -> socket.socket:
        host = address[0].strip("[]").split("%", 1)[0]
        port = int(address[1])
        self.attempts.append(host)
        if (host, port) in self._servers:
            return self._real(self._servers[(host, port)], timeout, *args, **kwargs)
        if host == PUBLIC_ADDRESS:
            raise OSError(errno.ENETUNREACH, "simulated network: the internet is unreachable")
        return self._real(("127.0.0.1", self.counter.port), timeout, *args, **kwargs)

    def internal_attempts(self) -> list[str]:
        """Attempts that went to neither a test server nor the public address."""
        allowed = {host for host, _ in self._servers} | {PUBLIC_ADDRESS}
        return [host for host in self.attempts if host not in allowed]


class FakeDNS:
    """The fetcher's resolver hook; records every lookup (see the module docstring)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._answers: dict[str, list[Sequence[str]]] = {}

    def answer(self, name: str, *answers: Sequence[str]) -> None:
        """``name`` resolves to ``answers[0]``, then ``answers[1]``..., then the last one again."""
        self._answers[name.lower()] = list(answers)

    def lookups(self, name: str) -> int:
        return sum(1 for call in self.calls if call == name.lower())

    def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host.lower())
        queue = self._answers.get(host.lower())
        if queue:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            return list(answer)
        try:
            infos = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
        except (OSError, UnicodeError):
            return ["127.0.0.1"]
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


class NoDNS:
    """A resolver hook for fuzzing: no name resolves (and no real DNS server is asked)."""

    def resolve(self, host: str, port: int) -> list[str]:
        raise fetch_module.ConnectionFailed(f"The host {host} could not be resolved.")


@pytest.fixture
def counter() -> Iterator[ConnectionCounter]:
    listener = ConnectionCounter()
    yield listener
    listener.close()


@pytest.fixture
def network(counter: ConnectionCounter, monkeypatch: pytest.MonkeyPatch) -> SimulatedNetwork:
    simulated = SimulatedNetwork(counter, urllib3.util.connection.create_connection)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", simulated.connect)
    return simulated


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(fetch_module, "resolve_host", fake.resolve)
    return fake


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_module, "resolve_host", NoDNS().resolve)


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse (and report) any connection beyond loopback."""
    outside: list[str] = []
    real = urllib3.util.connection.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host = address[0].strip("[]").split("%", 1)[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            outside.append(host)
            raise OSError(errno.ENETUNREACH, "test refused to leave loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", guarded)
    yield
    assert outside == [], f"tried to connect to {outside}"


Route = tuple[int, str]


def redirecting(routes: dict[str, Route]) -> Callable[[socket.socket, threading.Event], None]:
    """A RawServer handler answering ``routes[path] = (status, location)``; 404 elsewhere."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        head = read_request_head(conn)
        parts = head.split(b" ", 2)
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        if path in routes:
            status, location = routes[path]
            answer = (
                f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        else:
            answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        conn.sendall(answer.encode("utf-8"))

    return handler


@pytest.fixture
def raw_servers() -> Iterator[Callable[..., RawServer]]:
    """Start RawServers (tests.fetch.rawserver) that are closed after the test."""
    started: list[RawServer] = []

    def start(handler: Callable[..., None], host: str = "127.0.0.1") -> RawServer:
        server = RawServer(handler, host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
