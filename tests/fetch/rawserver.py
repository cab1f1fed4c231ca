"""Raw TCP servers on loopback that misbehave on purpose: drip, stall, close, send garbage."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

# Serves one accepted connection; the event is set when the server stops.
Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A TCP server on loopback that counts connections and hands each to ``handler``."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.host = host
        self.accepted = 0
        self.stop = threading.Event()
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        """The http URL of ``path`` on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                self.handler(conn, self.stop)
            except OSError:
                pass

    def connections_so_far(self) -> int:
        """Connections accepted before now (waits for a probe so none is still queued)."""
        before = self.accepted
        with socket.create_connection((self.host, self.port), timeout=2):
            deadline = time.monotonic() + 2
            while self.accepted == before and time.monotonic() < deadline:
                time.sleep(0.01)
        return self.accepted - 1

    def close(self) -> None:
        """Stop accepting and close the listening socket."""
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


def read_request_head(conn: socket.socket) -> bytes:
    """Read up to the end of the request's headers (or until the client closes)."""
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def close_at_once(conn: socket.socket, stop: threading.Event) -> None:
    """Close the connection before reading anything."""


def close_after_request(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request, then close without answering."""
    read_request_head(conn)


def drip(prefix: bytes) -> Handler:
    """A handler that sends ``prefix`` and then one byte every 0.2 s.

    It gives up after 5 s (closing the connection) so that a client without a deadline fails
    the test instead of hanging it.
    """

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(prefix)
        for _ in range(25):
            if stop.wait(0.2):
                return
            conn.sendall(b"a")

    return handler


def send_raw(response: bytes) -> Handler:
    """A handler that reads the request and sends ``response`` as it is, then closes."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request_head(conn)
        conn.sendall(response)

    return handler


def stream_forever(conn: socket.socket, stop: threading.Event) -> None:
    """A close-delimited body (no Content-Length, not chunked) that never ends."""
    read_request_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    block = b"x" * 65536
    while not stop.is_set():
        conn.sendall(block)
