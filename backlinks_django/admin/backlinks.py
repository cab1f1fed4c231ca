"""Moderating received backlinks: their changelist and actions, blocked domains, site switches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backlinks_django import moderation
from backlinks_django.admin.common import (
    BacklinkModelAdmin,
    BlockedDomainModelAdmin,
    RefuseNulParameters,
    SiteSettingsModelAdmin,
)
from backlinks_django.models import Backlink, BlockedDomain, SiteSettings

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

READ_ONLY_FIELDS = (
    "kind",
    "mention_type",
    "status",
    "reason",
    "site",
    "target_link",
    "source_link",
    "title",
    "excerpt",
    "blog_name",
    "author_name",
    "author_url",
    "author_photo",
    "published",
    "original_url",
    "remote_ip",
    "user_agent",
    "received_at",
    "updated_at",
)


def _status_action(
    step: Callable[[QuerySet[Backlink]], int],
    description: StrOrPromise,
    message: Callable[[int], str],
) -> Callable[[BacklinkModelAdmin, HttpRequest, QuerySet[Backlink]], None]:
    @admin.action(description=description, permissions=["moderate"])
    def action(
        modeladmin: BacklinkModelAdmin, request: HttpRequest, queryset: QuerySet[Backlink]
    ) -> None:
        count = step(queryset)
        modeladmin.message_user(request, message(count) % {"count": count}, messages.SUCCESS)

    action.__name__ = step.__name__
    return action


approve = _status_action(
    moderation.approve,
    _("Approve selected backlinks"),
    lambda n: ngettext(
        "%(count)d backlink was approved.", "%(count)d backlinks were approved.", n
    ),
)
unapprove = _status_action(
    moderation.unapprove,
    _("Unapprove selected backlinks (back to pending)"),
    lambda n: ngettext(
        "%(count)d backlink was moved back to pending.",
        "%(count)d backlinks were moved back to pending.",
        n,
    ),
)
mark_spam = _status_action(
    moderation.mark_spam,
    _("Mark selected backlinks as spam"),
    lambda n: ngettext(
        "%(count)d backlink was marked as spam.", "%(count)d backlinks were marked as spam.", n
    ),
)
reject = _status_action(
    moderation.reject,
    _("Reject selected backlinks"),
    lambda n: ngettext(
        "%(count)d backlink was rejected.", "%(count)d backlinks were rejected.", n
    ),
)


@admin.action(
    description=_("Block the source domains of selected backlinks"), permissions=["moderate"]
)
def block_domain(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, queryset: QuerySet[Backlink]
) -> None:
    domains = {b.source_domain for b in queryset.select_related(None).only("source_url")}
    blocked, count = moderation.block_domains(domains)
    if not blocked:
        message = _("The selected backlinks have no domain that can be blocked.")
        modeladmin.message_user(request, message, messages.WARNING)
        return
    modeladmin.message_user(
        request,
        ngettext(
            "Blocked %(domains)s; %(count)d backlink was marked as spam.",
            "Blocked %(domains)s; %(count)d backlinks were marked as spam.",
            count,
        )
        % {"domains": ", ".join(blocked), "count": count},
        messages.SUCCESS,
    )


@admin.register(Backlink)
class BacklinkAdmin(RefuseNulParameters, BacklinkModelAdmin):
    list_display = (
        "title_or_source",
        "kind",
        "mention_type",
        "author_name",
        "status",
        "source_domain",
        "target_link",
        "received_at",
    )
    list_filter = ("status", "kind", "mention_type", "site", "received_at")
    search_fields = ("source_url", "title", "excerpt", "blog_name", "author_name", "target_url")
    actions = (approve, unapprove, mark_spam, reject, block_domain)
    # At a million rows, counting them all and listing their dates cost more than the page.
    show_full_result_count = False
    fields = READ_ONLY_FIELDS
    readonly_fields = READ_ONLY_FIELDS
    list_select_related = ("site",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Backlinks come from other sites only.
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backlinks_django.moderate_backlink")

    @admin.display(description=_("title"), ordering="title")
    def title_or_source(self, obj: Backlink) -> str:
        return obj.title or obj.source_url

    @admin.display(description=_("source domain"))
    def source_domain(self, obj: Backlink) -> str:
        return obj.source_domain

    @admin.display(description=_("target"), ordering="target_url")
    def target_link(self, obj: Backlink) -> str:
        return format_html('<a href="{}" rel="noopener">{}</a>', obj.target_url, obj.target_url)

    @admin.display(description=_("source"))
    def source_link(self, obj: Backlink) -> str:
        return format_html(
            '<a href="{}" rel="nofollow noopener noreferrer">{}</a>',
            obj.source_url,
            obj.source_url,
        )


@admin.register(BlockedDomain)
class BlockedDomainAdmin(RefuseNulParameters, BlockedDomainModelAdmin):
    list_display = ("domain", "created_at")
    search_fields = ("domain",)


@admin.register(SiteSettings)
class SiteSettingsAdmin(RefuseNulParameters, SiteSettingsModelAdmin):
    list_display = (
        "site",
        "receive_pingbacks",
        "receive_trackbacks",
        "send_pings",
        "self_pings",
        "moderation",
    )
    list_editable = (
        "receive_pingbacks",
        "receive_trackbacks",
        "send_pings",
        "self_pings",
        "moderation",
    )
