"""The outbound log's rows: which link, in which content, and what pinging it gave, in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext

from backlinks_django import results
from backlinks_django.models import OutboundPing

if TYPE_CHECKING:
    from django.utils.safestring import SafeString

    from backlinks_django.admin.common import OutboundPingModelAdmin


def _admin_url(modeladmin: OutboundPingModelAdmin, obj: object, view: str) -> str:
    """The admin page of ``obj`` on this admin site, or "" if it has none."""
    opts = obj._meta  # type: ignore[attr-defined]
    try:
        return reverse(
            f"{modeladmin.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}",
            args=[obj.pk],  # type: ignore[attr-defined]
        )
    except NoReverseMatch:
        return ""


def link_cell(modeladmin: OutboundPingModelAdmin, row: OutboundPing) -> SafeString:
    """The linked URL (to the row's page), then the content it is in (to that content's page)."""
    source = row.source
    if source is None:
        content: SafeString | str = f"{row.content_type.name} {row.object_id}"
    else:
        url = _admin_url(modeladmin, source, "change")
        content = format_html('<a href="{}">{}</a>', url, source) if url else str(source)
    # Translators: {content} is the content's title, a link; keep the braces.
    if row.requested:
        where = gettext("TrackBack an editor asked for, from {content}")
    else:
        where = gettext("in {content}")
    return format_html(
        '<a class="backlinks-link-target" href="{}">{}</a>'
        '<span class="backlinks-link-source">{}</span>',
        _admin_url(modeladmin, row, "change"),
        row.target_url,
        format_html(where, content=content),
    )


def outcome_cell(row: OutboundPing) -> SafeString:
    """The outcome in words ("Delivered (already registered there)"), then how and when."""
    details = []
    if row.do_not_ping:
        details.append(gettext("unticked: never pinged"))
    if row.protocol:
        details.append(gettext("by %(protocol)s") % {"protocol": row.get_protocol_display()})
    if row.attempts:
        details.append(
            ngettext("%(count)d attempt", "%(count)d attempts", row.attempts)
            % {"count": row.attempts}
        )
    if row.next_attempt_at is not None:
        when = date_format(localtime(row.next_attempt_at), "SHORT_DATETIME_FORMAT")
        details.append(gettext("next attempt %(when)s") % {"when": when})
    return format_html(
        '<span class="backlinks-outcome backlinks-outcome-{}">{}</span>'
        '<span class="backlinks-outcome-detail">{}</span>',
        row.outcome,
        results.describe(row.outcome, row.fault_code),
        " · ".join(details),
    )
