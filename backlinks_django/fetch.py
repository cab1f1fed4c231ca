"""The only way the app touches the network: an HTTP client with an address guard and limits.

Every hop's host is resolved once and every address checked (:func:`check_address`); the
connection then goes to the checked address (the URL's host is only sent as ``Host`` and used
for SNI and certificate checks), so DNS rebinding cannot switch it. Redirects are followed here,
each hop checked like the first. One deadline bounds the whole call, redirects and body
included; the body is read in chunks and bounded after decompression.
"""

from __future__ import annotations

import codecs
import functools
import http.client
import io
import ipaddress
import logging
import re
import socket
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import SplitResult, urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

import backlinks_django
from backlinks_django import throttle, weburl
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AddressNotAllowed,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HostBusy,
    InvalidURL,
    ResponseTooLarge,
    TooManyRedirects,
)

logger = logging.getLogger(__name__)

__all__ = [
    "AddressNotAllowed",
    "ConnectionFailed",
    "FetchError",
    "FetchTimeout",
    "InvalidURL",
    "Response",
    "ResponseTooLarge",
    "TooManyRedirects",
    "check_address",
    "fetch",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_SIZE = 16 * 1024
_SNIFF_BYTES = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Headers that describe the request body, dropped when a redirect turns the request into a GET.
_BODY_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding")
# Credentials meant for one origin, dropped when a redirect leaves it.
_ORIGIN_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# --- Errors ------------------------------------------------------------------------------------


def user_agent(site_domain: str, purpose: str) -> str:
    """The User-Agent of our requests: app, version, site, and on whose behalf."""
    return f"backlinks_django/{backlinks_django.__version__}; {site_domain}; {purpose}"


# --- Response ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A fetched response: final URL, status, headers and (bounded, decoded) body."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    truncated: bool = False

    @property
    def content_type(self) -> str:
        """The media type alone, lower-case (``"text/html"``); ``""`` when absent."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()

    @property
    def is_html(self) -> bool:
        """Whether the body is HTML or XHTML."""
        return self.content_type in ("text/html", "application/xhtml+xml")

    @property
    def encoding(self) -> str:
        """The encoding :attr:`text` uses: BOM, header charset, HTML meta charset, else UTF-8."""
        for bom, name in _BOMS:
            if self.content.startswith(bom):
                return name
        declared = _charset_param(self.headers.get("Content-Type", ""))
        if declared is None and self.is_html:
            match = _META_CHARSET.search(self.content[:_SNIFF_BYTES])
            if match:
                declared = _known_codec(match.group(1).decode("ascii"))
        return declared or "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with :attr:`encoding`; undecodable bytes are replaced."""
        return self.content.decode(self.encoding, errors="replace")


def _known_codec(name: str) -> str | None:
    """``name`` if Python has a text codec by that name that can replace bad bytes, else None."""
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
        # Codecs such as rot13 or base64 are not text encodings; idna and undefined are, but
        # refuse the "replace" error handler that :attr:`Response.text` decodes with.
        if not getattr(info, "_is_text_encoding", True):
            return None
        b"a\xff".decode(info.name, "replace")
    except (LookupError, ValueError, UnicodeError):  # ValueError: a NUL in the name
        return None
    return info.name


def _charset_param(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return _known_codec(value)
    return None


# --- Address guard -----------------------------------------------------------------------------


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses of ``host`` (``socket.getaddrinfo``, TCP), as strings, without duplicates.

    Module-level so tests can replace it; raises :class:`ConnectionFailed` if nothing resolves.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ConnectionFailed(f"The host {host} could not be resolved.") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 scope id
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise ConnectionFailed(f"The host {host} could not be resolved.")
    return addresses


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_PREFIX or address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _is_public(embedded)
        if address.is_site_local:
            return False
    # is_global alone is not enough: on some Python versions it is True for multicast.
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _is_explicitly_allowed(address: IPAddress) -> bool:
    candidates: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
    networks = app_settings.ALLOWED_NETWORKS
    return any(candidate in network for candidate in candidates for network in networks)


def check_address(ip: str) -> None:
    """Raise :class:`AddressNotAllowed` unless ``ip`` is public or in ``ALLOWED_NETWORKS``."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise AddressNotAllowed("The address is not a valid IP address.") from exc
    if _is_explicitly_allowed(address) or _is_public(address):
        return
    raise AddressNotAllowed("The address is not a public address.")


# --- URL handling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """One hop's URL, validated, with the parts the connection needs."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, never empty
    ip_literal: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    def pinned_url(self, ip: str) -> str:
        """The URL with its host replaced by ``ip``."""
        literal = f"[{ip}]" if ":" in ip else ip
        return f"{self.scheme}://{literal}:{self.port}{self.path}"


def _parse_url(url: str) -> _Target:
    if len(url) > app_settings.MAX_URL_LENGTH:
        raise InvalidURL("The URL is too long.")
    # Whitespace and control characters could split the request line; urlsplit drops some.
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidURL("The URL contains spaces or control characters.")
    try:
        parts: SplitResult = urlsplit(url)
        port_number = parts.port
    except ValueError as exc:
        raise InvalidURL("The URL could not be parsed or has an invalid port.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL("Only http and https URLs can be fetched.")
    if "@" in parts.netloc:
        raise InvalidURL("The URL must not contain a user name or password.")
    hostname = parts.hostname or ""
    if not hostname:
        raise InvalidURL("The URL has no host.")
    if port_number == 0:
        raise InvalidURL("The URL has an invalid port.")
    port = port_number or _DEFAULT_PORTS[scheme]
    allowed_ports = app_settings.ALLOWED_PORTS
    if allowed_ports is not None and port not in allowed_ports:
        raise InvalidURL(f"Port {port} is not one this site may fetch from.")
    ip_literal: IPAddress | None
    try:
        ip_literal = ipaddress.ip_address(hostname)
    except ValueError:
        ip_literal = None
    if ip_literal is not None:
        if isinstance(ip_literal, ipaddress.IPv6Address) and ip_literal.scope_id:
            raise InvalidURL("The URL's IPv6 address has a zone id.")
        host = str(ip_literal)
    else:
        # IDNA as browsers and requests apply it (UTS #46), so "straße.de" is xn--strae-oqa.de.
        host = weburl.host_key(hostname)
        if not host.isascii():
            raise InvalidURL("The URL's host name is not valid.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(url, scheme, host, port, path, ip_literal)


def _checked_addresses(target: _Target) -> list[str]:
    """The hop's addresses (one DNS lookup at most), all allowed, else AddressNotAllowed."""
    if target.ip_literal is not None:
        addresses = [str(target.ip_literal)]
    else:
        addresses = resolve_host(target.host, target.port)
        if not addresses:
            raise ConnectionFailed(f"The host {target.host} could not be resolved.")
    for address in addresses:
        try:
            check_address(address)
        except AddressNotAllowed as exc:
            logger.info("Refused %s: %s is not an allowed address", target.url, address)
            raise AddressNotAllowed(
                f"The host {target.host} is not a public address and may not be fetched."
            ) from exc
    return addresses


# --- Transport: pinned connections with a deadline on every read -------------------------------


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self) -> float:
        """Seconds left; raise FetchTimeout if none are."""
        remaining = self.remaining()
        if remaining <= 0:
            raise FetchTimeout(f"The remote site did not answer within {self.seconds:g} seconds.")
        return remaining


class _DeadlineReader(io.RawIOBase):
    """A socket's raw reader whose every read waits no longer than the deadline allows.

    Per-read timeouts alone let a server that sends a byte now and then keep a fetch open
    for ever; recomputing the timeout before each read bounds the total.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
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

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
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


# Interim (1xx) answers skipped before the final one; more is a broken or hostile server.
_MAX_INTERIM = 20


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

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
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

    def __init__(self, server_hostname: str, deadline: _Deadline) -> None:
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


@contextmanager
def _errors_translated(deadline: _Deadline) -> Iterator[None]:
    """Turn transport exceptions into FetchError subclasses."""
    try:
        yield
    except (
        requests.exceptions.Timeout,
        urllib3.exceptions.TimeoutError,
        TimeoutError,
    ) as exc:
        raise FetchTimeout(
            f"The remote site did not answer within {deadline.seconds:g} seconds."
        ) from exc
    except (requests.exceptions.SSLError, urllib3.exceptions.SSLError) as exc:
        raise ConnectionFailed("The secure connection could not be established.") from exc
    except (
        requests.RequestException,
        urllib3.exceptions.HTTPError,
        http.client.HTTPException,
        OSError,
    ) as exc:
        if deadline.remaining() <= 0:
            raise FetchTimeout(
                f"The remote site did not answer within {deadline.seconds:g} seconds."
            ) from exc
        raise ConnectionFailed("The remote site could not be reached.") from exc


@contextmanager
def _exchange(
    target: _Target,
    address: str,
    method: str,
    body: bytes | None,
    headers: CaseInsensitiveDict[str],
    deadline: _Deadline,
) -> Iterator[requests.Response]:
    """Send one request to ``address`` and yield the response with its body unread."""
    remaining = deadline.check()
    connect_timeout = min(app_settings.FETCH_CONNECT_TIMEOUT, remaining)
    request_headers = CaseInsensitiveDict(headers)
    request_headers["Host"] = target.host_header
    # No Session: Session.send reads the whole body of a 3xx to build ``Response.next``, even
    # with allow_redirects=False, and would bring environment proxies and a cookie jar along.
    adapter = _PinnedAdapter(target.host, deadline)
    response: requests.Response | None = None
    try:
        with _errors_translated(deadline):
            prepared = requests.Request(
                method, target.pinned_url(address), headers=request_headers, data=body
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


# --- Body --------------------------------------------------------------------------------------


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than asked for."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._started = False
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else 16 + zlib.MAX_WBITS)

    def decode(self, data: bytes, max_length: int) -> bytes:
        try:
            out = self._zlib.decompress(data, max_length)
        except zlib.error:
            # "deflate" is sometimes sent as a raw stream without the zlib wrapper.
            if not self._deflate or self._started:
                raise
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._zlib.decompress(data, max_length)
        self._started = True
        return out


def _decoder_for(content_encoding: str) -> _Decoder | None:
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip", "deflate"):
        return _Decoder("deflate" if codings[0] == "deflate" else "gzip")
    raise ConnectionFailed("The response uses an unsupported content encoding.")


def _read_body(
    response: requests.Response, max_bytes: int, truncate: bool, deadline: _Deadline
) -> tuple[bytes, bool]:
    """Read at most ``max_bytes`` decoded bytes (plus one to notice more); (body, truncated)."""
    decoder = _decoder_for(response.headers.get("Content-Encoding", ""))
    budget = max_bytes + 1
    # Compressed input that yields little output is bounded too (empty deflate blocks).
    wire_budget = budget if decoder is None else 2 * budget + 1024
    parts: list[bytes] = []
    size = wire = 0
    with _errors_translated(deadline):
        while size < budget and wire < wire_budget:
            deadline.check()
            chunk = response.raw.read(min(_CHUNK_SIZE, wire_budget - wire), decode_content=False)
            if not chunk:
                break
            wire += len(chunk)
            if decoder is not None:
                try:
                    chunk = decoder.decode(chunk, budget - size)
                except zlib.error as exc:
                    raise ConnectionFailed("The response body could not be decompressed.") from exc
            parts.append(chunk)
            size += len(chunk)
    content = b"".join(parts)
    over = size > max_bytes or wire >= wire_budget
    if over and not truncate:
        raise ResponseTooLarge(f"The response is larger than {max_bytes} bytes.")
    return content[:max_bytes], over


# --- fetch -------------------------------------------------------------------------------------


def _default_headers() -> CaseInsensitiveDict[str]:
    return CaseInsensitiveDict(
        {
            "User-Agent": f"backlinks_django/{backlinks_django.__version__}",
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
        }
    )


def _location(response: requests.Response) -> str | None:
    location = response.headers.get("Location")
    if not location:
        return None
    # http.client decodes header bytes as Latin-1; servers mostly send UTF-8.
    try:
        return location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return location


# A time.monotonic() by which every fetch in this context ends (sending sets its deadline).
_ends_at: ContextVar[float | None] = ContextVar("backlinks_fetch_ends_at", default=None)


@contextmanager
def ending_by(ends_at: float) -> Iterator[None]:
    """Within the block, fetches end by ``ends_at`` (a ``time.monotonic()``), if that is sooner."""
    token = _ends_at.set(ends_at)
    try:
        yield
    finally:
        _ends_at.reset(token)


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    truncate: bool = False,
    follow_redirects: bool = True,
) -> Response:
    """Fetch ``url`` within the app's address, time, size and redirect limits.

    Non-2xx statuses are returned, not raised; every failure raises a :class:`FetchError`.
    """
    seconds = app_settings.FETCH_DEADLINE
    ends_at = _ends_at.get()
    if ends_at is not None:
        seconds = min(seconds, ends_at - time.monotonic())
        if seconds <= 0:
            raise FetchTimeout("The time for these requests is up.")
    deadline = _Deadline(seconds)
    limit = app_settings.FETCH_MAX_BYTES if max_bytes is None else max_bytes
    max_redirects = app_settings.FETCH_MAX_REDIRECTS
    method = method.upper()
    if not method.isalpha():
        raise ValueError(f"Invalid HTTP method {method!r}")
    request_headers = _default_headers()
    request_headers.update(headers or {})
    body = data
    target = _parse_url(url)
    redirects = 0
    logger.debug("Fetching %s %s", method, url)
    while True:
        addresses = _checked_addresses(target)
        wait = throttle.hit("host", target.host, app_settings.RATE_LIMIT_PER_FETCHED_HOST)
        if wait is not None:
            raise HostBusy(f"Too many requests to {target.host} lately; try again later.")
        with _exchange(target, addresses[0], method, body, request_headers, deadline) as response:
            status = response.status_code
            location = _location(response) if status in _REDIRECT_STATUSES else None
            if follow_redirects and location is not None:
                if redirects >= max_redirects:
                    logger.info("Fetching %s %s: more than %d redirects", method, url, redirects)
                    raise TooManyRedirects(f"The URL redirected more than {max_redirects} times.")
                redirects += 1
                try:
                    next_url = urljoin(target.url, location)
                except ValueError:  # "http://[oops/"
                    raise InvalidURL("The redirect location is not a valid URL.") from None
                next_target = _parse_url(next_url)
                logger.debug("Redirect %d from %s to %s", status, target.url, next_target.url)
                if (status == 303 and method != "HEAD") or (
                    status in (301, 302) and method == "POST"
                ):
                    method, body = "GET", None
                    for name in _BODY_HEADERS:
                        request_headers.pop(name, None)
                if next_target.origin != target.origin:
                    for name in _ORIGIN_HEADERS:
                        request_headers.pop(name, None)
                target = next_target
                continue
            content, truncated = _read_body(response, limit, truncate, deadline)
            logger.info(
                "Fetched %s %s: status %d, %d bytes%s",
                method,
                target.url,
                status,
                len(content),
                " (truncated)" if truncated else "",
            )
            return Response(
                url=target.url,
                status=status,
                headers=CaseInsensitiveDict(response.headers),
                content=content,
                truncated=truncated,
            )
