"""The outbound log and the TrackBack inline through which editors send TrackBacks."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.sites.models import Site
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backlinks_django import limits, results, tasks
from backlinks_django.admin import outbound_list
from backlinks_django.admin.common import (
    OutboundPingForm,
    OutboundPingModelAdmin,
    RefuseNulParameters,
    TrackbackFormSetBase,
)
from backlinks_django.choices import Kind, Outcome
from backlinks_django.models import OutboundPing


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
    # Three columns that fit 1280 pixels with the admin's sidebar and the filters open.
    list_display = ("link_summary", "outcome_summary", "updated")
    list_display_links = None  # the link column links to the row's page
    list_filter = ("outcome", "protocol", "requested", "do_not_ping", "site")
    search_fields = ("target_url", "endpoint", "message")
    actions = (retry_now,)
    list_select_related = ("content_type",)
    readonly_fields = (
        "site",
        "content_type",
        "object_id",
        "target_url",
        "protocol",
        "endpoint",
        "requested",
        "do_not_ping",
        "outcome_text",
        "message",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "created_at",
        "updated_at",
        "sent_at",
    )
    exclude = ("outcome", "fault_code")  # said in words by outcome_text

    class Media:
        css = {"all": ("backlinks_django/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundPing]:
        # The link column names the content each link is in: one query per content model.
        return super().get_queryset(request).prefetch_related("source")

    @admin.display(description=_("link"), ordering="target_url")
    def link_summary(self, obj: OutboundPing) -> str:
        return outbound_list.link_cell(self, obj)

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_summary(self, obj: OutboundPing) -> str:
        return outbound_list.outcome_cell(obj)

    @admin.display(description=_("updated"), ordering="updated_at")
    def updated(self, obj: OutboundPing) -> str:
        return date_format(localtime(obj.updated_at), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("outcome"))
    def outcome_text(self, obj: OutboundPing) -> str:
        return results.describe(obj.outcome, obj.fault_code)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows come from saved content, or from the TrackBack inline on the content's admin.
        return False


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
        row.do_not_ping = False  # asked for by name: an untick of the same link is undone
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
