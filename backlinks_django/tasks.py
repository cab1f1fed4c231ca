"""Thin ``django.tasks`` wrappers around :mod:`backlinks_django.send` and the receive side, and
the one place that queues them; arguments are ids (JSON)."""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from backlinks_django import avatars, inbound, notifications, registry, send
from backlinks_django.choices import Status
from backlinks_django.compat import task, task_backends
from backlinks_django.conf import app_settings
from backlinks_django.models import Backlink, Claim, OutboundPing

logger = logging.getLogger(__name__)

# Seconds one verify_inbound task goes on taking queued pings before it queues itself again.
_VERIFY_SLICE = 30.0
# Seconds after a claim runs out that its recovery task runs (a worker that died holding it).
RECOVERY_DELAY = 5.0
# Recovery wakes of the inbound queue are rounded up to this many seconds: one for all the
# verification tasks that started within that time.
_WAKE_STEP = 10
# Author photos fetched by one store_avatars task: a bulk approval becomes short tasks.
_AVATARS_PER_TASK = 20


@task()
def send_pings(
    content_type_id: int, object_pk: str, force: bool = False, due_only: bool = False
) -> int:
    """Ping the new links of one object (``due_only``: only its due ones); queue it again for
    what failed transiently, for links another task was sending, and, before sending, for
    when this task's claim runs out, in case its worker dies (:func:`schedule_recovery`)."""
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    if model is None:
        return 0
    obj = model._default_manager.filter(pk=object_pk).first()
    if obj is None:
        return 0
    claim = send.send_object(obj, force=force, due_only=due_only, on_claim=schedule_recovery)
    if claim.busy_until is not None:
        why = "Links busy in another task"
        schedule_send(content_type_id, object_pk, claim.busy_until, why, due_only=due_only)
    schedule_retry(content_type_id, object_pk, claim.rows)
    return len(claim.rows)


@task()
def notify_deleted(content_type_id: int, object_pk: str, source_url: str) -> int:
    """Re-send Webmentions for a deleted object so its targets can remove them."""
    return len(send.notify_deleted(content_type_id, object_pk, source_url))


@task()
def verify_inbound(slot: int | None = None) -> int:
    """Verify queued pings, the fairest first, for up to ``_VERIFY_SLICE`` seconds; return how
    many. Queued again at once if time ran out; else, if pings wait for a later time (a busy
    source server, a verifier that died), queued for then.

    Before its first verification it queues a wake for when every claim it may take has run
    out: if its worker dies mid-verification (nothing would queue the next task then), that
    task verifies the abandoned ping. A backend that cannot defer relies on
    ``manage.py process_inbound`` from cron instead.

    ``slot``: the verifier slot of the answer that queued the task, given up now.
    """
    if slot is not None:
        inbound.free_slot(slot)
    scheduled = False

    def recover_later(claimed_until: datetime) -> None:
        nonlocal scheduled
        if not scheduled:
            scheduled = True
            # This task's later claims end at most a slice later than its first.
            last_end = claimed_until + timedelta(seconds=_VERIFY_SLICE + RECOVERY_DELAY)
            schedule_verification(_rounded_up(last_end, _WAKE_STEP))

    count, more = inbound.verify_for(_VERIFY_SLICE, on_claim=recover_later)
    if more:
        # To the back of the queue: other work sharing it gets its turn.
        enqueue_verification()
    else:
        wake = inbound.next_wake()
        if wake is not None:
            schedule_verification(wake)
    return count


def enqueue_send(content_type_id: int, object_pk: str, *, force: bool = False) -> None:
    """Queue :func:`send_pings` on the configured backend."""
    send_pings.using(backend=app_settings.TASK_BACKEND).enqueue(content_type_id, object_pk, force)


def enqueue_notify_deleted(content_type_id: int, object_pk: str, source_url: str) -> None:
    """Queue :func:`notify_deleted` on the configured backend."""
    notify_deleted.using(backend=app_settings.TASK_BACKEND).enqueue(
        content_type_id, object_pk, source_url
    )


def queue_accepted(accepted: inbound.Accepted) -> None:
    """Once the transaction commits, queue a task to verify the ping just queued, if it took
    a verifier slot or slots are not kept (see ``inbound._wake_slot``)."""
    if accepted.wake:
        transaction.on_commit(functools.partial(wake_verifiers, accepted.slot))


def wake_verifiers(slot: int | None = None) -> None:
    """Queue :func:`verify_inbound`, which gives ``slot`` up as it starts; if it cannot be
    queued, the slot is given up now (the next answer tries again)."""
    try:
        enqueue_verification(slot)
    except Exception:
        if slot is not None:
            inbound.free_slot(slot)
        raise


def enqueue_verification(slot: int | None = None) -> None:
    """Queue :func:`verify_inbound` on the configured backend's ``INBOUND_TASK_QUEUE``."""
    task = verify_inbound.using(
        backend=app_settings.TASK_BACKEND, queue_name=app_settings.INBOUND_TASK_QUEUE
    )
    if slot is None:
        task.enqueue()
    else:
        task.enqueue(slot)


def schedule_verification(when: datetime) -> None:
    """Queue :func:`verify_inbound` to run at ``when``, once per second of ``when`` (a shared
    cache makes that once for all processes), if the backend can defer tasks.

    Without deferral, ``manage.py process_inbound`` (from cron) verifies what is due.
    """
    if not task_backends[app_settings.TASK_BACKEND].supports_defer:
        logger.info("Queued pings are due at %s; the tasks backend cannot defer", when)
        return
    second = math.ceil(when.timestamp())
    wait = max(0.0, second - time.time())
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    if not cache.add(f"backlinks:inbound-wake:{second}", 1, timeout=math.ceil(wait) + 60):
        return  # another task is already queued for that second
    verify_inbound.using(
        backend=app_settings.TASK_BACKEND,
        queue_name=app_settings.INBOUND_TASK_QUEUE,
        run_after=datetime.fromtimestamp(second, tz=UTC),
    ).enqueue()


def _rounded_up(when: datetime, step: int) -> datetime:
    return datetime.fromtimestamp(math.ceil(when.timestamp() / step) * step, tz=UTC)


def schedule_recovery(claim: Claim) -> None:
    """Before a claim's rows are sent: queue :func:`send_pings` with ``due_only`` for
    ``RECOVERY_DELAY`` seconds after the claim runs out, once per object and second (a shared
    cache makes that once for all processes), if the backend can defer tasks.

    Should the worker die while sending, that task sends the links left unrecorded, and only
    those (it does nothing when the claim ended with every result recorded). Without deferral,
    the object's next save or ``manage.py send_backlinks --due`` (from cron) sends them.
    """
    ends = [row.claimed_until for row in claim.rows if row.claimed_until is not None]
    if not ends:
        return
    row = claim.rows[0]  # a claim holds the rows of one object
    when = max(ends) + timedelta(seconds=RECOVERY_DELAY)
    if not task_backends[app_settings.TASK_BACKEND].supports_defer:
        logger.info("Claim on %s ends at %s; the tasks backend cannot defer", row.object_id, when)
        return
    second = math.ceil(when.timestamp())
    key = f"backlinks:send-recovery:{row.content_type_id}:{row.object_id}:{second}"
    cache = caches[app_settings.RATE_LIMIT_CACHE]
    if not cache.add(key, 1, timeout=math.ceil(second - time.time()) + 60):
        return  # already queued for that second
    schedule_send(row.content_type_id, row.object_id, when, "Recovery", due_only=True)


def retry_now(rows: QuerySet[OutboundPing]) -> int:
    """Make ``rows`` due at once and queue their objects; return how many rows.

    Rows being sent right now are left to that task.
    """
    count = OutboundPing.objects.filter(pk__in=rows.values("pk")).make_due()
    for content_type_id, object_id in set(rows.values_list("content_type_id", "object_id")):
        enqueue_send(content_type_id, object_id)
    return count


def schedule_retry(content_type_id: int, object_pk: str, rows: list[OutboundPing]) -> None:
    """Queue the object again for its earliest retry, if the backend can defer tasks.

    Without deferral (the immediate backend), run ``manage.py send_backlinks --due``
    from cron instead.
    """
    times = [row.next_attempt_at for row in rows if row.next_attempt_at is not None]
    if times:
        # Only the due links: the Webmention targets already told are not told again.
        schedule_send(content_type_id, object_pk, min(times), "Retry due", due_only=True)


def schedule_send(
    content_type_id: int, object_pk: str, when: datetime, why: str, *, due_only: bool = False
) -> None:
    """Queue :func:`send_pings` to run at ``when``, if the backend can defer tasks."""
    backend = task_backends[app_settings.TASK_BACKEND]
    if not backend.supports_defer:
        logger.info("%s: send again at %s; the tasks backend cannot defer it", why, when)
        return
    task = send_pings.using(backend=app_settings.TASK_BACKEND, run_after=when)
    if due_only:
        task.enqueue(content_type_id, object_pk, False, True)
    else:
        task.enqueue(content_type_id, object_pk)


@task()
def notify_author(content_type_id: int, object_pk: str, since: str) -> int:
    """E-mail one object's author about its backlinks held or approved since ``since`` (ISO
    8601) or the author's last such e-mail; return how many were listed."""
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    obj = model._default_manager.filter(pk=object_pk).first() if model is not None else None
    if obj is None:
        return 0
    return notifications.notify_author(obj, datetime.fromisoformat(since))


def queue_author_notices(backlinks: Iterable[Backlink]) -> None:
    """Once the transaction commits, queue :func:`notify_author` for the objects of these
    backlinks (those held or approved) whose authors are told, unless a batch is open.

    On a backend that defers tasks the e-mail goes ``NOTIFY_AUTHORS_WINDOW`` seconds after the
    batch opened, and lists everything of the batch; on one that cannot, it goes at once, and
    what comes while the batch is open is listed in the author's next e-mail.
    """
    since: dict[tuple[int, str], datetime] = {}
    for backlink in backlinks:
        if backlink.status not in (Status.PENDING, Status.APPROVED):
            continue
        key = (backlink.content_type_id, str(backlink.object_id))
        since[key] = min(since.get(key, backlink.updated_at), backlink.updated_at)
    for (content_type_id, object_pk), first in since.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        registration = registry.get_registration(model) if model is not None else None
        if registration is not None and registration.author_email is not None:
            queue = functools.partial(_open_author_batch, content_type_id, object_pk, first)
            transaction.on_commit(queue)


def _open_author_batch(content_type_id: int, object_pk: str, since: datetime) -> None:
    if not notifications.open_author_batch(content_type_id, object_pk):
        return  # the open batch's e-mail will list it
    options: dict[str, Any] = {"backend": app_settings.TASK_BACKEND}
    if task_backends[app_settings.TASK_BACKEND].supports_defer:
        window = timedelta(seconds=app_settings.NOTIFY_AUTHORS_WINDOW)
        options["run_after"] = timezone.now() + window
    notify_author.using(**options).enqueue(content_type_id, object_pk, since.isoformat())


def author_notice_on_received(sender: type[Backlink], backlink: Backlink, **kwargs: Any) -> None:
    """``backlink_received`` receiver: the author hears of a new backlink held or approved."""
    queue_author_notices([backlink])


def author_notice_on_approved(
    sender: type[Backlink], backlinks: QuerySet[Backlink], **kwargs: Any
) -> None:
    """``backlink_approved`` receiver: the authors hear of backlinks an editor approved."""
    queue_author_notices(backlinks.only("content_type_id", "object_id", "status", "updated_at"))


@task()
def store_avatars(backlink_ids: list[int]) -> int:
    """Fetch and keep the author photos of these backlinks (those still approved)."""
    return avatars.store_for(backlink_ids)


def queue_avatars(backlink_ids: list[int]) -> None:
    """Once the transaction commits, queue :func:`store_avatars` (``AVATARS`` on), a few
    backlinks per task."""
    if not backlink_ids or not app_settings.AVATARS:
        return
    for start in range(0, len(backlink_ids), _AVATARS_PER_TASK):
        chunk = backlink_ids[start : start + _AVATARS_PER_TASK]
        transaction.on_commit(functools.partial(_enqueue_avatars, chunk))


def _enqueue_avatars(backlink_ids: list[int]) -> None:
    store_avatars.using(backend=app_settings.TASK_BACKEND).enqueue(backlink_ids)


def avatars_on_received(sender: type[Backlink], backlink: Backlink, **kwargs: Any) -> None:
    """``backlink_received`` receiver: a backlink approved on arrival gets its photo stored."""
    if backlink.status == Status.APPROVED and backlink.author_photo:
        queue_avatars([backlink.pk])


def avatars_on_approved(
    sender: type[Backlink], backlinks: QuerySet[Backlink], **kwargs: Any
) -> None:
    """``backlink_approved`` receiver: approved backlinks get their photos stored."""
    queue_avatars(list(backlinks.exclude(author_photo="").values_list("pk", flat=True)))
