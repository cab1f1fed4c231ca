"""The app's models, and the enumerations their fields store, importable from one place."""

from backlinks_django.choices import Kind, MentionType, ModerationPolicy, Outcome, Status
from backlinks_django.models.backlinks import (
    Backlink,
    BacklinkQuerySet,
    BlockedDomain,
    stored_twin,
)
from backlinks_django.models.generic import object_lookup
from backlinks_django.models.inbound import InboundPing, InboundPingQuerySet
from backlinks_django.models.outbound import Claim, OutboundPing, OutboundPingQuerySet
from backlinks_django.models.sites import SiteSettings, SiteSettingsManager

__all__ = [
    "Backlink",
    "BacklinkQuerySet",
    "BlockedDomain",
    "Claim",
    "InboundPing",
    "InboundPingQuerySet",
    "Kind",
    "MentionType",
    "ModerationPolicy",
    "OutboundPing",
    "OutboundPingQuerySet",
    "Outcome",
    "SiteSettings",
    "SiteSettingsManager",
    "Status",
    "object_lookup",
    "stored_twin",
]
