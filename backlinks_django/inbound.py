"""The one inbound queue: every received ping verified now within a budget, or later, fairly.

A Pingback or TrackBack from a sender within its rate is verified inside the web request for at
most ``RECEIVE_BUDGET`` seconds; a Webmention (its protocol is asynchronous), a ping over its
sender's or source domain's rate, and one whose source is slow or large are recorded as an
:class:`~backlinks_django.models.InboundPing` instead, and the peer is told it was accepted. Tasks
then verify queued rows through :func:`~backlinks_django.pipeline.receive`, one at a time, in round
robin over senders and source domains, with at most ``INBOUND_CONCURRENCY`` of one sender's (or
one domain's) rows at once. A sender refused is one with ``INBOUND_QUEUE_PER_SENDER`` rows waiting
(or a full queue): queueing, not refusing, is the answer to a burst.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import connections, models, router
from django.db.models import Min
from django.utils import timezone

from backlinks_django import keys, limits, registry, throttle
from backlinks_django.admission import admit, rate_wait, sender_rate
from backlinks_django.choices import Kind, Status
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AlreadyRegistered,
    BacklinkError,
    InvalidRequest,
    RateLimited,
    TargetNotFound,
    VerifyLater,
)
from backlinks_django.models import Backlink, InboundPing, rows, stored_twin
from backlinks_django.pipeline import Ping, receive

__all__ = [
    "WAKES",
    "Accepted",
    "accept",
    "claim",
    "free_slot",
    "next_wake",
    "process_next",
    "prune",
    "verify_for",
]

logger = logging.getLogger(__name__)

# How long a verifier holds its row: beyond the fetch deadline, a verifier that died left it.
_CLAIM_MARGIN = 60.0
# Seconds a sender refused for a full queue share is told to wait before trying again.
_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Accepted:
    """A ping taken: stored now (``backlink``) or waiting for a task (``queued``). ``wake``:
    it was queued just now (not a resend of a ping still waiting) and a task should be queued
    to verify it, giving up the verifier slot ``slot`` as it starts (see :func:`_wake_slot`)."""

    backlink: Backlink | None = None
    queued: InboundPing | None = None
    wake: bool = False
    slot: int | None = None


def accept(ping: Ping, site: Site) -> Accepted:
    """Admit ``ping``; store it now if it may be verified within the request, else queue it.

    Raises the protocol's refusal (a BacklinkError) for what no verification can change, and
    RateLimited when the sender already has its share of the queue waiting.
    """
    if not isinstance(ping.source_url, str) or not isinstance(ping.target_url, str):
        raise InvalidRequest("Both source and target are required.")
    # The answer may rely on what was read a moment ago; what is stored now is admitted again
    # with fresh reads (below), and what is queued when it is verified.
    named = ping.target  # known from the URL the ping came to (TrackBack), read afresh there
    admitted = admit(ping.kind, ping.source_url, ping.target_url, site, target=named, recent=True)
    ping = dataclasses.replace(
        ping,
        source_url=admitted.source_url,
        target_url=admitted.target_url,
        target=admitted.target,
    )
    if ping.kind != Kind.WEBMENTION and stored_twin(admitted.target, ping.source_url):
        raise AlreadyRegistered()
    budget = app_settings.RECEIVE_BUDGET
    if ping.kind == Kind.WEBMENTION or (ping.verify and budget <= 0):
        # Queued whatever the rates say: the sender's is counted with the queue's tallies.
        return _queue(ping, site, count_sender=True)
    if rate_wait(ping.remote_ip, ping.source_url) is not None:
        return _queue(ping, site)
    waiting = _waiting_twin(ping, site)
    if waiting is not None:
        return Accepted(queued=waiting)
    admitted = admit(ping.kind, ping.source_url, ping.target_url, site, target=named)
    ping = dataclasses.replace(ping, target=admitted.target)
    if not ping.verify:  # nothing to fetch: stored at once
        return Accepted(backlink=receive(ping, site=site, admitted=admitted))
    # One verification at a time per sender and per source domain, and RECEIVE_CONCURRENCY in
    # all, may hold web workers: a flood of slow sources holds that many, for the budget each.
    owners = [("sender", keys.sender_key(ping.remote_ip)), ("domain", _domain(ping.source_url))]
    with throttle.holding(owners, app_settings.RECEIVE_CONCURRENCY, budget + 5) as free:
        if not free:
            return _queue(ping, site)
        try:
            return Accepted(backlink=receive(ping, site=site, budget=budget, admitted=admitted))
        except VerifyLater as later:
            logger.info("Verifying %s later: %s", ping.source_url, later.message)
    return _queue(ping, site)


def _domain(url: str) -> str:
    return keys.domain_key(urlsplit(url).hostname or "")[: limits.HOST]


def _waiting_twin(ping: Ping, site: Site) -> InboundPing | None:
    """The same ping, already waiting: a resend must not queue the work twice."""
    # Narrowed by the source's domain (the same for a twin): the lookup goes through the
    # state/domain index and reads that domain's waiting rows, not the whole queue. Only the
    # key is read: a twin is rare, and a whole row costs more to build than to look up.
    found = (
        InboundPing.objects.waiting()
        .filter(
            source_domain=_domain(ping.source_url),
            site=site,
            kind=ping.kind,
            source_url=ping.source_url,
            target_url=ping.target_url,
        )
        .values_list("pk", flat=True)[:1]
    )
    return next((InboundPing.objects.get(pk=pk) for pk in found), None)


def _queue(ping: Ping, site: Site, *, count_sender: bool = False) -> Accepted:
    """Queue ``ping``, or answer with the same ping already waiting. ``count_sender``: count
    it against its sender's rate too (:func:`~backlinks_django.admission.sender_rate`).

    The rate, the queue's tallies (see :func:`_full`) and a verifier slot (see
    :func:`_wake_slot`) are one round trip on Redis; a slot taken for a ping not queued after
    all is given back.
    """
    sender = keys.sender_key(ping.remote_ip)
    caps = _caps(sender)
    tallied = throttle.counts_exactly()
    slot = _wake_slot()
    checked = throttle.check(
        hits=sender_rate(ping.remote_ip) if count_sender else (),
        tallies=[name for name, *_ in caps] if tallied else (),
        takes=[] if slot is None else [(_slot_name(slot), _WAKE_SECONDS)],
    )
    taken = slot if checked.taken == [True] else None
    try:
        accepted = _queue_unless_full(
            ping, site, sender, caps, checked.tallies if tallied else None
        )
    except BaseException:
        if taken is not None:
            free_slot(taken)
        raise
    if not accepted.wake:
        if taken is not None:
            free_slot(taken)
        return accepted
    if slot is None:  # a cache of this process's own: every ping queues a task
        return accepted
    return dataclasses.replace(accepted, wake=taken is not None, slot=taken)


def _queue_unless_full(
    ping: Ping, site: Site, sender: str, caps: list[_Cap], tallies: list[int | None] | None
) -> Accepted:
    if full := _full(caps, tallies):
        waiting = _waiting_twin(ping, site)
        if waiting is not None:
            return Accepted(queued=waiting)
        logger.warning("Refused a ping from %s: %s", sender or "?", full)
        raise RateLimited(_RETRY_AFTER)
    for _attempt in range(3):
        row = _row(ping, site, sender)
        if _insert_unless_waiting(row):
            return Accepted(queued=row, wake=True)
        waiting = _waiting_twin(ping, site)
        if waiting is not None:
            return Accepted(queued=waiting)
        # The twin ended between the two statements: queue this one after all.
    raise RateLimited(_RETRY_AFTER)  # a twin came and went three times: let the sender retry


# verify_inbound tasks queued for answered pings that may wait unstarted at once, and how long
# a slot stays taken should its task be lost.
WAKES = 4
_WAKE_SECONDS = 60
_wakes = itertools.count()


def _wake_slot() -> int | None:
    """The verifier slot a ping queued now may take, in turn; None on a cache that processes
    do not share.

    A task verifies every ping due when it starts, so a task per ping answered would only give
    the workers tasks that find nothing to do (and cost every answer a task's row or message).
    Up to :data:`WAKES` tasks wait at once, each holding a slot (a key of the shared cache)
    that it gives up as it starts (:func:`free_slot`): pings answered while it waits are
    verified by it, and pings answered once it runs queue another, so verifiers keep pace with
    a burst in parallel. A slot whose task was lost is free again ``_WAKE_SECONDS`` later. On
    a cache that processes do not share, a worker could not give up the slot a web process
    took: there, every ping queues a task.
    """
    return next(_wakes) % WAKES if throttle.is_shared() else None


def free_slot(slot: int) -> None:
    """Give up a verifier slot (its task started, or could not be queued)."""
    throttle.give_back(_slot_name(slot))


def _slot_name(slot: int) -> str:
    return f"inbound-wake:{slot}"


def _row(ping: Ping, site: Site, sender: str) -> InboundPing:
    target = ping.target
    return InboundPing(
        kind=ping.kind,
        site=site,
        source_url=ping.source_url,
        target_url=ping.target_url,
        target_content_type=None if target is None else ContentType.objects.get_for_model(target),
        target_object_id="" if target is None else str(target.pk),
        title=ping.title,
        excerpt=ping.excerpt,
        blog_name=ping.blog_name,
        remote_ip=ping.remote_ip,
        user_agent=ping.user_agent,
        sender=sender,
        source_domain=_domain(ping.source_url),
    )


def _insert_unless_waiting(row: InboundPing) -> bool:
    """INSERT ``row``, its turn computed by the statement (:func:`_turn_sql`), unless the same
    ping waits already; whether it was inserted.

    One statement, written out once per database rather than composed by the ORM: the lookup
    of a twin and the INSERT cost a query each and more CPU to compose than to run, on every
    ping answered. The values are prepared by the fields, as the ORM's INSERT would.
    """
    alias = router.db_for_write(InboundPing)
    connection = connections[alias]
    values = [
        field.get_db_prep_save(field.pre_save(row, True), connection)
        for field in _inserted_fields()
    ]
    queued, verifying = InboundPing.State.QUEUED, InboundPing.State.VERIFYING
    twin = [queued, verifying, *(getattr(row, column) for column in _TWIN_COLUMNS)]
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(alias),
            [*values, *_turn_params(row.sender, row.source_domain), *twin],
        )
        inserted = bool(cursor.rowcount == 1)
    if inserted:
        row._state.adding = False
        row._state.db = alias
        row.__dict__.pop("turn", None)  # in the row only: read from it if anyone asks
    return inserted


# What makes a waiting row the same ping (the domain first: the state/domain index).
_TWIN_COLUMNS = ("source_domain", "site_id", "kind", "source_url", "target_url")


def _inserted_fields() -> list[models.Field[object, object]]:
    return [field for field in InboundPing._meta.concrete_fields if field.name != "turn"]


@lru_cache(maxsize=4)
def _insert_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(InboundPing._meta.db_table)
    fields = _inserted_fields()
    columns = ", ".join(quote(str(field.column)) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    twin = " AND ".join(
        [
            f"{quote('state')} IN (%s, %s)",
            *(f"{quote(column)} = %s" for column in _TWIN_COLUMNS),
        ]
    )
    # A FROM clause (a one-row derived table) because MySQL wants one before WHERE. Quoted
    # names of our own table and columns only; every value is a parameter.
    return (
        f"INSERT INTO {table} ({columns}, {quote('turn')}) "  # noqa: S608
        f"SELECT {values}, ({_turn_sql(alias)}) FROM (SELECT 1 AS one) AS one_row "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {twin})"
    )


# Seconds a tally of queued rows (see _full) lives before the rows are counted again.
_TALLY_SECONDS = 600.0
# A tally set to this when a count found its cap reached: pings are refused without another
# count until it expires, _FULL_SECONDS later.
_FULL = 1 << 40
_FULL_SECONDS = 1.0


# A cap of the queue: the tally's name, the cap, the queued rows it counts (a filter), and why
# it refuses.
_Cap = tuple[str, int, dict[str, str], str]


def _caps(sender: str) -> list[_Cap]:
    return [
        (
            f"queue-sender:{sender}",
            app_settings.INBOUND_QUEUE_PER_SENDER,
            {"sender": sender},
            "its queue share is full",
        ),
        ("queue", app_settings.INBOUND_QUEUE_MAX, {}, "the inbound queue is full"),
    ]


def _full(caps: list[_Cap], tallies: list[int | None] | None) -> str:
    """Why the queue takes no more of a sender's pings (its share or the whole queue is full),
    or "" if it does. ``tallies``: the values of the caps' tallies after counting this ping,
    or None where the rows are counted instead.

    Each cap is a count of queued rows. On a cache that every process shares and increments
    atomically (throttle.counts_exactly: Redis, Memcached) the count is a tally there, one
    increment per ping queued: it only overestimates (rows that finish are not taken off), so
    whenever it passes the cap, or has expired (_TALLY_SECONDS), the rows are counted again and
    the tally set to that. A cap can thus be exceeded only by the pings queued by other
    processes while such a count runs (a few at most), as two counts at once could before.
    A count that finds a cap reached refuses for the next _FULL_SECONDS without counting again:
    a full queue costs one increment per refused ping, not a count of its rows. On any other
    cache the rows are counted on every ping, at most ``cap`` of them.
    """
    exact = tallies is None
    for (name, cap, counted, why), tallied in zip(
        caps, tallies or [None] * len(caps), strict=True
    ):
        if cap <= 0 or (tallied is not None and tallied >= _FULL):
            return why
        if tallied is not None and tallied <= cap:
            continue  # this ping included
        count = _count(counted, cap)
        if count >= cap:
            if not exact:
                throttle.settle(name, _FULL, _FULL_SECONDS)
            return why
        if not exact:
            throttle.settle(name, count + 1, _TALLY_SECONDS)
    return ""


def _turn_params(sender: str, domain: str) -> tuple[str, ...]:
    """The parameters of :func:`_turn_sql` for a new row of ``sender`` about ``domain``."""
    queued, verifying = InboundPing.State.QUEUED, InboundPing.State.VERIFYING
    return (queued, verifying, queued, verifying, sender, queued, verifying, domain)


@lru_cache(maxsize=4)
def _turn_sql(alias: str) -> str:
    """The round in which a new row is served, as a query the row's INSERT computes.

    Start-time fair queuing: one round after the last waiting row of the same sender and of
    the same source domain, and never before the round being served now (the lowest turn
    still waiting). A newcomer is thus served in the current round, however many rows a
    flood queued before it, and one verifier alone takes senders and domains in turn.
    Each part is an indexed lookup: the lowest turn of each waiting state through the
    state/turn index, the sender's and the domain's last through the state/sender and
    state/domain indexes (reading that sender's rows, at most ``INBOUND_QUEUE_PER_SENDER``
    queued, and that domain's). Two rows queued at the same moment may share a round, which
    only makes their order that of arrival.
    """
    # Written out once rather than composed by the ORM on every ping (composing its six
    # subqueries cost more CPU than the INSERT itself); aggregates rather than LEAST and
    # GREATEST, which treat NULL differently on each database; in derived tables, which
    # MySQL allows in an INSERT into the same table.
    quote = connections[alias].ops.quote_name
    table = quote(InboundPing._meta.db_table)
    turn, state = quote("turn"), quote("state")
    sender, domain = quote("sender"), quote("source_domain")
    waiting = f"{state} IN (%s, %s)"
    # Quoted names of our own table and columns only.
    return (
        f"SELECT MAX(t) FROM ("  # noqa: S608
        f"SELECT COALESCE(MIN(c), 0) AS t FROM ("
        f"SELECT MIN({turn}) AS c FROM {table} WHERE {state} = %s "
        f"UNION ALL SELECT MIN({turn}) FROM {table} WHERE {state} = %s) AS lowest "
        f"UNION ALL SELECT MAX({turn}) + 1 FROM {table} WHERE {waiting} AND {sender} = %s "
        f"UNION ALL SELECT MAX({turn}) + 1 FROM {table} WHERE {waiting} AND {domain} = %s"
        f") AS turns"
    )


def _count(counted: dict[str, str], cap: int) -> int:
    # COUNT over at most ``cap`` rows: a full queue costs no more to check than a short one.
    queued = InboundPing.objects.filter(state=InboundPing.State.QUEUED, **counted)
    return queued.order_by().values("pk")[:cap].count()


def process_next(on_claim: Callable[[datetime], None] | None = None) -> InboundPing | None:
    """Claim the fairest due row and verify it; the row as it ended, or None if no row could
    be claimed (none due, or every due row's sender or domain at its concurrency cap).

    ``on_claim`` is called with the claim's end, after the claim and before the verification:
    a verifier that dies leaves the row to whoever takes it once that time has passed.
    """
    now = timezone.now()
    until = now + timedelta(seconds=app_settings.FETCH_DEADLINE + _CLAIM_MARGIN)
    row = _claim_fairest(now, until)
    if row is None:
        return None
    if on_claim is not None:
        on_claim(until)
    return _verify(row)


def _claim_fairest(now: datetime, until: datetime) -> InboundPing | None:
    """Claim the fairest due row (see :func:`_candidates`) and return it, or None."""
    alias = router.db_for_write(InboundPing)
    if _returns_from_update(alias):
        # One statement that picks, claims and returns the row; a verifier that picked the
        # same row a moment before leaves it not due, and the next try picks another.
        for _attempt in range(_CANDIDATES):
            row, picked = _claim_returning(alias, now, until)
            if row is not None or not picked:
                return row
        return None
    for pk in _candidates(now):
        if claim(pk, until, now):
            return InboundPing.objects.select_related("site").get(pk=pk)
    return None


def _returns_from_update(alias: str) -> bool:
    """Whether the database returns rows from an UPDATE in the form :func:`_claim_sql`
    writes (PostgreSQL; SQLite from 3.35)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        return True
    database = getattr(connection, "Database", None)
    version: tuple[int, ...] = getattr(database, "sqlite_version_info", (0,))
    return connection.vendor == "sqlite" and version >= (3, 35)


def _claim_returning(
    alias: str, now: datetime, until: datetime
) -> tuple[InboundPing | None, bool]:
    """The row claimed, or None; and whether a due row under the caps was found at all."""
    connection = connections[alias]
    adapt = connection.ops.adapt_datetimefield_value
    moment = adapt(now)
    params: list[Any] = [
        InboundPing.State.VERIFYING,
        adapt(until),
        *_candidates_params(moment),
        *_due_params(moment),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_returning_sql(alias), params)
        found = cursor.fetchone()
        if found is None:
            # Picked but taken by another verifier meanwhile, or nothing to pick: tell apart.
            cursor.execute(_candidates_sql(alias, 1), _candidates_params(moment))
            return None, cursor.fetchone() is not None
    return rows.instance(InboundPing, alias, found), True


def verify_for(
    seconds: float, on_claim: Callable[[datetime], None] | None = None
) -> tuple[int, bool]:
    """Verify queued pings, the fairest first, until none can be claimed or ``seconds`` have
    passed; return how many, and whether time ran out with pings still to take. ``on_claim``:
    see :func:`process_next`."""
    ends = time.monotonic() + seconds
    count = 0
    while time.monotonic() < ends:
        if process_next(on_claim) is None:
            return count, False
        count += 1
    return count, True


def next_wake(now: datetime | None = None) -> datetime | None:
    """When a waiting ping next becomes claimable without any verifier finishing one: the
    earliest ``not_before`` of deferred rows, or ``claimed_until`` of rows being verified (a
    verifier that died). None when nothing waits."""
    now = now or timezone.now()
    waiting = InboundPing.objects.waiting()
    deferred = waiting.filter(state=InboundPing.State.QUEUED, not_before__gt=now)
    claimed = waiting.filter(state=InboundPing.State.VERIFYING, claimed_until__gt=now)
    times = [
        deferred.aggregate(first=Min("not_before"))["first"],
        claimed.aggregate(first=Min("claimed_until"))["first"],
    ]
    found = [when for when in times if when is not None]
    return min(found) if found else None


def _candidates(now: datetime) -> list[uuid.UUID]:
    """The primary keys of the fairest due rows (at most 20) whose sender and source domain
    are under their concurrency cap."""
    alias = router.db_for_write(InboundPing)  # where the claims are made: no replica's lag
    connection = connections[alias]
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_candidates_sql(alias), _candidates_params(moment))
        found = [row[0] for row in cursor.fetchall()]
    return [InboundPing._meta.pk.to_python(pk) for pk in found]


def claim(pk: uuid.UUID, until: datetime, now: datetime | None = None) -> bool:
    """Take the due row ``pk`` for verification until ``until``; False if it is not due (another
    verifier took it first)."""
    alias = router.db_for_write(InboundPing)
    connection = connections[alias]
    adapt = connection.ops.adapt_datetimefield_value
    key = InboundPing._meta.pk.get_db_prep_value(pk, connection)
    params = [
        InboundPing.State.VERIFYING,
        adapt(until),
        key,
        *_due_params(adapt(now or timezone.now())),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(alias), params)
        return bool(cursor.rowcount == 1)


# Written out once per database, like the INSERT above: composing these with the ORM on every
# claim cost more CPU (4-5 ms) than running them. Quoted names of our own table and columns
# only; every value is a parameter.


def _due_sql(quote: Callable[[str], str]) -> str:
    """Rows queued and due, or whose verifier's claim ran out (InboundPing.objects.due())."""
    state, not_before, claimed = quote("state"), quote("not_before"), quote("claimed_until")
    return (
        f"(({state} = %s AND ({not_before} IS NULL OR {not_before} <= %s)) "
        f"OR ({state} = %s AND {claimed} <= %s))"
    )


def _due_params(moment: object) -> tuple[object, ...]:
    return (InboundPing.State.QUEUED, moment, InboundPing.State.VERIFYING, moment)


# Due rows a claim picks from: past them, every one having been taken by another verifier
# meanwhile, the verifier stops and the next task tries again.
_CANDIDATES = 20


def _candidates_params(moment: object) -> list[Any]:
    """The parameters of :func:`_candidates_sql` at ``moment``."""
    busy = [InboundPing.State.VERIFYING, moment, app_settings.INBOUND_CONCURRENCY]
    queued, verifying = InboundPing.State.QUEUED, InboundPing.State.VERIFYING
    return [queued, moment, *busy, *busy, verifying, moment, *busy, *busy]


@lru_cache(maxsize=8)
def _candidates_sql(alias: str, limit: int = _CANDIDATES) -> str:
    quote = connections[alias].ops.quote_name
    table = quote(InboundPing._meta.db_table)
    state, claimed, not_before = quote("state"), quote("claimed_until"), quote("not_before")
    key, order = quote("id"), f"{quote('turn')}, {quote('received_at')}"

    def under_cap(column: str) -> str:
        # Not one of the senders (domains) with ``cap`` rows being verified now.
        return (
            f"{quote(column)} NOT IN (SELECT {quote(column)} FROM {table} "  # noqa: S608
            f"WHERE {state} = %s AND {claimed} > %s "
            f"GROUP BY {quote(column)} HAVING COUNT(*) >= %s)"
        )

    def fairest(due: str, name: str) -> str:
        # One state's due rows in fair order, through the state/turn/received_at index: the
        # scan stops at the first ``limit`` rows under the caps, however many wait.
        return (
            f"SELECT {key}, {order} FROM (SELECT {key}, {order} FROM {table} "  # noqa: S608
            f"WHERE {due} AND {under_cap('sender')} AND {under_cap('source_domain')} "
            f"ORDER BY {order} LIMIT {int(limit)}) AS {name}"
        )

    # Queued rows that are due, and rows whose verifier's claim ran out (the due() of
    # InboundPing.objects), each read on its own: one condition over both states made
    # PostgreSQL read and sort every waiting row (3.6 ms with 4,000 waiting).
    queued = fairest(f"{state} = %s AND ({not_before} IS NULL OR {not_before} <= %s)", "queued")
    abandoned = fairest(f"{state} = %s AND {claimed} <= %s", "abandoned")
    return (
        f"SELECT {key} FROM ({queued} UNION ALL {abandoned}) AS due "  # noqa: S608
        f"ORDER BY {order} LIMIT {int(limit)}"
    )


@lru_cache(maxsize=4)
def _claim_sql(alias: str) -> str:
    return _claim_of(alias, "%s")


@lru_cache(maxsize=4)
def _claim_returning_sql(alias: str) -> str:
    """:func:`_claim_sql` of the fairest due row (:func:`_candidates_sql`, the first), which
    it returns."""
    picked = f"({_candidates_sql(alias, 1)})"
    return f"{_claim_of(alias, picked)} RETURNING {rows.columns(InboundPing, alias)}"


def _claim_of(alias: str, row: str) -> str:
    """The UPDATE that claims the row whose key ``row`` gives, if it is still due."""
    quote = connections[alias].ops.quote_name
    attempts = quote("attempts")
    return (
        f"UPDATE {quote(InboundPing._meta.db_table)} "  # noqa: S608
        f"SET {quote('state')} = %s, {quote('claimed_until')} = %s, {attempts} = {attempts} + 1 "
        f"WHERE {quote('id')} = {row} AND {_due_sql(quote)}"
    )


def _verify(row: InboundPing) -> InboundPing:
    """Put a claimed row through the pipeline; record how it ended, or queue it again."""
    try:
        backlink = receive(_ping(row), site=_site(row))
    except VerifyLater as later:
        row.state = InboundPing.State.QUEUED
        row.not_before = timezone.now() + timedelta(seconds=max(1.0, later.retry_after))
        row.claimed_until = None
        row.detail = later.message[: limits.MESSAGE]
        _defer_domain(row)
    except AlreadyRegistered as error:
        stored = _stored_before(row)
        if stored is None:
            _finish(row, InboundPing.State.REJECTED, error.message, error.detail)
        else:
            row.backlink = stored
            _finish(row, InboundPing.State.ACCEPTED, "")
    except BacklinkError as error:
        _finish(row, InboundPing.State.REJECTED, error.message, error.detail)
    except Exception:
        # A bug of ours met by some source page: the row must not stay queued forever.
        logger.exception("Unexpected error verifying inbound ping %s", row.pk)
        _finish(row, InboundPing.State.REJECTED, "The source could not be processed.", "")
    else:
        row.backlink = backlink
        if backlink.status == Status.REMOVED:
            _finish(row, InboundPing.State.REMOVED, "The source no longer links to the target.")
        else:
            _finish(row, InboundPing.State.ACCEPTED, "")
    # Like the INSERT and the claim, SQL written once, with no signal sent: the queue's rows
    # are the app's own bookkeeping. A row deleted meanwhile (privacy.erase) stays deleted.
    rows.update(row, _ENDED_FIELDS)
    return row


def _stored_before(row: InboundPing) -> Backlink | None:
    """For a row claimed before (``attempts`` > 1), the backlink already stored for its target
    and source: a verifier that stored it and was killed before ending the row left it to be
    claimed again, and the ping is accepted, not refused as a twin of itself."""
    if row.attempts <= 1:
        return None
    try:
        target = _target(row)
    except BacklinkError:
        return None
    return None if target is None else stored_twin(target, row.source_url)


def _site(row: InboundPing) -> Site:
    """The row's site: the current one as Django keeps it in memory when it is that one."""
    if not InboundPing.site.is_cached(row) and row.site_id == getattr(settings, "SITE_ID", None):
        row.site = Site.objects.get_current()
    return row.site


# What verifying a row changes in it (a smaller UPDATE than the whole row's).
_ENDED_FIELDS = [
    "state",
    "message",
    "detail",
    "backlink",
    "not_before",
    "claimed_until",
    "updated_at",
]


def _defer_domain(row: InboundPing) -> None:
    """The source's server was fetched too often lately: its domain's other due rows wait for
    the same moment, in one statement, rather than each being claimed only to learn that."""
    if row.source_domain:
        InboundPing.objects.due().filter(
            state=InboundPing.State.QUEUED, source_domain=row.source_domain
        ).exclude(pk=row.pk).update(not_before=row.not_before, detail=row.detail)


def _finish(row: InboundPing, state: str, message: str, detail: str = "") -> None:
    row.state = state
    row.message = message[: limits.MESSAGE]
    row.detail = detail[: limits.MESSAGE]
    row.claimed_until = None


def _ping(row: InboundPing) -> Ping:
    return Ping(
        kind=Kind(row.kind),
        source_url=row.source_url,
        target_url=row.target_url,
        title=row.title,
        excerpt=row.excerpt,
        blog_name=row.blog_name,
        remote_ip=row.remote_ip,
        user_agent=row.user_agent,
        target=_target(row),
        verify=row.kind != Kind.TRACKBACK or app_settings.VERIFY_TRACKBACKS,
    )


def _target(row: InboundPing) -> models.Model | None:
    if row.target_content_type_id is None:
        return None
    # ContentType's cache, not a query per row.
    model = ContentType.objects.get_for_id(row.target_content_type_id).model_class()
    if model is None:
        raise TargetNotFound()
    try:
        # get(), not first(): no ORDER BY to compose for the one row a key finds.
        target = model._default_manager.get(pk=row.target_object_id)
    except (ObjectDoesNotExist, ValidationError, ValueError):
        raise TargetNotFound() from None
    if registry.get_registration(target) is None:
        raise TargetNotFound()
    return target


def prune(days: int) -> int:
    """Delete rows verified or refused more than ``days`` days ago (they hold the sender's
    address); return how many. Rows still waiting are kept whatever their age."""
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = (
        InboundPing.objects.exclude(
            state__in=[InboundPing.State.QUEUED, InboundPing.State.VERIFYING]
        )
        .filter(updated_at__lt=cutoff)
        .delete()
    )
    return deleted
