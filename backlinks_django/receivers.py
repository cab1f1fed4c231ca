"""Receivers: pings queued when a registered object is saved; notices and cleanup on deletion.

Outside production they queue nothing; inside :func:`backlinks_django.muted` a save records its
links as handled instead (after the commit, as pings would be queued), and a deletion is silent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from backlinks_django import environment, registry
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink

# The message of links recorded unsent by a save inside muted().
MUTED = "Not sent: saved inside backlinks_django.muted()."

logger = logging.getLogger(__name__)


def _log_failed(action: str, instance: models.Model, error: registry.AccessorFailed) -> None:
    """Log an accessor that raised: the save or deletion goes on, without backlinks' part."""
    logger.error(
        "Not %s for %s %s: %s (system check backlinks_django.E020 finds missing names)",
        action,
        error.model._meta.label,
        instance.pk,
        error,
        exc_info=error,
    )


def queue_pings_on_save(
    sender: type[models.Model],
    instance: models.Model,
    raw: bool = False,
    using: str = "default",
    **kwargs: Any,
) -> None:
    """After the transaction commits, queue pings for a published, open, registered object
    (or, muted, record its links as handled)."""
    if raw:  # loaddata: fixtures are not news
        return
    # Read now, not at the commit: the block may have ended by then.
    muted = environment.is_muted()
    if not muted and not environment.current().sends:
        return  # staging, development: the start-up check (backlinks_django.I001) says so
    registration = registry.get_registration(sender)
    if registration is None:
        return
    try:
        is_open = registration.is_open(instance)
    except registry.AccessorFailed as error:  # the row is saved: never undo that over pings
        _log_failed("queuing pings", instance, error)
        return
    if not is_open:
        return
    content_type_id = ContentType.objects.db_manager(using).get_for_model(instance).pk
    callback: _QueuePings | _RecordUnsent
    if muted:
        callback = _RecordUnsent(content_type_id, str(instance.pk))
    else:
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


@dataclass(frozen=True)
class _RecordUnsent:
    """The on-commit callback of one object saved muted; equal for the same object."""

    content_type_id: int
    object_pk: str

    def __call__(self) -> None:
        from backlinks_django.send import record_unsent

        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        obj = None if model is None else model._default_manager.filter(pk=self.object_pk).first()
        if obj is None:
            return
        try:
            record_unsent(obj, MUTED)
        except registry.AccessorFailed as error:
            _log_failed("recording the links unsent", obj, error)


def notify_on_delete(
    sender: type[models.Model], instance: models.Model, using: str = "default", **kwargs: Any
) -> None:
    """After a registered object's deletion commits, tell its Webmention targets."""
    if environment.is_muted() or not environment.current().sends:
        return
    registration = registry.get_registration(sender)
    if registration is None:
        return
    from django.contrib.sites.models import Site

    try:
        source_url = registration.absolute_url(instance, Site.objects.get_current().domain)
    except registry.AccessorFailed as error:  # the deletion goes on, untold
        _log_failed("telling Webmention targets of the deletion", instance, error)
        return
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
