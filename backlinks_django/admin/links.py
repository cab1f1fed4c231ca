"""The links inline: on a content's admin page, the links it pings, and a box to untick each."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.sites.models import Site
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits, registry, send
from backlinks_django.admin.common import OutboundPingForm, TrackbackFormSetBase
from backlinks_django.choices import Outcome
from backlinks_django.models import OutboundPing, object_lookup


def content_links(obj: models.Model) -> list[str]:
    """The links of a saved registered object's content that the sender would ping."""
    registration = registry.get_registration(obj)
    if registration is None or obj.pk is None:
        return []
    site = Site.objects.get_current()
    return send.links_to_ping(send.source_for(obj, registration, site))


def advertised(row: OutboundPing) -> str:
    """What the link's target advertises, as far as sending has found out."""
    if row.protocol:
        return str(row.get_protocol_display())
    if row.outcome == Outcome.NO_ENDPOINT:
        return str(_("Nothing"))
    if row.pk is None or row.outcome == Outcome.PENDING:
        return str(_("Not discovered yet"))
    return str(_("Unknown: see the outcome"))


class LinkForm(OutboundPingForm):
    """One link: its URL (hidden, fixed once stored) and whether to ping it."""

    target_url = forms.URLField(
        widget=forms.HiddenInput, max_length=limits.URL, assume_scheme="https"
    )
    ping = forms.BooleanField(label=_("Ping"), required=False, initial=True)

    class Meta:
        model = OutboundPing
        fields = ("target_url",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["target_url"].disabled = True
            self.fields["ping"].initial = not self.instance.do_not_ping
        else:
            # The read-only columns show the row's fields: a link not stored yet shows its URL.
            self.instance.target_url = self.initial.get("target_url", "")

    def has_changed(self) -> bool:
        if self.is_bound and self.instance.pk is None:
            # A link with no row yet is stored only when unticked: a ticked one is pinged anyway.
            return not self["ping"].data
        return super().has_changed()

    def save(self, commit: bool = True) -> OutboundPing:
        row = super().save(commit=False)
        row.do_not_ping = not self.cleaned_data["ping"]
        if commit and row.pk is not None:
            # Only the flag: a task may be recording a result on this row right now.
            row.save(update_fields=["do_not_ping", "updated_at"])
        elif commit:
            row.save()
        return row


class LinkFormSet(TrackbackFormSetBase):
    """The object's stored links, then a form for each link of its content not stored yet."""

    @classmethod
    def get_default_prefix(cls) -> str:
        # Apart from the TrackBack inline's, which lists rows of the same table.
        return "backlinks_django-links"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        new: list[str] = []
        if instance is not None and instance.pk is not None:
            stored = set(
                OutboundPing.objects.for_object(instance).values_list("target_url", flat=True)
            )
            new = [url for url in content_links(instance) if url not in stored]
        kwargs["initial"] = [{"target_url": url} for url in new]
        self.extra = len(new)
        super().__init__(*args, **kwargs)
        # No "Add another": the rows are the content's links.
        self.max_num = len(self.get_queryset()) + self.extra

    def save_new(self, form: forms.ModelForm[OutboundPing], commit: bool = True) -> OutboundPing:
        # A task may have stored the link since the page was shown: flag that row.
        row, created = OutboundPing.objects.get_or_create(
            **object_lookup(self.instance),
            target_url=form.cleaned_data["target_url"],
            defaults={"site": Site.objects.get_current(), "do_not_ping": True},
        )
        if not created:
            OutboundPing.objects.filter(pk=row.pk).update(do_not_ping=True)
        form.instance = row
        return row


class LinksInline(GenericTabularInline):
    """ "Links to ping" for a registered model's admin: ``inlines = [LinksInline]``.

    Lists the links found in the saved content, what each target advertises once sending has
    discovered it, and a *Ping* box; an unticked link is never pinged for this object.
    """

    model = OutboundPing
    form = LinkForm
    formset = LinkFormSet  # type: ignore[assignment]
    fields = ("link", "advertises", "outcome", "sent_at", "ping", "target_url")
    readonly_fields = ("link", "advertises", "outcome", "sent_at")
    extra = 0
    can_delete = False
    verbose_name = _("link to ping")
    verbose_name_plural = _("Links to ping")

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboundPing]:
        # Not the inherited one, which asks for permissions without the object (see below);
        # the admin shows the inline only to users who may see it on this object.
        return OutboundPing.objects.filter(requested=False).order_by("pk")

    # The add page has no saved content, hence no links: no inline there.

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a row is the link's record; untick it instead

    @admin.display(description=_("link"))
    def link(self, row: OutboundPing) -> str:
        if not row.target_url:
            return "-"
        return format_html('<a href="{}" rel="noreferrer">{}</a>', row.target_url, row.target_url)

    @admin.display(description=_("target advertises"))
    def advertises(self, row: OutboundPing) -> str:
        return advertised(row)
