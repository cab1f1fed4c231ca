"""Delivering pings over the network: discovery, the protocol calls, and what came of them.

Nothing here touches the database (nor imports the models): threads of
:func:`deliver_each` only talk to peers, and the caller records each result in its own thread
as it comes, so one task holds one database connection whatever the number of links.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from backlinks_django import fetch
from backlinks_django.choices import Kind, Outcome, Protocol
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    DeliveryError,
    NoEndpoint,
    PeerFault,
    PeerHTTPError,
    PeerRejected,
    PeerTimeout,
    PeerUnreachable,
)
from backlinks_django.protocols import (
    fetch_from_peer,
    pingback,
    trackback,
    weblogupdates,
    webmention,
)
from backlinks_django.results import Result

logger = logging.getLogger(__name__)

# Seconds after the sending deadline that deliver_each waits for requests cut off at it.
DEADLINE_GRACE = 2.0
UNEXPECTED = "Unexpected error; see the server log."


@dataclass(frozen=True)
class Source:
    """What we tell peers about the object whose links we ping."""

    url: str
    title: str
    excerpt: str
    blog_name: str
    html: str
    user_agent: str
    # For update services: the site's home page, and its feed (blank: none known).
    site_url: str = ""
    feed_url: str = ""


@dataclass(frozen=True)
class Job:
    """One link to deliver; ``trackback_url`` is set for editor-requested TrackBacks, and
    ``update_service`` when ``target_url`` is an update service to tell (weblogUpdates)."""

    target_url: str
    trackback_url: str = ""
    update_service: bool = False


@dataclass
class HostGate:
    """At most ``per_host`` requests at once to one host; pings ``interval`` seconds apart.

    Nothing passes after ``ends_at`` (a ``time.monotonic()``): the sending deadline.
    """

    per_host: int
    interval: float
    ends_at: float = math.inf
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: dict[str, threading.Semaphore] = field(default_factory=dict)
    _next_ping: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def slot(self, url: str, *, ping: bool = False) -> Iterator[None]:
        """Hold a request slot for ``url``'s host; a ``ping`` also waits for its turn."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.Semaphore(self.per_host))
        with semaphore:
            if ping:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_ping[host])
                    if start >= self.ends_at:
                        raise PeerTimeout("The sending deadline passed before its turn.")
                    self._next_ping[host] = start + self.interval
                if start > now:
                    time.sleep(start - now)
            yield


def deliver_all(jobs: Sequence[Job], source: Source, *, seconds: float) -> list[Result]:
    """Deliver ``jobs`` concurrently (:func:`deliver_each`); their results, in their order."""
    results: list[Result | None] = [None] * len(jobs)
    for index, result in deliver_each(jobs, source, seconds=seconds):
        results[index] = result
    return [result for result in results if result is not None]


def deliver_each(
    jobs: Sequence[Job], source: Source, *, seconds: float
) -> Iterator[tuple[int, Result]]:
    """Deliver ``jobs`` concurrently, every request ending within ``seconds``; yield each
    job's index and result as soon as that job has finished, in the caller's thread.

    The caller records each result as it comes: a worker that dies mid-batch has recorded what
    was delivered before, and only the rest goes again. At most ``SEND_CONCURRENCY`` jobs at
    once and ``SEND_PER_HOST`` requests per host. A job still running at the deadline is a
    timeout (yielded last); an unexpected error is logged and yielded as unreachable, and the
    other jobs still go.
    """
    if not jobs:
        return
    ends_at = time.monotonic() + seconds
    gate = HostGate(app_settings.SEND_PER_HOST, app_settings.SEND_HOST_INTERVAL, ends_at)
    pool = ThreadPoolExecutor(max_workers=min(app_settings.SEND_CONCURRENCY, len(jobs)))
    running: dict[Future[Result], int] = {
        pool.submit(deliver_remote, job, source, gate): index for index, job in enumerate(jobs)
    }
    try:
        # Every fetch ends by ends_at (fetch.ending_by), so the pool drains just after it; the
        # grace lets a request cut off at the deadline report its own outcome. The timeout
        # counts from here, the caller's time recording results included.
        for future in as_completed(list(running), timeout=seconds + DEADLINE_GRACE):
            index = running.pop(future)
            yield index, _result_of(jobs[index], future)
    except TimeoutError:
        pass
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for index in sorted(running.values()):
        yield index, Result(Outcome.TIMEOUT, message="The sending deadline passed.", retry=True)


def _result_of(job: Job, future: Future[Result]) -> Result:
    try:
        return future.result()
    except Exception:
        # A bug of ours met by some peer's answer: record it, and the other jobs still.
        logger.exception("Unexpected error while pinging %s", job.target_url)
        return Result(Outcome.UNREACHABLE, message=UNEXPECTED)


def deliver_remote(job: Job, source: Source, gate: HostGate) -> Result:
    """Discover the target's endpoint and ping it; never raises for a peer's failure.

    One GET of the target serves every protocol's discovery; the first protocol of
    ``SEND_PROTOCOLS`` that the target advertises is used; an update service is called without
    discovery. Its requests count against the sending budget of each server
    (:func:`fetch.outbound`), which strangers' pings cannot spend.
    """
    try:
        with fetch.ending_by(gate.ends_at), fetch.outbound():
            return _deliver_remote(job, source, gate)
    except DeliveryError as error:
        return result_for_error(error)


def resend_webmention(
    endpoint: str, source_url: str, target_url: str, *, user_agent: str
) -> Result:
    """Tell a known Webmention endpoint about ``source_url`` again; never raises for a peer."""
    try:
        with fetch.outbound():
            answer = webmention.send(endpoint, source_url, target_url, user_agent=user_agent)
    except DeliveryError as error:
        return result_for_error(error)
    return Result(Outcome.SUCCESS, Kind.WEBMENTION, endpoint, answer)


def _deliver_remote(job: Job, source: Source, gate: HostGate) -> Result:
    if job.update_service:
        with gate.slot(job.target_url, ping=True):
            return _told_update_service(job.target_url, source)
    if job.trackback_url:
        with gate.slot(job.trackback_url, ping=True):
            return _sent_trackback(job.trackback_url, source)
    with gate.slot(job.target_url):
        response = fetch_from_peer(
            job.target_url,
            headers={"User-Agent": source.user_agent},
            max_bytes=webmention.DISCOVERY_BYTES,
            truncate=True,
        )
    if response.status >= 400:
        raise PeerHTTPError(response.status)
    for protocol in app_settings.SEND_PROTOCOLS:
        result = _try_protocol(protocol, response, job, source, gate)
        if result is not None:
            return result
    raise NoEndpoint("The target advertises no endpoint this site sends to.")


def _try_protocol(
    protocol: str, response: fetch.Response, job: Job, source: Source, gate: HostGate
) -> Result | None:
    """Ping through ``protocol`` if the target advertises it; None if it does not."""
    if protocol == Kind.WEBMENTION:
        endpoint = webmention.discover_endpoint_in(response)
        if endpoint:
            with gate.slot(endpoint, ping=True):
                answer = webmention.send(
                    endpoint, source.url, job.target_url, user_agent=source.user_agent
                )
            return Result(Outcome.SUCCESS, Kind.WEBMENTION, endpoint, answer)
    elif protocol == Kind.PINGBACK:
        server = pingback.discover_server_in(response)
        if server:
            with gate.slot(server, ping=True):
                answer = pingback.send_ping(
                    server, source.url, job.target_url, user_agent=source.user_agent
                )
            return Result(Outcome.SUCCESS, Kind.PINGBACK, server, answer)
    elif protocol == Kind.TRACKBACK and response.is_html:
        ping_url = trackback.discover_ping_url(response.text, job.target_url)
        if ping_url:
            with gate.slot(ping_url, ping=True):
                return _sent_trackback(ping_url, source)
    return None


def _sent_trackback(ping_url: str, source: Source) -> Result:
    answer = trackback.send(
        ping_url,
        url=source.url,
        title=source.title,
        excerpt=source.excerpt,
        blog_name=source.blog_name,
        user_agent=source.user_agent,
    )
    return Result(Outcome.SUCCESS, Kind.TRACKBACK, ping_url, answer)


def _told_update_service(service_url: str, source: Source) -> Result:
    message = weblogupdates.notify(
        service_url,
        name=source.blog_name,
        site_url=source.site_url,
        changed_url=source.url,
        feed_url=source.feed_url,
        user_agent=source.user_agent,
    )
    return Result(Outcome.SUCCESS, Protocol.UPDATE_SERVICE, service_url, message)


# The outcome of each kind of failure; a subclass takes that of its nearest base listed here.
OUTCOMES: dict[type[DeliveryError], Outcome] = {
    NoEndpoint: Outcome.NO_ENDPOINT,
    PeerFault: Outcome.FAULT,
    PeerRejected: Outcome.REJECTED,
    PeerHTTPError: Outcome.HTTP_ERROR,
    PeerTimeout: Outcome.TIMEOUT,
    PeerUnreachable: Outcome.UNREACHABLE,
    DeliveryError: Outcome.UNREACHABLE,
}


def result_for_error(error: DeliveryError) -> Result:
    """The result a failed delivery is recorded as: its outcome, message, and whether to retry."""
    if isinstance(error, PeerFault):
        if error.code == 48:
            # The peer already has this backlink: that is what we wanted.
            return Result(Outcome.SUCCESS, message=error.message, fault_code=48)
        # WordPress masks every refusal but 48 as fault 0 with no message.
        outcome = Outcome.REJECTED if error.code == 0 else Outcome.FAULT
        return Result(
            outcome,
            message=error.message,
            fault_code=error.code,
            retry=error.retry,
            flood=error.code == 429,
        )
    if isinstance(error, PeerHTTPError) and error.status == 409:
        # 409 Conflict: the peer already has this backlink (our own receivers say so).
        return Result(Outcome.SUCCESS, message="Already registered at the peer.")
    outcome = next(OUTCOMES[cls] for cls in type(error).__mro__ if cls in OUTCOMES)
    flood = isinstance(error, PeerHTTPError) and error.status == 429
    return Result(outcome, message=error.message, retry=error.retry, flood=flood)
