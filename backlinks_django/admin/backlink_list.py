"""The backlink changelist's rows: what an editor decides from, and the per-row buttons.

Each row shows the source's title, domain and a short excerpt, the target's title, the status
and the date in three columns, so that the list fits a 1280-pixel screen with the admin's
sidebar open. The buttons (Approve, Spam, Reject…) post to one view per backlink, which calls
:mod:`backlinks_django.moderation` as the bulk actions do, then returns to the same filtered list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backlinks_django import moderation
from backlinks_django.choices import Status
from backlinks_django.models import Backlink

if TYPE_CHECKING:
    from django.utils.safestring import SafeString
    from django_stubs_ext import StrOrPromise

    from backlinks_django.admin.common import BacklinkModelAdmin

EXCERPT_CHARS = 160
MESSAGE_TITLE_CHARS = 100


@dataclass(frozen=True)
class Step:
    """One per-row button: the moderation function it calls, and what it says."""

    name: str
    function: Callable[[QuerySet[Backlink]], int]
    status: Status
    label: StrOrPromise
    done: StrOrPromise  # the message after it, with %(title)s


STEPS = {
    step.name: step
    for step in (
        Step(
            "approve", moderation.approve, Status.APPROVED, _("Approve"), _("Approved: %(title)s")
        ),
        Step(
            "unapprove",
            moderation.unapprove,
            Status.PENDING,
            _("Unapprove"),
            _("Moved back to pending: %(title)s"),
        ),
        Step("spam", moderation.mark_spam, Status.SPAM, _("Spam"), _("Marked as spam: %(title)s")),
        Step("reject", moderation.reject, Status.REJECTED, _("Reject"), _("Rejected: %(title)s")),
    )
}


def steps_for(backlink: Backlink) -> list[Step]:
    """The buttons a row offers: every step that would change its status."""
    offered = [step for step in STEPS.values() if step.status != backlink.status]
    if backlink.status == Status.SPAM:
        # Back to pending reads "Not spam" there (WordPress's word).
        return [
            Step(s.name, s.function, s.status, _("Not spam"), s.done)
            if s.name == "unapprove"
            else s
            for s in offered
        ]
    return offered


def title_of(backlink: Backlink) -> str:
    return backlink.title or backlink.source_url


def row_buttons(backlink: Backlink, action_url: str) -> SafeString:
    """The row's buttons: they submit the changelist's form (its CSRF token) to ``action_url``.

    A form of their own cannot nest in the changelist's form, hence ``formaction``.
    """
    return format_html(
        '<div class="backlinks-row-actions" role="group" aria-label="{}">{}</div>',
        gettext("Moderate"),
        format_html_join(
            "",
            '<button type="submit" class="button backlinks-step backlinks-step-{}" name="step"'
            ' value="{}" formaction="{}" formmethod="post"'
            ' aria-describedby="backlink-{}-title">{}</button>',
            ((s.name, s.name, action_url, backlink.pk, s.label) for s in steps_for(backlink)),
        ),
    )


def source_cell(backlink: Backlink, change_url: str, buttons: SafeString | str = "") -> SafeString:
    """Title (to the backlink's page), domain, kind, author, a short excerpt, the buttons."""
    details = [backlink.get_kind_display()]
    if backlink.mention_type and backlink.mention_type != "mention":
        details.append(backlink.get_mention_type_display())
    if backlink.author_name:
        details.append(gettext("by %(author)s") % {"author": backlink.author_name})
    elif backlink.blog_name:
        details.append(backlink.blog_name)
    excerpt = Truncator(" ".join(backlink.excerpt.split())).chars(EXCERPT_CHARS)
    return format_html(
        '<div class="backlinks-entry">'
        '<a class="backlinks-entry-title" id="backlink-{}-title" href="{}">{}</a>'
        '<div class="backlinks-entry-meta"><a class="backlinks-entry-domain" href="{}"'
        ' rel="nofollow noopener noreferrer">{}</a> · {}</div>'
        "{}{}</div>",
        backlink.pk,
        change_url,
        title_of(backlink),
        backlink.source_url,
        backlink.source_domain or backlink.source_url,
        " · ".join(str(d) for d in details),
        format_html('<p class="backlinks-entry-excerpt">{}</p>', excerpt) if excerpt else "",
        buttons,
    )


def target_cell(backlink: Backlink) -> SafeString:
    """The target's title (its object, prefetched) linking to the target URL."""
    target = backlink.target
    label = str(target) if target is not None else backlink.target_url
    return format_html(
        '<a class="backlinks-target" href="{}" rel="noopener">{}</a>', backlink.target_url, label
    )


def status_cell(backlink: Backlink) -> SafeString:
    """The status (and why a check held it), then when it was received."""
    return format_html(
        '<span class="backlinks-status backlinks-status-{}">{}</span>{}'
        '<time class="backlinks-received" datetime="{}">{}</time>',
        backlink.status,
        backlink.get_status_display(),
        format_html('<span class="backlinks-reason">{}</span>', backlink.reason)
        if backlink.reason
        else "",
        backlink.received_at.isoformat(),
        date_format(localtime(backlink.received_at), "SHORT_DATETIME_FORMAT"),
    )


def source_column(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, *, may_moderate: bool
) -> Callable[[Backlink], SafeString]:
    """The source column for this request: its links keep the list's filters, and it has the
    buttons when the user may moderate."""
    opts = modeladmin.opts
    site = modeladmin.admin_site.name
    # A row's pages are under the changelist's URL (as Django's admin lays them out): one
    # reverse() per page rather than two per row.
    changelist = reverse(f"{site}:{opts.app_label}_{opts.model_name}_changelist")
    filters = modeladmin.get_preserved_filters(request)
    query = f"?{filters}" if filters else ""

    def url(name: str, backlink: Backlink) -> str:
        return f"{changelist}{quote(backlink.pk)}/{name}/{query}"

    @admin.display(description=_("source"), ordering="title")
    def source_summary(backlink: Backlink) -> SafeString:
        buttons = row_buttons(backlink, url("moderate", backlink)) if may_moderate else ""
        return source_cell(backlink, url("change", backlink), buttons)

    return source_summary


def moderate_view(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    """One row's button, for a user who may moderate: POST ``step``; then back to the
    changelist with its filters."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    step = STEPS.get(request.POST.get("step", ""))
    if step is None:
        return HttpResponseBadRequest(gettext("Unknown moderation step."))
    backlink = modeladmin.get_object(request, unquote(object_id))
    opts = modeladmin.opts
    site = modeladmin.admin_site.name
    changelist = reverse(f"{site}:{opts.app_label}_{opts.model_name}_changelist")
    filters = request.GET.get("_changelist_filters", "")
    back = HttpResponseRedirect(f"{changelist}?{filters}" if filters else changelist)
    if backlink is None:
        message = gettext("That backlink no longer exists.")
        modeladmin.message_user(request, message, messages.WARNING)
        return back
    title = Truncator(title_of(backlink)).chars(MESSAGE_TITLE_CHARS)
    if step.function(Backlink.objects.filter(pk=backlink.pk)):
        modeladmin.message_user(request, str(step.done) % {"title": title}, messages.SUCCESS)
    else:
        unchanged = gettext("No change: %(title)s was already %(status)s.") % {
            "title": title,
            "status": step.status.label.lower(),
        }
        modeladmin.message_user(request, unchanged, messages.INFO)
    return back
