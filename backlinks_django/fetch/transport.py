"""One HTTP exchange with a checked address, every socket operation bounded by the deadline."""

from __future__ import annotations

import functools
import http.client
import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import ConnectionFailed
from backlinks_django.fetch.deadline import Deadline
from backlinks_django.fetch.hops import Hop

# Interim (1xx) answers skipped before the final one; more is a broken or hostile server.
_MAX_INTERIM = 20


@contextmanager
def exchange(hop: Hop, address: str, deadline: Deadline) -> Iterator[requests.Response]:
    """Send ``hop`` to ``address`` and yield the response with its body unread.

    The URL's host goes only into ``Host``, SNI and the certificate check, so the connection
    reaches the checked address and no other.
    """
    remaining = deadline.check()
    connect_timeout = min(app_settings.FETCH_CONNECT_TIMEOUT, remaining)
    request_headers = CaseInsensitiveDict(hop.headers)
    request_headers["Host"] = hop.target.host_header
    # No Session: Session.send reads the whole body of a 3xx to build ``Response.next``, even
    # with allow_redirects=False, and would bring environment proxies and a cookie jar along.
    adapter = _PinnedAdapter(hop.target.host, deadline)
    response: requests.Response | None = None
    try:
        with errors_translated(deadline):
            prepared = requests.Request(
                hop.method,
                hop.target.pinned_url(address),
                headers=request_headers,
                data=hop.body,
            ).prepare()
            response = adapter.send(
                prepared,
                stream=True,
                timeout=(connect_timeout, remaining),
                verify=True,
                proxies={},
            )
        yield response
    finally:
        if response is not None:
            response.close()
        adapter.close()


@contextmanager
def errors_translated(deadline: Deadline) -> Iterator[None]:
    """Turn transport exceptions into FetchError subclasses."""
    try:
        yield
    except (
        requests.exceptions.Timeout,
        urllib3.exceptions.TimeoutError,
        TimeoutError,
    ) as exc:
        raise deadline.timeout() from exc
    except (requests.exceptions.SSLError, urllib3.exceptions.SSLError) as exc:
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


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    """An adapter for one hop: connections carry the deadline; TLS uses the URL's host name.

    The request URL names the checked IP address; ``server_hostname`` makes SNI and the
    certificate check use the original name. ``assert_hostname`` is left alone: setting it
    switches off the SSL context's own check, and requests 2.32.0-2.32.3 share that context.
    """

    def __init__(self, server_hostname: str, deadline: Deadline) -> None:
        self._server_hostname = server_hostname
        self._deadline = deadline
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs["server_hostname"] = self._server_hostname  # dropped for plain http
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        # The deadline is no pool-key field, so it reaches the connections through the class.
        self.poolmanager.pool_classes_by_scheme = {
            "http": cast(
                type[HTTPConnectionPool],
                functools.partial(_PinnedHTTPConnectionPool, deadline=self._deadline),
            ),
            "https": cast(
                type[HTTPConnectionPool],
                functools.partial(_PinnedHTTPSConnectionPool, deadline=self._deadline),
            ),
        }
