"""Template tags: approved backlinks of an object, their display, count, feeds, autodiscovery."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import models
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backlinks_django import display, registry
from backlinks_django.choices import Kind
from backlinks_django.models import Backlink, SiteSettings

register = template.Library()


@register.simple_tag
def get_backlinks(obj: models.Model) -> list[Backlink]:
    """``{% get_backlinks entry as backlinks %}``: approved backlinks, oldest first, one query."""
    return list(Backlink.objects.for_object(obj).approved().order_by("received_at"))


@register.simple_tag
def backlink_count(obj: models.Model) -> int:
    """``{% backlink_count entry %}``: how many approved backlinks ``obj`` has."""
    return Backlink.objects.for_object(obj).approved().count()


@register.simple_tag
def backlinks_for(
    obj: models.Model, template: str = "backlinks_django/backlinks.html"
) -> SafeString:
    """``{% backlinks_for entry %}``: approved backlinks as cards, facepiles and a list.

    One query. The markup comes from overridable templates under ``backlinks_django/``;
    ``template="..."`` names another one for this call.
    """
    groups = display.group(list(display.public_backlinks(obj)))
    return SafeString(render_to_string(template, {"object": obj, "groups": groups}))


def _object_kwargs(obj: models.Model) -> dict[str, Any]:
    return {
        "content_type_id": ContentType.objects.get_for_model(obj).pk,
        "object_pk": str(obj.pk),
    }


@register.simple_tag
def backlinks_feed_url(obj: models.Model) -> str:
    """``{% backlinks_feed_url entry %}``: the path of ``obj``'s Atom feed of backlinks."""
    return reverse("backlinks_django:object-feed", kwargs=_object_kwargs(obj))


@register.simple_tag
def backlinks_json_url(obj: models.Model) -> str:
    """``{% backlinks_json_url entry %}``: the path of ``obj``'s JSON (JF2) backlinks."""
    return reverse("backlinks_django:object-json", kwargs=_object_kwargs(obj))


def _request(context: template.Context) -> Any:
    request = context.get("request")
    if request is None:
        raise template.TemplateSyntaxError(
            "backlinks tags need the 'request' context processor for absolute URLs."
        )
    return request


def _absolute(context: template.Context, path: str) -> str:
    return str(_request(context).build_absolute_uri(path))


def _receives(context: template.Context, kind: str) -> bool:
    """Whether the site receives ``kind``: a refused endpoint is not advertised."""
    return SiteSettings.objects.for_site(Site.objects.get_current(_request(context))).receives(
        kind
    )


@register.simple_tag(takes_context=True)
def pingback_link(context: template.Context) -> SafeString:
    """``{% pingback_link %}``: ``<link rel="pingback" href="...">`` for the page head."""
    if not _receives(context, Kind.PINGBACK):
        return SafeString("")
    return SafeString(
        render_to_string(
            "backlinks_django/pingback_link.html",
            {"href": _absolute(context, reverse("backlinks_django:xmlrpc"))},
        ).strip()
    )


@register.simple_tag(takes_context=True)
def webmention_link(context: template.Context) -> SafeString:
    """``{% webmention_link %}``: ``<link rel="webmention" href="...">`` for the page head."""
    if not _receives(context, Kind.WEBMENTION):
        return SafeString("")
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
    if registration is None or not _receives(context, Kind.TRACKBACK):
        return SafeString("")
    rdf_context: dict[str, Any] = {
        "permalink": _absolute(context, registration.get_url(obj)),
        "title": str(obj),
        "ping_url": _absolute(context, registry.trackback_path(obj)),
    }
    return SafeString(render_to_string("backlinks_django/trackback_rdf.html", rdf_context).strip())
