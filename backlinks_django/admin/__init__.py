"""The Django admin: moderation, the inbound queue, the outbound log, the content inlines."""

from backlinks_django.admin.backlinks import BacklinkAdmin, BlockedDomainAdmin, SiteSettingsAdmin
from backlinks_django.admin.inbound import InboundPingAdmin
from backlinks_django.admin.links import LinkForm, LinkFormSet, LinksInline
from backlinks_django.admin.outbound import (
    OutboundPingAdmin,
    TrackbackForm,
    TrackbackFormSet,
    TrackbackInline,
)

__all__ = [
    "BacklinkAdmin",
    "BlockedDomainAdmin",
    "InboundPingAdmin",
    "LinkForm",
    "LinkFormSet",
    "LinksInline",
    "OutboundPingAdmin",
    "SiteSettingsAdmin",
    "TrackbackForm",
    "TrackbackFormSet",
    "TrackbackInline",
]
