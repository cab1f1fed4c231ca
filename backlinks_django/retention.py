"""Retention: old senders' addresses cleared, old queue rows and orphaned backlinks deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from backlinks_django import batches, inbound
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink, InboundPing

__all__ = ["Retention", "apply_retention", "delete_orphans"]

_WAITING = [InboundPing.State.QUEUED, InboundPing.State.VERIFYING]


@dataclass(frozen=True)
class Retention:
    """What one retention run changed."""

    backlinks_cleared: int = 0
    inbound_cleared: int = 0
    inbound_deleted: int = 0
    orphans_deleted: int = 0


def apply_retention() -> Retention:
    """Apply the retention settings; idempotent, and safe while pings arrive.

    Deletes finished queue rows older than ``INBOUND_KEEP_DAYS``; clears IP addresses and user
    agents (and queue rows' sender keys) recorded more than ``IP_KEEP_DAYS`` ago; and, with
    ``DELETE_BACKLINKS_WITH_OBJECT``, deletes backlinks whose object no longer exists.
    """
    # First: rows about to be deleted need no clearing.
    inbound_deleted = inbound.prune(app_settings.INBOUND_KEEP_DAYS)
    backlinks_cleared = inbound_cleared = 0
    if app_settings.IP_KEEP_DAYS is not None:
        cutoff = timezone.now() - timedelta(days=app_settings.IP_KEEP_DAYS)
        with_sender = Q(remote_ip__isnull=False) | ~Q(user_agent="")
        backlinks_cleared = batches.update(
            Backlink.objects.filter(with_sender, received_at__lt=cutoff),
            remote_ip=None,
            user_agent="",
        )
        inbound_cleared = batches.update(
            InboundPing.objects.exclude(state__in=_WAITING).filter(
                with_sender | ~Q(sender=""), received_at__lt=cutoff
            ),
            remote_ip=None,
            user_agent="",
            sender="",
        )
    return Retention(
        backlinks_cleared=backlinks_cleared,
        inbound_cleared=inbound_cleared,
        inbound_deleted=inbound_deleted,
        orphans_deleted=delete_orphans() if app_settings.DELETE_BACKLINKS_WITH_OBJECT else 0,
    )


def delete_orphans() -> int:
    """Delete backlinks whose object no longer exists (deleted without signals, by raw SQL,
    or while ``DELETE_BACKLINKS_WITH_OBJECT`` was off); return how many.

    Backlinks of a model that is no longer installed are kept: a missing app is no proof
    that its objects are gone.
    """
    deleted = 0
    content_types = Backlink.objects.order_by().values_list("content_type", flat=True).distinct()
    for content_type_id in list(content_types):
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        object_ids = (
            Backlink.objects.filter(content_type_id=content_type_id)
            .order_by("object_id")
            .values_list("object_id", flat=True)
            .distinct()
        )
        # Read in full before deleting: a cursor still open on the table would see the deletes.
        for batch in batches.chunks(list(object_ids)):
            missing = _missing(model, batch)
            if missing:
                orphans = Backlink.objects.filter(
                    content_type_id=content_type_id, object_id__in=missing
                )
                deleted += batches.delete(orphans)
    return deleted


def _missing(model: type[models.Model], object_ids: list[str]) -> list[str]:
    """Which of these ids name no object (an id the primary key cannot hold names none)."""
    pk = model._meta.pk
    assert pk is not None
    keys_by_id: dict[str, Any] = {}
    for object_id in object_ids:
        try:
            keys_by_id[object_id] = pk.to_python(object_id)
        except ValidationError:
            pass
    # The base manager: a default manager may hide objects (drafts) that still exist.
    found = model._base_manager.filter(pk__in=list(keys_by_id.values())).values_list("pk")
    existing = {str(key) for (key,) in found}
    return [
        oid for oid in object_ids if oid not in keys_by_id or str(keys_by_id[oid]) not in existing
    ]
