"""A read-only JSON API of an object's approved backlinks, shaped as a JF2 feed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views import View

from backlinks_django import display, registry
from backlinks_django.choices import MentionType
from backlinks_django.models import Backlink

# The property of the source entry that points at the target, as Webmention services name it.
WM_PROPERTY: dict[str, str] = {
    MentionType.REPLY: "in-reply-to",
    MentionType.LIKE: "like-of",
    MentionType.REPOST: "repost-of",
    MentionType.BOOKMARK: "bookmark-of",
    MentionType.MENTION: "mention-of",
}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    """JF2 leaves unknown properties out rather than sending empty ones."""
    return {key: value for key, value in values.items() if value not in ("", None, {})}


def jf2_entry(backlink: Backlink, request: HttpRequest) -> dict[str, Any]:
    """One backlink as a JF2 entry: public fields only (no IP, user agent or reason), and the
    stored copy of the author photo, never the remote one."""
    photo = display.photo_url(backlink)
    prop = WM_PROPERTY.get(backlink.mention_type, "mention-of")
    author = _compact(
        {
            "type": "card",
            "name": display.author(backlink),
            "url": display.web_link(backlink.author_url),
            "photo": request.build_absolute_uri(photo) if photo else "",
        }
    )
    return _compact(
        {
            "type": "entry",
            "author": author,
            "url": display.link(backlink),
            "name": backlink.title,
            "content": _compact({"text": backlink.excerpt}),
            "published": backlink.published.isoformat() if backlink.published else None,
            prop: backlink.target_url,
            "wm-id": backlink.pk,
            "wm-property": prop,
            "wm-source": backlink.source_url,
            "wm-target": backlink.target_url,
            "wm-received": backlink.received_at.isoformat(),
            "wm-protocol": backlink.kind,
        }
    )


class BacklinksJSONView(View):
    """``json/<content type id>/<pk>/``: a published object's approved backlinks, oldest first.

    Cacheable: a strong ``ETag`` of the body (``If-None-Match`` gets 304), ``Cache-Control``
    public for ``max_age`` seconds, and readable from any origin (the data is public).
    """

    http_method_names = ["get", "head", "options"]
    max_age = 300

    def get(self, request: HttpRequest, content_type_id: int, object_pk: str) -> HttpResponse:
        obj = display.published_object(content_type_id, object_pk)
        registration = registry.get_registration(obj) if obj is not None else None
        if obj is None or registration is None:
            raise Http404("No such published object.")
        feed = {
            "type": "feed",
            "name": str(obj),
            "url": request.build_absolute_uri(registration.get_url(obj)),
            "children": [jf2_entry(b, request) for b in display.public_backlinks(obj)],
        }
        body = json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode()
        response = HttpResponse(body, content_type="application/json")
        response["ETag"] = quote_etag(hashlib.sha256(body).hexdigest()[:32])
        response["Access-Control-Allow-Origin"] = "*"
        patch_cache_control(response, public=True, max_age=self.max_age)
        return (
            get_conditional_response(request, etag=response["ETag"], response=response) or response
        )
