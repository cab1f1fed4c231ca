"""Receivers: queue pings when a registered object is saved, and notices when it is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from backlinks_django import registry


def queue_pings_on_save(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    """After the transaction commits, queue pings for a published, open, registered object."""
    if raw:  # loaddata: fixtures are not news
        return
    registration = registry.get_registration(sender)
    if registration is None or not registration.is_open(instance):
        return
    content_type_id = ContentType.objects.db_manager(using).get_for_model(instance).pk
    callback = _QueuePings(content_type_id, str(instance.pk))
    connection = transaction.get_connection(using)
    # Saved again in the same transaction: the callback already queued covers it.
    if connection.in_atomic_block and any(
        queued == callback for _sids, queued, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(callback, using=using)


@dataclass(frozen=True)
class _QueuePings:
    """The on-commit callback of one object; equal for the same object, so it is queued once."""

    content_type_id: int
    object_pk: str

    def __call__(self) -> None:
        from backlinks_django.tasks import enqueue_send

        enqueue_send(self.content_type_id, self.object_pk)


def notify_on_delete(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    """After a registered object's deletion commits, tell its Webmention targets."""
    registration = registry.get_registration(sender)
    if registration is None:
        return
    from django.contrib.sites.models import Site

    source_url = registration.absolute_url(instance, Site.objects.get_current().domain)
    content_type_id = ContentType.objects.db_manager(using).get_for_model(instance).pk
    object_pk = str(instance.pk)

    def enqueue() -> None:
        from backlinks_django.tasks import enqueue_notify_deleted

        enqueue_notify_deleted(content_type_id, object_pk, source_url)

    transaction.on_commit(enqueue, using=using)
