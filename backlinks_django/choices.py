"""The enumerations stored in the app's fields, importable without the ORM models."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """How a backlink arrived, and which protocol an outbound ping went out with."""

    PINGBACK = "pingback", _("Pingback")
    TRACKBACK = "trackback", _("TrackBack")
    WEBMENTION = "webmention", _("Webmention")


class Protocol(models.TextChoices):
    """Which protocol an outbound ping went out with: a backlink's kind, or an update service."""

    PINGBACK = Kind.PINGBACK.value, _("Pingback")
    TRACKBACK = Kind.TRACKBACK.value, _("TrackBack")
    WEBMENTION = Kind.WEBMENTION.value, _("Webmention")
    # weblogUpdates.ping / extendedPing: "this site has new content", told to a service
    # (Ping-O-Matic and the like) rather than to a linked page.
    UPDATE_SERVICE = "weblogupdates", _("Update service")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    SPAM = "spam", _("Spam")
    REJECTED = "rejected", _("Rejected")
    # The source no longer links here (410 Gone, or the link was removed).
    REMOVED = "removed", _("Removed at source")


class MentionType(models.TextChoices):
    MENTION = "mention", _("Mention")
    REPLY = "reply", _("Reply")
    LIKE = "like", _("Like")
    REPOST = "repost", _("Repost")
    BOOKMARK = "bookmark", _("Bookmark")


class Outcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCESS = "success", _("Delivered")
    FAULT = "fault", _("Fault")
    REJECTED = "rejected", _("Rejected by peer")
    HTTP_ERROR = "http_error", _("HTTP error")
    TIMEOUT = "timeout", _("Timeout")
    UNREACHABLE = "unreachable", _("Unreachable")
    NO_ENDPOINT = "no_endpoint", _("No endpoint")
    SKIPPED = "skipped", _("Skipped")


class ModerationPolicy(models.TextChoices):
    """A site's rule for backlinks that passed verification and the spam checks."""

    HOLD = "hold", _("Hold every backlink for moderation")
    AUTO_APPROVE = "auto", _("Approve backlinks that passed verification and checks")
