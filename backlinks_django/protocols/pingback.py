"""Pingback 1.0 on the wire: XML-RPC parsing and faults, server discovery, ``pingback.ping``.

The server's methods live in the HTTP glue (:mod:`backlinks_django.xmlrpc`). The client side
finds the server a fetched target advertises (:func:`discover_server_in`) and calls its
``pingback.ping`` (:func:`send_ping`), raising :class:`DeliveryError` subclasses; :func:`call`
is the XML-RPC client call other protocols (weblogUpdates) share.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError
from xmlrpc.client import Fault

from defusedxml import DefusedXmlException
from defusedxml.xmlrpc import DefusedExpatParser

from backlinks_django import fetch, limits, weburl
from backlinks_django.exceptions import (
    BacklinkError,
    PeerFault,
    PeerHTTPError,
    PeerUnreachable,
)
from backlinks_django.protocols import discovery, fetch_from_peer
from backlinks_django.text import crop

__all__ = [
    "INVALID_REQUEST",
    "MALFORMED",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "call",
    "discover_server_in",
    "loads",
    "message_text",
    "send_ping",
    "to_fault",
]

# Fault codes outside the Pingback spec, from the widely used XML-RPC
# interoperability conventions.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601


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


# --- Client: discovery and pingback.ping --------------------------------------------------------


def discover_server_in(response: fetch.Response) -> str | None:
    """The pingback server a fetched target page advertises: X-Pingback, else its first <link>.

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
    return discovery.rel_link(response.text, response.url, "pingback", ("link",))


def send_ping(server_url: str, source_url: str, target_url: str, *, user_agent: str) -> str:
    """Call ``pingback.ping(source_url, target_url)`` on ``server_url``; the peer's message."""
    result = call(server_url, "pingback.ping", (source_url, target_url), user_agent=user_agent)
    # Some peers (Zinnia, django-pingback) return the fault code as a value instead of
    # raising a fault; success is always a string.
    if isinstance(result, int) and not isinstance(result, bool):
        raise PeerFault(_fault_code(result), "error code returned as a value instead of a fault")
    return message_text(result)


def call(server_url: str, method: str, params: tuple[Any, ...], *, user_agent: str) -> Any:
    """Call an XML-RPC ``method`` on ``server_url``; the one value it answered.

    Raises :class:`PeerFault` for a fault, :class:`PeerHTTPError` for a status other than
    200, and :class:`PeerUnreachable` for an answer that is not one XML-RPC value.
    """
    body = xmlrpc.client.dumps(params, method, encoding="utf-8")
    response = fetch_from_peer(
        server_url,
        method="POST",
        data=body.encode("utf-8"),
        headers={"Content-Type": "text/xml", "User-Agent": user_agent},
    )
    if response.status != 200:
        raise PeerHTTPError(response.status)
    try:
        values, _method = loads(response.content)
    except Fault as fault:
        raise PeerFault(_fault_code(fault.faultCode), message_text(fault.faultString)) from None
    except MALFORMED:
        raise PeerUnreachable("unreadable XML-RPC answer") from None
    if len(values) != 1:
        raise PeerUnreachable("unreadable XML-RPC answer")
    return values[0]


def message_text(value: object) -> str:
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
