"""Thin HTTP glue for Pingback: the XML-RPC endpoint and its two methods, on django-xmlrpc.

The methods ``pingback.ping`` and ``pingback.extensions.getPingbacks`` take a :class:`Caller`
(who is calling, for which site) followed by the XML-RPC parameters exactly as received, so
that wrong counts and types become fault 0 instead of a TypeError.

django-xmlrpc 0.1.8 is used for its dispatcher only: its view logs request
bodies and answers errors with a 500, its registry imports every app's
``xmlrpc`` module and always adds ``system.multicall``. So this module keeps
its own dispatcher instance holding just the two pingback methods, parses
requests with defusedxml's parser (:func:`~backlinks_django.protocols.pingback.loads`),
and answers every error as a fault.
"""

from __future__ import annotations

import inspect
import logging
import xmlrpc.client
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xmlrpc.client import Fault
from xmlrpc.server import SimpleXMLRPCDispatcher

from django.contrib.sites.models import Site
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from backlinks_django import inbound, registry, tasks
from backlinks_django.admission import check_url, resolve_target
from backlinks_django.choices import Kind
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import BacklinkError, InvalidRequest, TargetNotFound
from backlinks_django.models import Backlink
from backlinks_django.pipeline import Ping
from backlinks_django.protocols import pingback

__all__ = [
    "Caller",
    "dispatch",
    "dumps_fault",
    "endpoint",
    "get_dispatcher",
    "get_pingbacks",
    "ping",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who is calling a pingback method, for which site."""

    site: Site
    remote_ip: str | None
    user_agent: str


_caller: ContextVar[Caller] = ContextVar("backlinks_xmlrpc_caller")


def _string_args(args: tuple[object, ...], names: tuple[str, ...], method: str) -> list[str]:
    if len(args) != len(names) or not all(isinstance(a, str) for a in args):
        raise InvalidRequest(f"{method} takes {len(names)} string arguments: {', '.join(names)}.")
    return [str(a) for a in args]


def ping(caller: Caller, *args: object) -> str:
    """``pingback.ping(sourceURI, targetURI)``: store a pingback or raise a fault."""
    source, target = _string_args(args, ("sourceURI", "targetURI"), "pingback.ping")
    try:
        accepted = inbound.accept(
            Ping(
                kind=Kind.PINGBACK,
                source_url=source,
                target_url=target,
                remote_ip=caller.remote_ip,
                user_agent=caller.user_agent,
            ),
            caller.site,
        )
    except BacklinkError as error:
        raise pingback.to_fault(error) from None
    if accepted.queued is not None:
        tasks.queue_accepted(accepted)
        return f"Pingback from {source} to {target} queued for verification."
    return f"Pingback from {source} to {target} registered."


def get_pingbacks(caller: Caller, *args: object) -> list[str]:
    """``pingback.extensions.getPingbacks(url)``: source URLs of approved backlinks only."""
    (url,) = _string_args(args, ("url",), "pingback.extensions.getPingbacks")
    try:
        target = resolve_target(check_url(url, "target"), caller.site)
        registration = registry.get_registration(target)
        if registration is None or not registration.is_published(target):
            raise TargetNotFound()  # a draft answers as a missing page
    except BacklinkError as error:
        raise pingback.to_fault(error) from None
    return list(
        Backlink.objects.for_object(target)
        .approved()
        .order_by("received_at")
        .values_list("source_url", flat=True)
    )


def _dispatcher_class() -> type[SimpleXMLRPCDispatcher]:
    # django-xmlrpc 0.1.8 imports inspect.getargspec, which Python 3.11
    # removed. Offer the name only while its module is imported; the
    # function is used by introspection methods this endpoint never exposes.
    missing = not hasattr(inspect, "getargspec")
    if missing:
        inspect.getargspec = inspect.getfullargspec  # type: ignore[attr-defined]
    try:
        from django_xmlrpc.dispatcher import DjangoXMLRPCDispatcher
    finally:
        if missing:
            del inspect.getargspec  # type: ignore[attr-defined]
    return DjangoXMLRPCDispatcher  # type: ignore[no-any-return]


def _with_caller(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*params: Any) -> Any:
        return method(_caller.get(), *params)

    call.__doc__ = method.__doc__
    return call


@lru_cache(maxsize=1)
def get_dispatcher() -> SimpleXMLRPCDispatcher:
    """The dispatcher holding exactly the pingback methods."""
    dispatcher = _dispatcher_class()(allow_none=False, encoding="utf-8")
    dispatcher.register_function(_with_caller(ping), "pingback.ping")
    dispatcher.register_function(_with_caller(get_pingbacks), "pingback.extensions.getPingbacks")
    return dispatcher


def dumps_fault(code: int, message: str) -> str:
    """A methodResponse carrying a fault."""
    return xmlrpc.client.dumps(Fault(code, message), methodresponse=True, encoding="utf-8")


def dispatch(body: bytes, caller: Caller) -> str:
    """Answer one XML-RPC request body; every failure is a fault, never an exception."""
    try:
        params, method = pingback.loads(body)
    # Fault: a methodResponse holding a fault, sent where a call belongs.
    except (*pingback.MALFORMED, Fault):
        return dumps_fault(pingback.PARSE_ERROR, "The request is not well-formed XML-RPC.")
    function = get_dispatcher().funcs.get(method or "")
    if function is None:
        return dumps_fault(pingback.METHOD_NOT_FOUND, "The requested method is not supported.")
    token = _caller.set(caller)
    try:
        result = function(*params)
    except Fault as fault:
        return xmlrpc.client.dumps(fault, methodresponse=True, encoding="utf-8")
    except BacklinkError as error:
        return dumps_fault(error.fault_code, error.message)
    finally:
        _caller.reset(token)
    return xmlrpc.client.dumps((result,), methodresponse=True, encoding="utf-8")


def _content_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    """The XML-RPC server advertised by ``X-Pingback`` and ``<link rel="pingback">``."""
    if request.method != "POST":
        response = HttpResponseNotAllowed(["POST"], content_type="text/plain")
        response.content = b"This XML-RPC server answers POST requests only.\n"
        return response
    limit = app_settings.XMLRPC_MAX_BODY
    length = _content_length(request)
    if length is None or length > limit:
        answer = dumps_fault(pingback.INVALID_REQUEST, "The request body is too large.")
    else:
        body = request.read(limit + 1)
        if len(body) > limit:
            answer = dumps_fault(pingback.INVALID_REQUEST, "The request body is too large.")
        else:
            caller = Caller(
                site=get_current_site(request),  # type: ignore[arg-type]
                remote_ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            answer = dispatch(body, caller)
    return HttpResponse(answer, content_type="text/xml; charset=utf-8")
