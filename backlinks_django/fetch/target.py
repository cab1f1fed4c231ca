"""Parsing and checking each hop's URL (scheme, host, port) before anything is resolved."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

# The fetcher's one use of the host-name helpers: change this line if they move.
from backlinks_django import weburl
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import InvalidURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """One hop's URL, validated, with the parts the connection needs."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, never empty
    ip_literal: IPAddress | None

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the URL's host, bracketed if IPv6, with a non-default port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        """Scheme, host and port: what a redirect must keep for credentials to follow it."""
        return (self.scheme, self.host, self.port)

    def pinned_url(self, ip: str) -> str:
        """The URL with its host replaced by ``ip``."""
        literal = f"[{ip}]" if ":" in ip else ip
        return f"{self.scheme}://{literal}:{self.port}{self.path}"


def parse_url(url: str) -> Target:
    """``url`` as a :class:`Target`, or :class:`InvalidURL` if it is not one the app may fetch.

    Only http(s), no credentials, a host, a port in ``ALLOWED_PORTS``, at most
    ``MAX_URL_LENGTH`` characters and nothing that could split the request line.
    """
    if len(url) > app_settings.MAX_URL_LENGTH:
        raise InvalidURL("The URL is too long.")
    # Whitespace and control characters could split the request line; urlsplit drops some.
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise InvalidURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port_number = parts.port
    except ValueError as exc:
        raise InvalidURL("The URL could not be parsed or has an invalid port.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL("Only http and https URLs can be fetched.")
    if "@" in parts.netloc:
        raise InvalidURL("The URL must not contain a user name or password.")
    if not parts.hostname:
        raise InvalidURL("The URL has no host.")
    port = _allowed_port(port_number, scheme)
    host, ip_literal = _ascii_host(parts.hostname)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(url, scheme, host, port, path, ip_literal)


def _allowed_port(port_number: int | None, scheme: str) -> int:
    """The port to connect to (the scheme's default if none is given), if the site allows it."""
    if port_number == 0:
        raise InvalidURL("The URL has an invalid port.")
    port = port_number or DEFAULT_PORTS[scheme]
    allowed_ports = app_settings.ALLOWED_PORTS
    if allowed_ports is not None and port not in allowed_ports:
        raise InvalidURL(f"Port {port} is not one this site may fetch from.")
    return port


def _ascii_host(hostname: str) -> tuple[str, IPAddress | None]:
    """The host as sent and looked up (IP literal or IDNA name), and the IP address if literal."""
    ip_literal: IPAddress | None
    try:
        ip_literal = ipaddress.ip_address(hostname)
    except ValueError:
        ip_literal = None
    if ip_literal is None:
        # IDNA as browsers and requests apply it (UTS #46), so "straße.de" is xn--strae-oqa.de.
        host = weburl.host_key(hostname)
        if not host.isascii():
            raise InvalidURL("The URL's host name is not valid.")
        return host, None
    if isinstance(ip_literal, ipaddress.IPv6Address) and ip_literal.scope_id:
        raise InvalidURL("The URL's IPv6 address has a zone id.")
    return str(ip_literal), ip_literal
