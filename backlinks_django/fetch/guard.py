"""The address policy: resolving a hop's host and refusing any address that is not public."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import AddressNotAllowed, ConnectionFailed, FetchTimeout
from backlinks_django.fetch.target import IPAddress, Target

logger = logging.getLogger(__name__)

# Looks up a host name and port: every address, as a string (the signature of resolve_host).
Resolver = Callable[[str, int], list[str]]

# Lookups bounded by a deadline run here, so that a name server that never answers costs a fetch
# its deadline, not the system resolver's own timeouts (seconds each, retried). A lookup its fetch
# gave up on holds one thread until the resolver gives up; when all are held, bounded lookups wait
# for a thread only until their deadline, and lookups without one are not affected.
_BOUNDED_LOOKUPS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="backlinks-dns")

_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def resolve_host(host: str, port: int) -> list[str]:
    """All addresses of ``host`` (``socket.getaddrinfo``, TCP), as strings, without duplicates.

    :func:`backlinks_django.fetch.fetch` calls it through the package attribute
    ``backlinks_django.fetch.resolve_host``, which tests replace; raises
    :class:`ConnectionFailed` if nothing resolves.
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


def check_address(ip: str) -> None:
    """Raise :class:`AddressNotAllowed` unless ``ip`` is public or in ``ALLOWED_NETWORKS``."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise AddressNotAllowed("The address is not a valid IP address.") from exc
    if _is_explicitly_allowed(address) or _is_public(address):
        return
    raise AddressNotAllowed("The address is not a public address.")


def within(resolve: Resolver, seconds: float) -> Resolver:
    """``resolve``, given up on after ``seconds`` with FetchTimeout."""

    def bounded(host: str, port: int) -> list[str]:
        lookup = _BOUNDED_LOOKUPS.submit(resolve, host, port)
        try:
            return lookup.result(timeout=max(seconds, 0.001))
        except FutureTimeout:
            lookup.cancel()
            logger.info("Looking up %s took longer than %.1f s", host, seconds)
            raise FetchTimeout("The remote site's name could not be looked up in time.") from None

    return bounded


def checked_addresses(target: Target, resolve: Resolver) -> list[str]:
    """The hop's addresses (one lookup through ``resolve`` at most), all allowed.

    One refused address refuses the hop (:class:`AddressNotAllowed`), so a name cannot mix
    a public address with an internal one and hope for the second.
    """
    if target.ip_literal is not None:
        addresses = [str(target.ip_literal)]
    else:
        addresses = resolve(target.host, target.port)
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
