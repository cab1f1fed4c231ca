"""The post_save receiver that queues pings for a saved registered object."""

from __future__ import annotations

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
    object_pk = str(instance.pk)

    def enqueue() -> None:
        from backlinks_django.tasks import enqueue_send

        enqueue_send(content_type_id, object_pk)

    transaction.on_commit(enqueue, using=using)
