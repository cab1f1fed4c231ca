"""What the app's admin classes share: generic ModelAdmin aliases and the NUL-filter guard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.contrib.contenttypes.forms import BaseGenericInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext_lazy as _

from backlinks_django.models import (
    Backlink,
    BlockedDomain,
    InboundPing,
    OutboundPing,
    SiteSettings,
)

if TYPE_CHECKING:
    BacklinkModelAdmin = admin.ModelAdmin[Backlink]
    BlockedDomainModelAdmin = admin.ModelAdmin[BlockedDomain]
    InboundPingModelAdmin = admin.ModelAdmin[InboundPing]
    SiteSettingsModelAdmin = admin.ModelAdmin[SiteSettings]
    OutboundPingModelAdmin = admin.ModelAdmin[OutboundPing]
    OutboundPingForm = forms.ModelForm[OutboundPing]
    AnyModelAdmin = admin.ModelAdmin[Any]
    TrackbackFormSetBase = BaseGenericInlineFormSet[OutboundPing, forms.ModelForm[OutboundPing]]
else:  # ModelAdmin and ModelForm are generic for type checkers only.
    OutboundPingForm = forms.ModelForm
    BacklinkModelAdmin = BlockedDomainModelAdmin = SiteSettingsModelAdmin = admin.ModelAdmin
    OutboundPingModelAdmin = admin.ModelAdmin
    InboundPingModelAdmin = admin.ModelAdmin
    AnyModelAdmin = object  # a mixin: the ModelAdmin comes later in the bases
    TrackbackFormSetBase = BaseGenericInlineFormSet


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
