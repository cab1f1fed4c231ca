"""Moderating received backlinks: their changelist and actions, blocked domains, site switches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from backlinks_django import moderation, privacy
from backlinks_django.admin import backlink_list
from backlinks_django.admin.common import (
    BacklinkModelAdmin,
    BlockedDomainModelAdmin,
    RefuseNulParameters,
    SiteSettingsModelAdmin,
)
from backlinks_django.choices import Status
from backlinks_django.models import Backlink, BlockedDomain, SiteSettings

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices
    from django.contrib.admin.views.main import ChangeList
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


# Values offered per kind on the personal-data page, whatever the number of rows selected.
_CANDIDATES = 100


def _candidates(queryset: QuerySet[Backlink]) -> list[tuple[str, str, bool]]:
    """What identifies the senders of these backlinks, as (kind:value, label, checked): exact
    addresses and author URLs checked, source hosts (subdomains included, so one may be a
    shared host's) not."""
    rows = queryset.order_by()
    ips = rows.exclude(remote_ip=None).values_list("remote_ip", flat=True).distinct()
    authors = rows.exclude(author_url="").values_list("author_url", flat=True).distinct()
    sources = rows.values_list("source_url", flat=True).distinct()
    hosts = {Backlink(source_url=url).source_domain for url in sources[: _CANDIDATES * 10]}
    return (
        [
            (f"ip:{ip}", gettext("IP address %(value)s") % {"value": ip}, True)
            for ip in ips[:_CANDIDATES]
        ]
        + [
            (f"author_url:{url}", gettext("author URL %(value)s") % {"value": url}, True)
            for url in authors[:_CANDIDATES]
        ]
        + [
            (
                f"domain:{host}",
                gettext("domain %(value)s and its subdomains") % {"value": host},
                False,
            )
            for host in sorted(hosts - {""})[:_CANDIDATES]
        ]
    )


def _selector(request: HttpRequest) -> privacy.Selector | None:
    """The selector the personal-data page's form chose; None if it chose nothing."""
    values: dict[str, list[str]] = {"ip": [], "domain": [], "author_url": [], "email": []}
    for choice in request.POST.getlist("selector"):
        kind, _sep, value = choice.partition(":")
        if kind in values:
            values[kind].append(value)
    values["email"] += [e for e in request.POST.get("email", "").split() if e]
    if not any(values.values()):
        return None
    return privacy.Selector(
        ips=tuple(values["ip"]),
        domains=tuple(values["domain"]),
        author_urls=tuple(values["author_url"]),
        emails=tuple(values["email"]),
    )


def _personal_data(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, queryset: QuerySet[Backlink], job: str
) -> HttpResponse | None:
    """The page choosing whose data to export or erase, then the export or the erasure."""
    if request.POST.get("post") == "yes":
        try:
            selector = _selector(request)
        except privacy.InvalidSelector as error:
            modeladmin.message_user(request, str(error), messages.ERROR)
            return None
        if selector is None:
            nothing = _("Nothing was chosen: no personal data was exported or erased.")
            modeladmin.message_user(request, nothing, messages.WARNING)
            return None
        if job == "export":
            response = HttpResponse(
                privacy.export_json(privacy.export(selector)),
                content_type="application/json; charset=utf-8",
            )
            response["Content-Disposition"] = 'attachment; filename="personal-data.json"'
            return response
        modeladmin.message_user(request, _erased(privacy.erase(selector)), messages.SUCCESS)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Export personal data") if job == "export" else _("Erase personal data"),
        "job": job,
        "action": request.POST.get("action", ""),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "candidates": _candidates(queryset),
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/backlinks_django/backlink/personal_data.html", context)


def _erased(erased: privacy.Erasure) -> str:
    """What an erasure did, per table, for the admin's message."""
    counts = [f"{label}: {count}" for label, count in sorted(erased.deleted.items())]
    message = gettext("Erased %(deleted)s.") % {"deleted": ", ".join(counts) or gettext("nothing")}
    kept = [f"{label}: {count} ({why})" for label, (count, why) in erased.kept.items()]
    if kept:
        message += " " + gettext("Kept %(kept)s.") % {"kept": ", ".join(kept)}
    return message


@admin.action(description=_("Export personal data of the senders…"), permissions=["moderate"])
def export_personal_data(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, queryset: QuerySet[Backlink]
) -> HttpResponse | None:
    return _personal_data(modeladmin, request, queryset, "export")


@admin.action(description=_("Erase personal data of the senders…"), permissions=["delete"])
def erase_personal_data(
    modeladmin: BacklinkModelAdmin, request: HttpRequest, queryset: QuerySet[Backlink]
) -> HttpResponse | None:
    return _personal_data(modeladmin, request, queryset, "erase")


class StatusListFilter(admin.ChoicesFieldListFilter):
    """The status filter, with the number of backlinks waiting: "Pending (3)"."""

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        for choice in super().choices(changelist):
            if str(choice["display"]) == str(Status.PENDING.label):
                count = Backlink.objects.pending().count()
                choice["display"] = gettext("%(status)s (%(count)d)") % {
                    "status": Status.PENDING.label,
                    "count": count,
                }
            yield choice


@admin.register(Backlink)
class BacklinkAdmin(RefuseNulParameters, BacklinkModelAdmin):
    # Three columns an editor decides from, narrow enough for 1280 pixels with the admin's
    # sidebar and the filters open; the source column gets its per-row buttons per request.
    list_display = ("source_summary", "target_summary", "status_summary")
    list_display_links = None  # the title in the source column links to the backlink
    list_filter = (("status", StatusListFilter), "kind", "mention_type", "site", "received_at")
    search_fields = ("source_url", "title", "excerpt", "blog_name", "author_name", "target_url")
    actions = (
        approve,
        unapprove,
        mark_spam,
        reject,
        block_domain,
        export_personal_data,
        erase_personal_data,
    )
    # At a million rows, counting them all and listing their dates cost more than the page.
    show_full_result_count = False
    fields = READ_ONLY_FIELDS
    readonly_fields = READ_ONLY_FIELDS
    list_select_related = ("site",)

    class Media:
        css = {"all": ("backlinks_django/admin.css",)}

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        moderate = path(
            "<path:object_id>/moderate/",
            self.admin_site.admin_view(self.moderate_view),
            name=f"{opts.app_label}_{opts.model_name}_moderate",
        )
        # Before the inherited patterns, whose "<path:object_id>/" would take it.
        return [moderate, *super().get_urls()]

    def moderate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A row's Approve, Spam, Reject… button (POST)."""
        if not self.has_moderate_permission(request):
            raise PermissionDenied
        return backlink_list.moderate_view(self, request, object_id)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Backlink]:
        # The target column shows each target's title: one query per target model.
        return super().get_queryset(request).prefetch_related("target")

    def get_list_display(self, request: HttpRequest) -> list[Callable[[Any], str | bool] | str]:
        may_moderate = self.has_moderate_permission(request)
        return [
            backlink_list.source_column(self, request, may_moderate=may_moderate)
            if name == "source_summary"
            else name
            for name in super().get_list_display(request)
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Backlinks come from other sites only.
        return False

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backlinks_django.moderate_backlink")

    @admin.display(description=_("source"), ordering="title")
    def source_summary(self, obj: Backlink) -> str:
        return backlink_list.source_cell(obj, "")

    @admin.display(description=_("target"), ordering="target_url")
    def target_summary(self, obj: Backlink) -> str:
        return backlink_list.target_cell(obj)

    @admin.display(description=_("status, received"), ordering="received_at")
    def status_summary(self, obj: Backlink) -> str:
        return backlink_list.status_cell(obj)

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
