"""The pingback XML-RPC endpoint, on django-xmlrpc's dispatcher.

django-xmlrpc 0.1.8 is used for its dispatcher only: its view logs request
bodies and answers errors with a 500, its registry imports every app's
``xmlrpc`` module and always adds ``system.multicall``. So this module keeps
its own dispatcher instance holding just the two pingback methods, parses
requests with defusedxml's parser, and answers every error as a fault.
"""

from __future__ import annotations

import inspect
import logging
import xmlrpc.client
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any
from xmlrpc.client import Fault
from xmlrpc.server import SimpleXMLRPCDispatcher

from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import BacklinkError
from backlinks_django.protocols import pingback

logger = logging.getLogger(__name__)

_caller: ContextVar[pingback.Caller] = ContextVar("backlinks_xmlrpc_caller")


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
    dispatcher.register_function(_with_caller(pingback.ping), "pingback.ping")
    dispatcher.register_function(
        _with_caller(pingback.get_pingbacks), "pingback.extensions.getPingbacks"
    )
    return dispatcher


def dumps_fault(code: int, message: str) -> str:
    """A methodResponse carrying a fault."""
    return xmlrpc.client.dumps(Fault(code, message), methodresponse=True, encoding="utf-8")


def dispatch(body: bytes, caller: pingback.Caller) -> str:
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
            caller = pingback.Caller(
                site=get_current_site(request),  # type: ignore[arg-type]
                remote_ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            answer = dispatch(body, caller)
    return HttpResponse(answer, content_type="text/xml; charset=utf-8")
