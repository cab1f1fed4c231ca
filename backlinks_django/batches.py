"""Work on many rows in batches: short transactions and bounded memory at any table size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.db import models

__all__ = ["BATCH", "chunks", "delete", "pk_batches", "update"]

# Rows read, changed or deleted per statement.
BATCH = 5000

M = TypeVar("M", bound=models.Model)


def pk_batches(queryset: models.QuerySet[M]) -> Iterator[list[Any]]:
    """The primary keys of ``queryset`` in batches, in key order (each batch read after the
    previous one was dealt with, so rows changed or deleted meanwhile are not read again)."""
    ordered = queryset.order_by("pk").values_list("pk", flat=True)
    last = None
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        ids = list(page[:BATCH])
        if not ids:
            return
        yield ids
        last = ids[-1]


def update(queryset: models.QuerySet[M], **values: Any) -> int:
    """``queryset.update(**values)`` in batches; how many rows changed."""
    return sum(queryset.filter(pk__in=ids).update(**values) for ids in pk_batches(queryset))


def delete(queryset: models.QuerySet[M]) -> int:
    """``queryset.delete()`` in batches; how many rows went (cascades included)."""
    rows = queryset.model._base_manager
    return sum(rows.filter(pk__in=ids).delete()[0] for ids in pk_batches(queryset))


def chunks(items: Iterable[str]) -> Iterator[list[str]]:
    """``items`` in lists of ``BATCH``."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
