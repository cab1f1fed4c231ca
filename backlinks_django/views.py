"""Thin HTTP glue for TrackBack and Webmention: parse, call the pipeline, render the answer.

Pingback's XML-RPC endpoint is in :mod:`backlinks_django.xmlrpc`.
"""

from __future__ import annotations

import uuid

from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from backlinks_django import inbound, registry, tasks, weburl
from backlinks_django.choices import Kind
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import BacklinkError, RateLimited, TargetNotFound
from backlinks_django.models import InboundPing
from backlinks_django.pipeline import Ping
from backlinks_django.protocols import trackback

__all__ = ["trackback_target", "trackback_view", "webmention_status_view", "webmention_view"]

XML = "text/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def trackback_target(
    content_type_id: int, object_pk: str
) -> tuple[models.Model, registry.Registration]:
    """The registered object behind a per-object TrackBack URL, and its registration."""
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise TargetNotFound() from None
    registration = registry.get_registration(model) if model is not None else None
    if model is None or registration is None or weburl.has_control_chars(object_pk):
        raise TargetNotFound()  # a NUL must not reach the database (PostgreSQL refuses it)
    try:
        return model._default_manager.get(pk=object_pk), registration
    except (ObjectDoesNotExist, ValueError, ValidationError):
        raise TargetNotFound() from None


@csrf_exempt
def trackback_view(request: HttpRequest, content_type_id: int, object_pk: str) -> HttpResponse:
    """Receive a TrackBack ping for one object."""
    if request.method != "POST":
        response = HttpResponse(
            trackback.error_xml("TrackBack pings must be sent with HTTP POST."),
            content_type=XML,
            status=405,
        )
        response["Allow"] = "POST"
        return response
    try:
        target, registration = trackback_target(content_type_id, object_pk)
        fields = trackback.parse_form(
            request.read(trackback.MAX_BODY + 1), request.META.get("CONTENT_TYPE", "")
        )
        accepted = inbound.accept(
            Ping(
                kind=Kind.TRACKBACK,
                source_url=fields["url"],
                target_url=request.build_absolute_uri(registration.get_url(target)),
                title=fields.get("title", ""),
                excerpt=fields.get("excerpt", ""),
                blog_name=fields.get("blog_name", ""),
                remote_ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                verify=app_settings.VERIFY_TRACKBACKS,
                target=target,
            ),
            get_current_site(request),  # type: ignore[arg-type]
        )
    except BacklinkError as error:
        body, status = trackback.to_error(error)
        response = HttpResponse(body, content_type=XML, status=status)
        if isinstance(error, RateLimited):
            response["Retry-After"] = str(error.retry_after)
        return response
    # Queued for verification or stored: TrackBack has one success answer for both.
    tasks.queue_accepted(accepted)
    return HttpResponse(trackback.success_xml(), content_type=XML)


@csrf_exempt
def webmention_view(request: HttpRequest) -> HttpResponse:
    """Receive a Webmention: check it now, verify it in a task, answer 201 or 202."""
    if request.method != "POST":
        response = HttpResponse("Send Webmentions with POST.\n", content_type=TEXT, status=405)
        response["Allow"] = "POST"
        return response
    if request.content_type != "application/x-www-form-urlencoded":
        # Refused before the body is read: Django would parse any other type (a multipart
        # body is spooled to disk) only for this answer.
        return HttpResponse(
            "Send the source and target form-encoded (application/x-www-form-urlencoded).\n",
            content_type=TEXT,
            status=400,
        )
    source, target = request.POST.get("source"), request.POST.get("target")
    try:
        accepted = inbound.accept(
            Ping(
                kind=Kind.WEBMENTION,
                source_url=source,  # type: ignore[arg-type] # accept() refuses a missing one
                target_url=target.partition("#")[0] if isinstance(target, str) else target,  # type: ignore[arg-type]
                remote_ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            ),
            get_current_site(request),  # type: ignore[arg-type]
        )
    except BacklinkError as error:
        response = HttpResponse(f"{error.message}\n", content_type=TEXT, status=400)
        if isinstance(error, RateLimited):
            response.status_code = 429
            response["Retry-After"] = str(error.retry_after)
        return response
    tasks.queue_accepted(accepted)
    mention = accepted.queued
    if mention is None or app_settings.WEBMENTION_STATUS == 202:
        return HttpResponse(
            "Accepted; it will be verified shortly.\n", content_type=TEXT, status=202
        )
    status_url = request.build_absolute_uri(
        reverse("backlinks_django:webmention-status", kwargs={"pk": mention.pk})
    )
    response = HttpResponse(f"Created; status at {status_url}\n", content_type=TEXT, status=201)
    response["Location"] = status_url
    return response


def webmention_status_view(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The processing state of one received Webmention, as JSON."""
    mention = get_object_or_404(InboundPing, pk=pk, kind=Kind.WEBMENTION)
    return JsonResponse(
        {
            # Being verified is still waiting, to the sender: "queued" until it ends.
            "state": mention.state if mention.finished else InboundPing.State.QUEUED,
            "message": mention.message,
            "source": mention.source_url,
            "target": mention.target_url,
        }
    )
