"""The inbound queue, read-only: what waits for verification, and why a queued ping was refused."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backlinks_django.admin.common import InboundPingModelAdmin, RefuseNulParameters
from backlinks_django.models import InboundPing


@admin.register(InboundPing)
class InboundPingAdmin(RefuseNulParameters, InboundPingModelAdmin):
    list_display = (
        "source_url",
        "target_url",
        "kind",
        "state",
        "sender",
        "attempts",
        "received_at",
        "detail",
    )
    list_filter = ("state", "kind", "site")
    search_fields = ("source_url", "target_url", "sender", "source_domain")
    date_hierarchy = "received_at"
    list_select_related = ("site",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in InboundPing._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
