"""The cap on requests to one server, per address connected to, inbound and outbound apart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from backlinks_django import keys, throttle
from backlinks_django.conf import app_settings
from backlinks_django.exceptions import HostBusy

logger = logging.getLogger(__name__)

INBOUND = "fetched:inbound"
OUTBOUND = "fetched:outbound"

_outbound: ContextVar[bool] = ContextVar("backlinks_fetch_outbound", default=False)


@contextmanager
def outbound() -> Iterator[None]:
    """Within the block, fetches count against the sending budget, not the verifying one.

    Verifying received pings fetches what strangers name; delivering our own pings (discovery
    and the ping) is counted apart, so strangers cannot spend what this site's sending needs.
    """
    token = _outbound.set(True)
    try:
        yield
    finally:
        _outbound.reset(token)


def scope() -> str:
    """The throttle scope fetches in this context count under (:data:`INBOUND` by default)."""
    return OUTBOUND if _outbound.get() else INBOUND


def charge(address: str, url: str = "") -> None:
    """Count one request to ``address`` (for ``url``); raise :class:`HostBusy` if it is over.

    The key is the address (an IPv6 one widened to its network by
    :func:`~backlinks_django.keys.sender_key`), so every name and literal of one server
    share one count.
    """
    budget = scope()
    limit = app_settings.RATE_LIMIT_PER_FETCHED_HOST
    wait = throttle.hit(budget, keys.sender_key(address), limit)
    if wait is not None:
        logger.info("Not fetching %s from %s: %s cap for %.0f s", url, address, budget, wait)
        raise HostBusy(wait)
