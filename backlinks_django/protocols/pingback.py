"""Pingback 1.0: the XML-RPC methods ``pingback.ping`` and ``pingback.extensions.getPingbacks``.

The methods take a :class:`Caller` (who is calling, for which site) followed
by the XML-RPC parameters exactly as received, so that wrong counts and types
become fault 0 instead of a TypeError.

The client side finds a target's server (:func:`discover_server`) and calls its
``pingback.ping`` (:func:`send_ping`), raising :class:`DeliveryError` subclasses.
"""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError
from xmlrpc.client import Fault

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser
from django.contrib.sites.models import Site

from backlinks_django import fetch, html, limits, weburl
from backlinks_django.choices import Kind
from backlinks_django.exceptions import (
    BacklinkError,
    InvalidRequest,
    PeerFault,
    PeerHTTPError,
    PeerUnreachable,
)
from backlinks_django.models import Backlink
from backlinks_django.protocols import fetch_from_peer
from backlinks_django.receive import Ping, check_url, receive, resolve_target
from backlinks_django.text import crop

# Fault codes outside the Pingback spec, from the widely used XML-RPC
# interoperability conventions.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


@dataclass(frozen=True)
class Caller:
    site: Site
    remote_ip: str | None
    user_agent: str


# Everything the Unmarshaller raises on malformed or hostile XML-RPC: bad XML, DTDs and
# entities (defusedxml), unfinished documents, bad numbers, dates, base64, unknown or
# non-text encodings, broken structs.
MALFORMED = (
    ExpatError,
    DefusedXmlException,
    xmlrpc.client.ResponseError,
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
    IndexError,
)


def loads(body: bytes) -> tuple[tuple[Any, ...], str | None]:
    """Parameters and method name of an XML-RPC message; entities and DTDs refused.

    Raises ExpatError, a defusedxml error, xmlrpc.client.ResponseError,
    ValueError or TypeError on bad input; a fault response raises Fault.
    """
    unmarshaller = xmlrpc.client.Unmarshaller()
    parser = DefusedExpatParser(unmarshaller, forbid_dtd=True)
    parser.feed(body)
    parser.close()
    return unmarshaller.close(), unmarshaller.getmethodname()


def to_fault(error: BacklinkError) -> Fault:
    """The XML-RPC fault for a pipeline error."""
    return Fault(error.fault_code, error.message)


def _string_args(args: tuple[object, ...], names: tuple[str, ...], method: str) -> list[str]:
    if len(args) != len(names) or not all(isinstance(a, str) for a in args):
        raise InvalidRequest(f"{method} takes {len(names)} string arguments: {', '.join(names)}.")
    return [str(a) for a in args]


def ping(caller: Caller, *args: object) -> str:
    """``pingback.ping(sourceURI, targetURI)``: store a pingback or raise a fault."""
    source, target = _string_args(args, ("sourceURI", "targetURI"), "pingback.ping")
    try:
        receive(
            Ping(
                kind=Kind.PINGBACK,
                source_url=source,
                target_url=target,
                remote_ip=caller.remote_ip,
                user_agent=caller.user_agent,
            ),
            site=caller.site,
        )
    except BacklinkError as error:
        raise to_fault(error) from None
    return f"Pingback from {source} to {target} registered."


def get_pingbacks(caller: Caller, *args: object) -> list[str]:
    """``pingback.extensions.getPingbacks(url)``: source URLs of approved backlinks only."""
    (url,) = _string_args(args, ("url",), "pingback.extensions.getPingbacks")
    try:
        target = resolve_target(check_url(url, "target"), caller.site)
    except BacklinkError as error:
        raise to_fault(error) from None
    return list(
        Backlink.objects.for_object(target)
        .approved()
        .order_by("received_at")
        .values_list("source_url", flat=True)
    )


# --- Client: discovery and pingback.ping --------------------------------------------------------

# Bytes of the target page scanned for <link rel="pingback">: it belongs in <head>.
DISCOVERY_BYTES = 64 * 1024
# Longest peer message kept; it is for humans and ends up in the outbound log.


def discover_server(target_url: str, *, user_agent: str) -> str | None:
    """The target's pingback server: its X-Pingback header, else its first pingback <link>."""
    response = fetch_from_peer(
        target_url,
        headers={"User-Agent": user_agent},
        max_bytes=DISCOVERY_BYTES,
        truncate=True,
    )
    return discover_server_in(response)


def discover_server_in(response: fetch.Response) -> str | None:
    """The pingback server advertised by an already fetched target page, if any.

    Raises :class:`PeerHTTPError` when the page answered an HTTP error (the target is dead).
    """
    if response.status >= 400:
        raise PeerHTTPError(response.status)
    header = response.headers.get("X-Pingback", "").strip()
    if header:
        server = weburl.web_url(response.url, header)
        # An unusable header (no http(s) URL) advertises nothing; the page may still.
        if server is not None:
            return server
    if not response.is_html:
        return None
    # Parsing, rather than a regex, finds rel and href in any order and skips comments.
    return html.rel_link(response.text, response.url, "pingback", ("link",))


def send_ping(server_url: str, source_url: str, target_url: str, *, user_agent: str) -> str:
    """Call ``pingback.ping(source_url, target_url)`` on ``server_url``; the peer's message."""
    body = xmlrpc.client.dumps((source_url, target_url), "pingback.ping", encoding="utf-8")
    response = fetch_from_peer(
        server_url,
        method="POST",
        data=body.encode("utf-8"),
        headers={"Content-Type": "text/xml", "User-Agent": user_agent},
    )
    if response.status != 200:
        raise PeerHTTPError(response.status)
    try:
        params, _method = loads(response.content)
    except Fault as fault:
        raise PeerFault(_fault_code(fault.faultCode), _text(fault.faultString)) from None
    except MALFORMED:
        raise PeerUnreachable("unreadable XML-RPC answer") from None
    if len(params) != 1:
        raise PeerUnreachable("unreadable XML-RPC answer")
    (result,) = params
    # Some peers (Zinnia, django-pingback) return the fault code as a value instead of
    # raising a fault; success is always a string.
    if isinstance(result, int) and not isinstance(result, bool):
        raise PeerFault(_fault_code(result), "error code returned as a value instead of a fault")
    return _text(result)


def _text(value: object) -> str:
    """A peer's message for the log. Only scalars are shown: str() of a nested array or
    struct recurses once per level, and a hostile answer nests thousands deep."""
    if isinstance(value, str | int | float):
        return crop(str(value), limits.MESSAGE)
    return f"(an XML-RPC {type(value).__name__}, not shown)"


def _fault_code(value: object) -> int:
    """The fault code as an int; sloppy peers send strings, which count as generic fault 0.

    So do codes outside XML-RPC's 32-bit <int> (they would not fit the stored column either).
    """
    if isinstance(value, int):
        code = value
    else:
        try:
            code = int(str(value).strip())
        except ValueError:
            return 0
    return code if -(2**31) <= code < 2**31 else 0
