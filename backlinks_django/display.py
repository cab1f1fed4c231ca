"""What readers see: published objects' approved backlinks, grouped and named for display."""

from __future__ import annotations

import datetime
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

from backlinks_django import registry
from backlinks_django.choices import Kind, MentionType
from backlinks_django.models import Backlink, BacklinkQuerySet
from backlinks_django.weburl import has_control_chars

# What a public page, feed or API may show: no IP, no user agent, no moderation reason, and
# not the author photo's remote URL (readers get the stored copy, ``avatar``).
PUBLIC_FIELDS = (
    "id",
    "kind",
    "mention_type",
    "content_type",
    "object_id",
    "target_url",
    "source_url",
    "title",
    "excerpt",
    "blog_name",
    "author_name",
    "author_url",
    "avatar",
    "published",
    "original_url",
    "received_at",
    "updated_at",
)
# How many colours the generated avatars cycle through (``backlinks-tone-0`` … ``-7`` in CSS).
TONES = 8


def public_backlinks(obj: models.Model) -> BacklinkQuerySet:
    """``obj``'s approved backlinks, oldest first, with only the public fields loaded."""
    return (
        Backlink.objects.for_object(obj)
        .approved()
        .only(*PUBLIC_FIELDS)
        .order_by("received_at", "pk")
    )


def published_object(content_type_id: int, object_pk: str) -> models.Model | None:
    """The registered, published object these URL arguments name, or None."""
    if has_control_chars(object_pk):
        return None  # a decoded "%00" names nothing, and must not reach the database
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        return None
    registration = registry.get_registration(model) if model is not None else None
    if model is None or registration is None:
        return None
    try:
        obj = model._default_manager.get(pk=object_pk)
    except (ObjectDoesNotExist, ValueError, ValidationError, OverflowError):
        return None
    return obj if registration.is_published(obj) else None


@dataclass(frozen=True)
class Item:
    """One backlink as a page shows it: the links and names worked out once."""

    backlink: Backlink

    @property
    def link(self) -> str:
        return link(self.backlink)

    @property
    def author(self) -> str:
        return author(self.backlink)

    @property
    def author_url(self) -> str:
        return web_link(self.backlink.author_url)

    @property
    def photo(self) -> str:
        """The stored copy of the author photo, or "" (the template then draws initials)."""
        return photo_url(self.backlink)

    @property
    def initial(self) -> str:
        return initial(self.author)

    @property
    def tone(self) -> int:
        return tone(self.author)

    @property
    def date(self) -> datetime.datetime:
        """When the source says it was published, else when it reached us."""
        return self.backlink.published or self.backlink.received_at


@dataclass
class Groups:
    """Backlinks sorted into the shapes a page shows them in."""

    cards: list[Item] = field(default_factory=list)  # replies, and Webmention mentions
    likes: list[Item] = field(default_factory=list)
    reposts: list[Item] = field(default_factory=list)
    compact: list[Item] = field(default_factory=list)  # plain pingbacks and TrackBacks

    @property
    def total(self) -> int:
        return len(self.cards) + len(self.likes) + len(self.reposts) + len(self.compact)


def group(backlinks: list[Backlink]) -> Groups:
    """Likes and reposts to facepiles, replies and Webmentions to cards, the rest compact.

    A reply is a card whatever protocol carried it: pingbacks read microformats too.
    """
    groups = Groups()
    for backlink in backlinks:
        item = Item(backlink)
        if backlink.mention_type == MentionType.LIKE:
            groups.likes.append(item)
        elif backlink.mention_type == MentionType.REPOST:
            groups.reposts.append(item)
        elif backlink.mention_type == MentionType.REPLY or backlink.kind == Kind.WEBMENTION:
            groups.cards.append(item)
        else:
            groups.compact.append(item)
    return groups


def web_link(url: str) -> str:
    """``url`` if it is an http(s) URL, else "": only those go into ``href`` and ``src``."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def photo_url(backlink: Backlink) -> str:
    """The URL of the author photo's copy in this site's storage, or "" when none is kept.

    Never the remote photo itself: loading it would tell its server who reads the page.
    """
    return backlink.avatar.url if backlink.avatar else ""


def link(backlink: Backlink) -> str:
    """Where a reader goes: the original post (its ``u-url``) when known, else the source."""
    return web_link(backlink.original_url) or backlink.source_url


def source_host(backlink: Backlink) -> str:
    """The source's host name, without ``www.``."""
    return backlink.source_domain.removeprefix("www.")


def author(backlink: Backlink) -> str:
    """Who to credit: the author, else the blog, else the source's host."""
    return backlink.author_name or backlink.blog_name or source_host(backlink)


def initial(name: str) -> str:
    """The first letter or digit of ``name``, upper-cased, for a generated avatar."""
    return next((char.upper() for char in name if char.isalnum()), "?")


def tone(name: str) -> int:
    """A stable colour index for ``name``'s generated avatar."""
    return zlib.crc32(name.casefold().encode()) % TONES
