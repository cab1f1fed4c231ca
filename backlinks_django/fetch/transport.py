"""One HTTP exchange with a checked address, every socket operation bounded by the deadline."""

from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import requests
import requests.adapters
import requests.models
import urllib3.exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.response import BaseHTTPResponse

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import ConnectionFailed
from backlinks_django.fetch.deadline import Deadline
from backlinks_django.fetch.hops import Hop

# Interim (1xx) answers skipped before the final one; more is a broken or hostile server.
_MAX_INTERIM = 20


@contextmanager
def exchange(hop: Hop, address: str, deadline: Deadline) -> Iterator[BaseHTTPResponse]:
    """Send ``hop`` to ``address`` and yield the response with its body unread.

    The URL's host goes only into ``Host``, SNI and the certificate check, so the connection
    reaches the checked address and no other. One connection of its own, closed on leaving:
    no pool, no Session (whose ``send`` reads the whole body of a 3xx to build
    ``Response.next``, and would bring environment proxies and a cookie jar along).
    """
    remaining = deadline.check()
    connect_timeout = min(app_settings.FETCH_CONNECT_TIMEOUT, remaining)
    request_headers = dict(hop.headers)
    request_headers["Host"] = hop.target.host_header
    connection: _PinnedHTTPConnection | None = None
    response: BaseHTTPResponse | None = None
    try:
        with errors_translated(deadline):
            # The request target as requests sends it: dot segments resolved, unsafe
            # characters percent-encoded.
            prepared = requests.models.PreparedRequest()
            prepared.prepare_url(hop.target.pinned_url(address), None)
            connection = _connection(hop, address, connect_timeout, deadline)
            connection.request(
                hop.method,
                prepared.path_url,
                body=hop.body,
                headers=request_headers,
                preload_content=False,
                decode_content=False,
            )
            response = connection.getresponse()
        yield response
    finally:
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()


def _connection(
    hop: Hop, address: str, timeout: float, deadline: Deadline
) -> _PinnedHTTPConnection:
    """An unconnected connection to ``address``; TLS checks the certificate for the URL's host."""
    if hop.target.scheme != "https":
        return _PinnedHTTPConnection(address, hop.target.port, timeout=timeout, deadline=deadline)
    # requests' CA bundle (certifi's), read at each use as requests does.
    bundle = requests.adapters.DEFAULT_CA_BUNDLE_PATH
    if not bundle or not os.path.exists(bundle):
        raise OSError(f"Could not find a suitable TLS CA certificate bundle: {bundle}")
    where = {"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle}
    return _PinnedHTTPSConnection(
        address,
        hop.target.port,
        timeout=timeout,
        deadline=deadline,
        server_hostname=hop.target.host,
        cert_reqs="CERT_REQUIRED",
        **where,
    )


@contextmanager
def errors_translated(deadline: Deadline) -> Iterator[None]:
    """Turn transport exceptions into FetchError subclasses."""
    try:
        yield
    except urllib3.exceptions.NewConnectionError as exc:
        # A subclass of urllib3's ConnectTimeoutError, though nothing timed out: refused,
        # unreachable.
        if deadline.remaining() <= 0:
            raise deadline.timeout() from exc
        raise ConnectionFailed("The remote site could not be reached.") from exc
    except (
        requests.exceptions.Timeout,
        urllib3.exceptions.TimeoutError,
        TimeoutError,
    ) as exc:
        raise deadline.timeout() from exc
    except (
        requests.exceptions.SSLError,
        urllib3.exceptions.SSLError,
        ssl.SSLError,
        ssl.CertificateError,
    ) as exc:
        raise ConnectionFailed("The secure connection could not be established.") from exc
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
    ) as exc:
        if deadline.remaining() <= 0:
            raise deadline.timeout() from exc
        raise ConnectionFailed("The remote site could not be reached.") from exc


class _DeadlineReader(io.RawIOBase):
    """A socket's raw reader whose every read waits no longer than the deadline allows.

    Per-read timeouts alone let a server that sends a byte now and then keep a fetch open
    for ever; recomputing the timeout before each read bounds the total.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("fetch deadline exceeded")
        self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """Wraps a connected socket so that http.client's reader is a :class:`_DeadlineReader`."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "rb":
            return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))
        return self._sock.makefile(mode, *args, **kwargs)  # type: ignore[call-overload]

    def sendall(self, data: Any, *args: Any) -> None:
        self._sock.settimeout(max(self._deadline.remaining(), 0.001))
        self._sock.sendall(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _StrictHTTPResponse(http.client.HTTPResponse):
    """http.client's response, stricter where a hostile server could abuse it.

    - A negative chunk size ("-1") is refused: http.client would read the whole rest of the
      stream into memory past every byte limit ("-1"), or fail outside its own errors.
    - Interim 1xx answers (102 Processing, 103 Early Hints) are skipped like 100 Continue,
      so the final answer is the one read.
    """

    def _read_next_chunk_size(self) -> int:
        size: int = super()._read_next_chunk_size()  # type: ignore[misc]
        if size < 0:
            self._close_conn()  # type: ignore[attr-defined]
            raise ValueError("negative chunk size")  # http.client makes it IncompleteRead
        return size

    def _read_status(self) -> tuple[str, int, str]:
        for _interim in range(_MAX_INTERIM):
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if not 101 < status < 200:
                return version, status, reason
            http.client.parse_headers(self.fp)  # the interim answer's headers, skipped
        raise http.client.HTTPException("Too many interim responses.")


class _PinnedHTTPConnection(HTTPConnection):
    """A connection whose socket operations never outlast the fetch's deadline."""

    response_class = _StrictHTTPResponse

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        self._deadline = deadline
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        # Bounds the TLS handshake too: CPython applies the timeout to the whole handshake.
        timeout = self._deadline.remaining()
        if isinstance(self.timeout, int | float):
            timeout = min(timeout, self.timeout)
        sock.settimeout(max(timeout, 0.001))
        return sock

    def connect(self) -> None:
        super().connect()
        self.sock = cast(socket.socket, _DeadlineSocket(self.sock, self._deadline))


class _PinnedHTTPSConnection(_PinnedHTTPConnection, HTTPSConnection):
    pass
