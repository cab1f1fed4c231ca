"""Pingback 1.0: the XML-RPC methods ``pingback.ping`` and ``pingback.extensions.getPingbacks``.

The methods take a :class:`Caller` (who is calling, for which site) followed
by the XML-RPC parameters exactly as received, so that wrong counts and types
become fault 0 instead of a TypeError.
"""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass
from typing import Any
from xmlrpc.client import Fault

from defusedxml.xmlrpc import DefusedExpatParser

from django.contrib.sites.models import Site

from backlinks_django.exceptions import BacklinkError, InvalidRequest
from backlinks_django.models import Backlink, Kind
from backlinks_django.receive import Ping, check_url, receive, resolve_target

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
