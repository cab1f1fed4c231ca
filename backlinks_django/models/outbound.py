"""Outbound pings: a row per link of the site's objects, its claim while sent, its result."""

from __future__ import annotations

import functools
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.db import connections, models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backlinks_django import limits, text
from backlinks_django.choices import Outcome, Protocol
from backlinks_django.conf import app_settings
from backlinks_django.models.generic import object_lookup

if TYPE_CHECKING:
    from backlinks_django.results import Result

logger = logging.getLogger(__name__)


class Claim(NamedTuple):
    """The rows one task took to send, and when other tasks' claims on the rest end."""

    rows: list[OutboundPing]
    busy_until: datetime | None


class OutboundPingQuerySet(models.QuerySet["OutboundPing"]):
    def for_object(self, obj: models.Model) -> OutboundPingQuerySet:
        return self.filter(**object_lookup(obj))

    def to_ping(self) -> OutboundPingQuerySet:
        """Rows no editor has unticked: the links that may be pinged."""
        return self.filter(do_not_ping=False)

    def due(self) -> OutboundPingQuerySet:
        """Links that may be pinged, waiting for a first attempt or a retry whose time has come,
        or abandoned: claimed by a task whose claim ran out with no result recorded (its worker
        died while sending them)."""
        now = timezone.now()
        return self.to_ping().filter(
            models.Q(outcome=Outcome.PENDING)
            | models.Q(next_attempt_at__isnull=False, next_attempt_at__lte=now)
            | models.Q(claimed_until__isnull=False, claimed_until__lte=now)
        )

    def not_in_flight(self) -> OutboundPingQuerySet:
        """Rows no task is sending right now (unclaimed, or their claim has run out)."""
        return self.filter(
            models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lte=timezone.now())
        )

    def claim(self, seconds: float) -> Claim:
        """Take those of these rows no other task is sending, for ``seconds``.

        One UPDATE that re-checks this queryset's conditions, so two tasks claiming the same
        rows at once (two saves in a row, several workers) never both get a row, and a row
        another task has just delivered is not taken again. Outcomes are left alone;
        :meth:`OutboundPing.record_result` releases the claim, and a task that dies leaves its
        rows free again when the claim runs out, and :meth:`due` then (until another claim).
        """
        # The claim's end is this task's mark: microseconds of randomness keep two tasks apart.
        mark = timezone.now() + timedelta(seconds=seconds, microseconds=secrets.randbelow(10**6))
        candidates = list(self.values_list("pk", flat=True))
        self.filter(pk__in=candidates).not_in_flight().update(claimed_until=mark)
        # One read of the candidates: those holding the mark are this task's; the others'
        # running claims say when the rest is free.
        rows = list(
            OutboundPing.objects.filter(pk__in=candidates).select_related("site").order_by("pk")
        )
        now = timezone.now()
        busy = [
            row.claimed_until
            for row in rows
            if row.claimed_until is not None
            and row.claimed_until != mark
            and row.claimed_until > now
        ]
        claimed = [row for row in rows if row.claimed_until == mark]
        return Claim(claimed, max(busy, default=None))

    def make_due(self) -> int:
        """Make these rows due at once, but for those a task is sending; return how many."""
        return self.not_in_flight().update(next_attempt_at=timezone.now() - timedelta(seconds=1))


class OutboundPing(models.Model):
    """One link of one of this site's objects, and what pinging it gave."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, verbose_name=_("site"))
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, verbose_name=_("source type")
    )
    object_id = models.CharField(_("source id"), max_length=64)
    source = GenericForeignKey("content_type", "object_id")
    target_url = models.URLField(
        _("target URL"),
        max_length=limits.URL,
        help_text=_("The linked URL, or the TrackBack ping URL an editor asked to notify."),
    )
    protocol = models.CharField(_("protocol"), max_length=20, choices=Protocol.choices, blank=True)
    endpoint = models.URLField(_("endpoint"), max_length=limits.URL, blank=True)
    requested = models.BooleanField(
        _("requested by an editor"),
        default=False,
        help_text=_("A TrackBack URL an editor entered, rather than a link found in the content."),
    )
    do_not_ping = models.BooleanField(
        _("do not ping"),
        default=False,
        help_text=_("An editor unticked this link: it is never pinged for this object."),
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING
    )
    fault_code = models.IntegerField(_("fault code"), null=True, blank=True)
    message = models.TextField(_("last answer or error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set while a task sends this row (OutboundPingQuerySet.claim); its value is that task's mark.
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    sent_at = models.DateTimeField(_("last attempt"), null=True, blank=True)

    objects = OutboundPingQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbound ping")
        verbose_name_plural = _("outbound pings")
        ordering: ClassVar[list[str]] = ["-updated_at"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "target_url"],
                name="backlinks_one_outbound_per_link",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["outcome", "next_attempt_at"], name="backlinks_outbound_due"),
        ]

    def __str__(self) -> str:
        return f"{self.target_url} ({self.get_outcome_display()})"

    def record_result(self, result: Result, *, whatever_the_claim: bool = False) -> bool:
        """Store a delivery result and release this row's claim; whether it was stored.

        Only the result's fields are written, and only while the row is still as its task
        claimed it: an editor's change meanwhile (the TrackBack inline) or another task's claim
        after this one ran out wins, and this result is dropped with a warning. A deletion
        notice is the latest news: it is stored ``whatever_the_claim``, and releases it.
        """
        now = timezone.now()
        self.outcome = result.outcome
        self.protocol = result.protocol or self.protocol
        self.endpoint = result.endpoint or self.endpoint
        # Peers' words: no control characters.
        self.message = text.to_single_line(result.message)[: limits.OUTBOUND_MESSAGE]
        self.fault_code = result.fault_code
        self.attempts += 1
        self.sent_at = self.updated_at = now
        self.next_attempt_at = None
        if result.retry and self.attempts < app_settings.SEND_MAX_ATTEMPTS:
            delay = app_settings.SEND_RETRY_DELAY * 2 ** (self.attempts - 1)
            if result.flood:
                delay = app_settings.SEND_FLOOD_WINDOW
            self.next_attempt_at = now + timedelta(seconds=delay)
        values = {name: getattr(self, name) for name in _RESULT_FIELDS}
        changed = _store_result(self.pk, values, self.claimed_until, whatever_the_claim)
        self.claimed_until = None
        if not changed:
            self.next_attempt_at = None  # not ours to retry: whoever changed the row decides
            logger.warning(
                "Ping to %s: changed while it was sent; result not stored", self.target_url
            )
            return False
        if self.fault_code is None:
            logger.info("Ping to %s: %s", self.target_url, self.outcome)
        else:
            logger.info(
                "Ping to %s: %s (fault %d)", self.target_url, self.outcome, self.fault_code
            )
        return True


# What recording a result writes, besides releasing the claim.
_RESULT_FIELDS = (
    "outcome",
    "protocol",
    "endpoint",
    "message",
    "fault_code",
    "attempts",
    "sent_at",
    "next_attempt_at",
    "updated_at",
)


def _store_result(
    pk: object, values: dict[str, object], claim: datetime | None, whatever_the_claim: bool
) -> int:
    """One UPDATE of row ``pk`` writing ``values`` and releasing its claim, only while the
    row still holds ``claim`` (unless ``whatever_the_claim``); how many rows it changed.

    What ``filter(pk=pk, claimed_until=claim).update(**values, claimed_until=None)`` does,
    with the SQL built once per database: a sending task records one result per link as it
    comes, and building the query each time cost more than running it.
    """
    connection = connections[router.db_for_write(OutboundPing)]
    params = [_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    params.append(_field(str(OutboundPing._meta.pk.name)).get_db_prep_value(pk, connection))
    check = "none" if whatever_the_claim else "null" if claim is None else "equal"
    if check == "equal":
        params.append(_field("claimed_until").get_db_prep_value(claim, connection))
    sql = _update_sql(connection.alias, tuple(values), check)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


@functools.lru_cache(maxsize=16)
def _update_sql(alias: str, names: tuple[str, ...], check: str) -> str:
    """The UPDATE of :func:`_store_result`; ``check`` of the claim: "none", "null", "equal"."""
    quote = connections[alias].ops.quote_name

    def column(name: str) -> str:
        return str(quote(str(_field(name).column)))

    meta = OutboundPing._meta
    claimed_until = column("claimed_until")
    assignments = [f"{column(name)} = %s" for name in names]
    where = f"{column(str(meta.pk.name))} = %s"
    if check == "equal":
        where += f" AND {claimed_until} = %s"
    elif check == "null":
        where += f" AND {claimed_until} IS NULL"
    # Only the model's own table and column names, quoted, go into the text; values are
    # parameters.
    return (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)}, "  # noqa: S608
        f"{claimed_until} = NULL WHERE {where}"
    )


def _field(name: str) -> models.Field[Any, Any]:
    field = OutboundPing._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field
