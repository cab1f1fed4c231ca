"""Keys that group strangers for limits and fairness: a sender's network, a source's domain.

One person controls a whole IPv6 /64 (often more) and every subdomain of a domain they
registered, so limits counted per address or per host name are limits they can step around.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

from backlinks_django.conf import app_settings
from backlinks_django.weburl import host_key

__all__ = ["domain_key", "sender_key", "suffix_list"]


def sender_key(remote_ip: str | None) -> str:
    """The sender's address, an IPv6 one widened to its network (``IPV6_PREFIX`` bits).

    An IPv4-mapped IPv6 address counts as the IPv4 address; what is not an address
    (a missing ``REMOTE_ADDR``) gives "".
    """
    return _sender_key(remote_ip or "", min(128, max(0, app_settings.IPV6_PREFIX)))


# Kept for the few thousand strings seen last: every answer and verification asks for these
# keys, and parsing an address or looking up the suffix list costs more than the lookup.
_REMEMBERED = 4096


@lru_cache(maxsize=_REMEMBERED)
def _sender_key(remote_ip: str, prefix: int) -> str:
    try:
        address = ipaddress.ip_address(remote_ip.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, prefix), strict=False))
    return str(address)


@lru_cache(maxsize=_REMEMBERED)
def domain_key(host: str) -> str:
    """The registrable domain of ``host`` (Public Suffix List, private entries included).

    "a.b.example.co.uk" → "example.co.uk"; "alice.github.io" stays itself (github.io lets
    anyone have a name under it). An IP literal, a public suffix itself or a name the list
    does not know of stays the host's one comparable spelling (:func:`~.weburl.host_key`).
    """
    key = host_key(host.strip("[]"))
    try:
        ipaddress.ip_address(key)
    except ValueError:
        # The list's internationalized rules are in Unicode (see suffix_list): the name is
        # looked up in that form, and the key is as many of its own labels as were found.
        found = suffix_list().privatesuffix(_unicode(key) if "xn--" in key else key)
        return ".".join(key.split(".")[-found.count(".") - 1 :]) if found else key
    return key


def _unicode(key: str) -> str:
    """``key`` with each IDNA label in Unicode (a label that does not decode is kept)."""
    labels = []
    for label in key.split("."):
        try:
            labels.append(idna.decode(label) if label.startswith("xn--") else label)
        except (idna.IDNAError, UnicodeError):
            labels.append(label)
    return ".".join(labels)


@lru_cache(maxsize=1)
def suffix_list() -> PublicSuffixList:
    """The Public Suffix List the package ships, read once per process (the app reads it when
    Django starts: see apps.py).

    Its rules are kept as written, internationalized ones in Unicode, and names are looked up
    in that form: the package's encoded copies of those rules cost four times the reading
    (110 ms against 30 here), and four web workers reading it at once on the first ping
    with a domain name held every answer and page for half a second.
    """
    return PublicSuffixList(accept_encoded_idn=False)
