"""Atom feeds of approved backlinks: one per object, one per site."""

from __future__ import annotations

import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from django.contrib.sites.models import Site
from django.contrib.syndication.views import Feed
from django.db import models
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext

from backlinks_django import display, registry
from backlinks_django.models import Backlink


class Subject(NamedTuple):
    """What a feed is about: the current site, and the object (None for the site's feed)."""

    site_id: int
    site_name: str
    obj: models.Model | None
    feed_url: str  # absolute: the feed's id, unique where the page's own URL may not be


def _subject(request: HttpRequest, obj: models.Model | None) -> Subject:
    site = Site.objects.get_current(request)
    return Subject(
        site.pk, str(site.name or site.domain), obj, request.build_absolute_uri(request.path)
    )


def tag_uri(backlink: Backlink) -> str:
    """The backlink's RFC 4151 id: it stays the same whatever its title or link become."""
    host = urlsplit(backlink.target_url).hostname or "localhost"
    return f"tag:{host},{backlink.received_at:%Y-%m-%d}:backlink/{backlink.pk}"


class BacklinkFeed(Feed):  # type: ignore[type-arg]
    """What both feeds share: Atom, one entry per backlink, public fields only."""

    feed_type = Atom1Feed
    # Newest entries in a feed: readers poll, they do not page back.
    limit = 50

    def feed_guid(self, subject: Subject) -> str:
        return subject.feed_url

    def author_name(self, subject: Subject) -> str:
        return subject.site_name

    def item_title(self, item: Backlink) -> str:
        return item.title or gettext("%(type)s from %(host)s") % {
            "type": item.get_mention_type_display(),
            "host": display.source_host(item),
        }

    def item_description(self, item: Backlink) -> str:
        # Django types Atom's summary as "html"; excerpts are stored as plain text.
        return escape(item.excerpt)

    def item_link(self, item: Backlink) -> str:
        return display.link(item)

    def item_guid(self, item: Backlink) -> str:
        return tag_uri(item)

    def item_pubdate(self, item: Backlink) -> datetime.datetime:
        return item.published or item.received_at

    def item_updateddate(self, item: Backlink) -> datetime.datetime:
        return max(item.updated_at, item.received_at)

    def item_author_name(self, item: Backlink) -> str:
        return display.author(item)

    def item_author_link(self, item: Backlink) -> str | None:
        return display.web_link(item.author_url) or None

    def item_categories(self, item: Backlink) -> list[str]:
        return [item.mention_type, item.kind]


class ObjectBacklinksFeed(BacklinkFeed):
    """``feed/<content type id>/<pk>/``: the approved backlinks of one published object."""

    def get_object(self, request: HttpRequest, content_type_id: int, object_pk: str) -> Subject:
        obj = display.published_object(content_type_id, object_pk)
        if obj is None:
            raise Http404("No such published object.")
        return _subject(request, obj)

    def title(self, subject: Subject) -> str:
        return gettext("Responses to %(title)s") % {"title": subject.obj}

    def description(self, subject: Subject) -> str:
        return self.title(subject)

    def link(self, subject: Subject) -> str:
        assert subject.obj is not None
        registration = registry.get_registration(subject.obj)
        assert registration is not None  # published_object() finds registered objects only
        return registration.get_url(subject.obj)

    def items(self, subject: Subject) -> list[Backlink]:
        assert subject.obj is not None
        newest = display.public_backlinks(subject.obj).order_by("-received_at", "-pk")
        return list(newest[: self.limit])


class SiteBacklinksFeed(BacklinkFeed):
    """``feed/``: the current site's newest approved backlinks to objects still published."""

    link = "/"

    def get_object(self, request: HttpRequest) -> Subject:
        return _subject(request, None)

    def title(self, subject: Subject) -> str:
        return gettext("Responses on %(site)s") % {"site": subject.site_name}

    def description(self, subject: Subject) -> str:
        return self.title(subject)

    def items(self, subject: Subject) -> list[Backlink]:
        # One query for the backlinks, one per model of their targets.
        newest = (
            Backlink.objects.approved()
            .filter(site_id=subject.site_id)
            .only(*display.PUBLIC_FIELDS)
            .order_by("-received_at", "-pk")
            .prefetch_related("target")
        )
        return [b for b in newest[: self.limit] if _published(b.target)]

    def item_title(self, item: Backlink) -> str:
        return gettext("%(title)s (on %(target)s)") % {
            "title": super().item_title(item),
            "target": item.target,
        }


def _published(obj: models.Model | None) -> bool:
    registration = registry.get_registration(obj) if obj is not None else None
    return obj is not None and registration is not None and registration.is_published(obj)
