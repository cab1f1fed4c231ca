"""Receivers: pings queued when a registered object is saved; notices and cleanup on deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from backlinks_django import registry
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink


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


def delete_backlinks_with_object(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    """Delete a registered object's backlinks with it (in its transaction), unless
    ``DELETE_BACKLINKS_WITH_OBJECT`` is off."""
    if registry.get_registration(sender) is None or not app_settings.DELETE_BACKLINKS_WITH_OBJECT:
        return
    content_type = ContentType.objects.db_manager(using).get_for_model(instance)
    backlinks = Backlink.objects.using(using).filter(
        content_type=content_type, object_id=str(instance.pk)
    )
    backlinks.delete()
