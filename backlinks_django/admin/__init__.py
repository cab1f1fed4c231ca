"""The app's Django admin: moderation of backlinks, the outbound log, the TrackBack inline."""

from backlinks_django.admin.backlinks import BacklinkAdmin, BlockedDomainAdmin, SiteSettingsAdmin
from backlinks_django.admin.outbound import (
    OutboundPingAdmin,
    TrackbackForm,
    TrackbackFormSet,
    TrackbackInline,
)

__all__ = [
    "BacklinkAdmin",
    "BlockedDomainAdmin",
    "OutboundPingAdmin",
    "SiteSettingsAdmin",
    "TrackbackForm",
    "TrackbackFormSet",
    "TrackbackInline",
]
