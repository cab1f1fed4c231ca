"""Moderation in the Django admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.contenttypes.forms import BaseGenericInlineFormSet
from django.contrib.sites.models import Site
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backlinks_django import limits, moderation, tasks
from backlinks_django.choices import Kind, Outcome
from backlinks_django.models import Backlink, BlockedDomain, OutboundPing, SiteSettings

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    BacklinkModelAdmin = admin.ModelAdmin[Backlink]
    BlockedDomainModelAdmin = admin.ModelAdmin[BlockedDomain]
    SiteSettingsModelAdmin = admin.ModelAdmin[SiteSettings]
    OutboundPingModelAdmin = admin.ModelAdmin[OutboundPing]
    OutboundPingForm = forms.ModelForm[OutboundPing]
    AnyModelAdmin = admin.ModelAdmin[Any]
    TrackbackFormSetBase = BaseGenericInlineFormSet[OutboundPing, forms.ModelForm[OutboundPing]]
else:  # ModelAdmin and ModelForm are generic for type checkers only.
    OutboundPingForm = forms.ModelForm
    BacklinkModelAdmin = BlockedDomainModelAdmin = SiteSettingsModelAdmin = admin.ModelAdmin
    OutboundPingModelAdmin = admin.ModelAdmin
    AnyModelAdmin = object  # a mixin: the ModelAdmin comes later in the bases
    TrackbackFormSetBase = BaseGenericInlineFormSet

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


class RefuseNulParameters(AnyModelAdmin):
    """Changelists answer 400 to a NUL in the query string (``?status__exact=%00``).

    Django validates only the search box; a NUL in a filter value reaches the query, and
    PostgreSQL refuses it with an error (a 500).
    """

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if any("\x00" in f"{key}{''.join(values)}" for key, values in request.GET.lists()):
            return HttpResponseBadRequest(_("Filter values must not contain NUL characters."))
        return super().changelist_view(request, extra_context)


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


@admin.action(description=_("Retry now"), permissions=["change"])
def retry_now(
    modeladmin: OutboundPingModelAdmin, request: HttpRequest, queryset: QuerySet[OutboundPing]
) -> None:
    count = tasks.retry_now(queryset)
    modeladmin.message_user(
        request,
        ngettext("%(count)d ping was queued again.", "%(count)d pings were queued again.", count)
        % {"count": count},
        messages.SUCCESS,
    )


@admin.register(OutboundPing)
class OutboundPingAdmin(RefuseNulParameters, OutboundPingModelAdmin):
    list_display = (
        "target_url",
        "protocol",
        "outcome",
        "fault_code",
        "attempts",
        "source_object",
        "next_attempt_at",
        "updated_at",
    )
    list_filter = ("outcome", "protocol", "requested", "site")
    search_fields = ("target_url", "endpoint", "message")
    actions = (retry_now,)
    readonly_fields = (
        "site",
        "content_type",
        "object_id",
        "target_url",
        "protocol",
        "endpoint",
        "requested",
        "outcome",
        "fault_code",
        "message",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "updated_at",
        "sent_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from saved content, or from the TrackBack inline on the content's admin.
        return False

    @admin.display(description=_("source"))
    def source_object(self, obj: OutboundPing) -> str:
        return f"{obj.content_type.name} {obj.object_id}"


class TrackbackForm(OutboundPingForm):
    target_url = forms.URLField(
        label=_("TrackBack URL"), max_length=limits.URL, assume_scheme="https"
    )

    class Meta:
        model = OutboundPing
        fields = ("target_url",)

    def save(self, commit: bool = True) -> OutboundPing:
        row = super().save(commit=False)
        if row.pk is not None and "target_url" in self.changed_data:
            fresh(row)  # another URL: a new request, whatever the old one's outcome
        row.requested = True
        row.protocol = Kind.TRACKBACK
        row.endpoint = row.target_url
        row.site_id = row.site_id or Site.objects.get_current().pk
        if commit:
            row.save()
        return row


def fresh(row: OutboundPing) -> None:
    """Make ``row`` a request not yet sent; a task still sending it will not record over it."""
    row.outcome, row.attempts, row.message, row.fault_code = Outcome.PENDING, 0, "", None
    row.next_attempt_at = row.claimed_until = None


class TrackbackFormSet(TrackbackFormSetBase):
    """The inline's rows; a URL twice is a form error, a URL the content links to is reused.

    The content's discovered links are rows of the same table (hidden here), and the table
    holds one row per (object, URL).
    """

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        linked = OutboundPing.objects.for_object(self.instance) if self.instance.pk else None
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            url = data.get("target_url")
            if not url or data.get("DELETE"):
                continue
            if url in seen:
                form.add_error("target_url", _("This TrackBack URL is listed twice."))
            seen.add(url)
            if form.instance.pk is None and linked is not None:
                busy = linked.filter(target_url=url).exclude(
                    pk__in=linked.not_in_flight().values("pk")
                )
                if busy.exists():
                    message = _("This link is being pinged right now; save again in a minute.")
                    form.add_error("target_url", message)

    def save_new(self, form: forms.ModelForm[OutboundPing], commit: bool = True) -> OutboundPing:
        linked = OutboundPing.objects.for_object(self.instance).filter(
            target_url=form.cleaned_data["target_url"], requested=False
        )
        row = linked.first()
        if row is None:
            return super().save_new(form, commit=commit)
        # The content links there too: that row becomes the TrackBack request, sent afresh.
        form.instance = row
        row = form.save(commit=False)
        fresh(row)
        if commit:
            row.save()
        return row


class TrackbackInline(GenericTabularInline):
    """ "Send trackbacks to" for a registered model's admin: ``inlines = [TrackbackInline]``."""

    model = OutboundPing
    form = TrackbackForm
    # The stubs type inline formsets as BaseInlineFormSet; generic inlines take this kind.
    formset = TrackbackFormSet  # type: ignore[assignment]
    fields = ("target_url", "outcome", "message", "sent_at")
    readonly_fields = ("outcome", "message", "sent_at")
    extra = 1
    verbose_name = _("TrackBack to send")
    verbose_name_plural = _("Send trackbacks to")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundPing]:
        return super().get_queryset(request).filter(requested=True)
