"""One time limit for a whole fetch, redirects and body included, and the caller's bound on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import FetchTimeout

# A time.monotonic() by which every fetch in this context ends (sending sets its deadline).
_ends_at: ContextVar[float | None] = ContextVar("backlinks_fetch_ends_at", default=None)


@contextmanager
def ending_by(ends_at: float) -> Iterator[None]:
    """Within the block, fetches end by ``ends_at`` (a ``time.monotonic()``), if that is sooner."""
    token = _ends_at.set(ends_at)
    try:
        yield
    finally:
        _ends_at.reset(token)


def bounded() -> bool:
    """Whether an :func:`ending_by` bound is in force here."""
    return _ends_at.get() is not None


class Deadline:
    """The moment a fetch must be over by, ``seconds`` after it started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; zero or less once the deadline has passed."""
        return self._end - time.monotonic()

    def check(self) -> float:
        """Seconds left; raise FetchTimeout if none are."""
        remaining = self.remaining()
        if remaining <= 0:
            raise self.timeout()
        return remaining

    def timeout(self) -> FetchTimeout:
        """The error for a fetch that ran out of time (for the caller to raise)."""
        return FetchTimeout(f"The remote site did not answer within {self.seconds:g} seconds.")


def start_deadline() -> Deadline:
    """The deadline of a fetch starting now: ``FETCH_DEADLINE``, or sooner under :func:`ending_by`.

    Raises :class:`FetchTimeout` if the :func:`ending_by` bound has already passed.
    """
    seconds = app_settings.FETCH_DEADLINE
    ends_at = _ends_at.get()
    if ends_at is not None:
        seconds = min(seconds, ends_at - time.monotonic())
        if seconds <= 0:
            raise FetchTimeout("The time for these requests is up.")
    return Deadline(seconds)
