"""Template tags: approved backlinks of an object, their count, autodiscovery markup."""

from __future__ import annotations

from typing import Any

from django import template
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backlinks_django import registry
from backlinks_django.models import Backlink

register = template.Library()


@register.simple_tag
def get_backlinks(obj: models.Model) -> list[Backlink]:
    """``{% get_backlinks entry as backlinks %}``: approved backlinks, oldest first, one query."""
    return list(Backlink.objects.for_object(obj).approved().order_by("received_at"))


@register.simple_tag
def backlink_count(obj: models.Model) -> int:
    """``{% backlink_count entry %}``: how many approved backlinks ``obj`` has."""
    return Backlink.objects.for_object(obj).approved().count()


def _absolute(context: template.Context, path: str) -> str:
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "backlinks tags need the 'request' context processor for absolute URLs."
        )
    return str(request.build_absolute_uri(path))


@register.simple_tag(takes_context=True)
def pingback_link(context: template.Context) -> SafeString:
    """``{% pingback_link %}``: ``<link rel="pingback" href="...">`` for the page head."""
    return SafeString(
        render_to_string(
            "backlinks_django/pingback_link.html",
            {"href": _absolute(context, reverse("backlinks_django:xmlrpc"))},
        ).strip()
    )


@register.simple_tag(takes_context=True)
def webmention_link(context: template.Context) -> SafeString:
    """``{% webmention_link %}``: ``<link rel="webmention" href="...">`` for the page head."""
    href = _absolute(context, reverse("backlinks_django:webmention"))
    return format_html('<link rel="webmention" href="{}">', href)


@register.simple_tag(takes_context=True)
def trackback_url(context: template.Context, obj: models.Model) -> str:
    """``{% trackback_url entry %}``: the absolute TrackBack ping URL of ``obj``."""
    return _absolute(context, registry.trackback_path(obj))


@register.simple_tag(takes_context=True)
def trackback_rdf(context: template.Context, obj: models.Model) -> SafeString:
    """``{% trackback_rdf entry %}``: the TrackBack autodiscovery RDF, inside an HTML comment."""
    registration = registry.get_registration(obj)
    if registration is None:
        return SafeString("")
    rdf_context: dict[str, Any] = {
        "permalink": _absolute(context, registration.get_url(obj)),
        "title": str(obj),
        "ping_url": _absolute(context, registry.trackback_path(obj)),
    }
    return SafeString(render_to_string("backlinks_django/trackback_rdf.html", rdf_context).strip())
