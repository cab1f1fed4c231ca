"""The only way the app touches the network: an HTTP client with an address guard and limits.

What :func:`fetch` guarantees, for every request the app sends:

- **Addresses.** Only http and https URLs, without credentials, on ``ALLOWED_PORTS``. Each hop's
  host is resolved once and every address it resolves to is checked: one that is not public
  (loopback, private, link-local, multicast, reserved, or an IPv6 form embedding such an IPv4
  address) and not in ``ALLOWED_NETWORKS`` refuses the hop before any connection. The
  connection then goes to the checked address itself; the URL's host is only sent as ``Host``
  and used for SNI and the certificate check, so DNS rebinding cannot switch it. No proxy from
  the environment is used.
- **Load on a server.** Each hop counts against the address it connects to (an IPv6 one by its
  network), whatever name led there: at most ``RATE_LIMIT_PER_FETCHED_HOST`` requests per
  window, or :class:`HostBusy` (with ``retry_after``) before connecting. Fetches inside
  :func:`outbound` (sending our own pings) are counted apart from the others (verifying
  strangers' pings), so strangers cannot use up what our own sending needs.
- **Redirects.** Followed here, at most ``FETCH_MAX_REDIRECTS``, each hop parsed and checked like
  the first; credentials are not sent to another origin.
- **Time.** One deadline (``FETCH_DEADLINE``, or sooner under :func:`ending_by`) bounds the
  whole call, redirects and body included: every connect, read and write waits only for what
  is left of it, so a peer sending a byte now and then cannot hold a fetch open.
- **Size.** The body is read in chunks and bounded after decompression (``max_bytes``, by
  default ``FETCH_MAX_BYTES``), and the compressed input too, so neither an endless body nor a
  compression bomb is held in memory.
- **Errors.** Non-2xx statuses are answers, not errors; every failure is a :class:`FetchError`
  (only a malformed ``method``, a caller's bug, is a ValueError).

Modules, each depending only on those before it: ``response`` (the Response), ``deadline``,
``target`` (URL parsing), ``guard`` (address policy), ``budget`` (the per-server cap),
``hops`` (requests and redirects), ``transport`` (pinned connections), ``body`` (bounded
reading).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager

from requests.structures import CaseInsensitiveDict
from urllib3.response import BaseHTTPResponse

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import (
    AddressNotAllowed,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HostBusy,
    InvalidURL,
    ResponseTooLarge,
    TooManyRedirects,
)
from backlinks_django.fetch import budget, guard, hops, transport
from backlinks_django.fetch.body import read_body
from backlinks_django.fetch.budget import outbound
from backlinks_django.fetch.deadline import Deadline, bounded, ending_by, start_deadline
from backlinks_django.fetch.guard import check_address, resolve_host
from backlinks_django.fetch.hops import Hop, user_agent
from backlinks_django.fetch.response import Response

logger = logging.getLogger(__name__)

__all__ = [
    "AddressNotAllowed",
    "ConnectionFailed",
    "FetchError",
    "FetchTimeout",
    "HostBusy",
    "InvalidURL",
    "Response",
    "ResponseTooLarge",
    "TooManyRedirects",
    "check_address",
    "ending_by",
    "fetch",
    "outbound",
    "resolve_host",
    "user_agent",
]


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    truncate: bool = False,
    follow_redirects: bool = True,
) -> Response:
    """Fetch ``url`` within the app's address, time, size and redirect limits.

    Non-2xx statuses are returned, not raised; every failure raises a :class:`FetchError`.
    """
    deadline = start_deadline()
    limit = app_settings.FETCH_MAX_BYTES if max_bytes is None else max_bytes
    max_redirects = app_settings.FETCH_MAX_REDIRECTS
    hop = hops.first_hop(url, method, data, headers)
    logger.debug("Fetching %s %s", hop.method, url)
    redirects = 0
    while True:
        with _send(hop, deadline) as response:
            location = hops.redirect_location(response) if follow_redirects else None
            if location is None:
                return _received(hop, response, limit, truncate, deadline)
            if redirects >= max_redirects:
                logger.info("Fetching %s %s: more than %d redirects", hop.method, url, redirects)
                raise TooManyRedirects(f"The URL redirected more than {max_redirects} times.")
            redirects += 1
            hop = hops.redirected(hop, response.status, location)


def _send(hop: Hop, deadline: Deadline) -> AbstractContextManager[BaseHTTPResponse]:
    """Check the hop's addresses and charge the first one's budget, then send the hop to it.

    The response's body is left unread; leaving the returned context closes the connection.
    """
    # resolve_host is looked up here, in the package, so that tests can replace it. Under a
    # caller's bound (a web request's verification budget, a sending task's deadline) the
    # lookup is given up on with the fetch.
    resolve = resolve_host if not bounded() else guard.within(resolve_host, deadline.remaining())
    addresses = guard.checked_addresses(hop.target, resolve)
    budget.charge(addresses[0], hop.target.url)
    return transport.exchange(hop, addresses[0], deadline)


def _received(
    hop: Hop, response: BaseHTTPResponse, limit: int, truncate: bool, deadline: Deadline
) -> Response:
    """The final answer, its body read within ``limit`` (cut there if ``truncate``)."""
    content, truncated = read_body(response, limit, truncate, deadline)
    logger.info(
        "Fetched %s %s: status %d, %d bytes%s",
        hop.method,
        hop.target.url,
        response.status,
        len(content),
        " (truncated)" if truncated else "",
    )
    return Response(
        url=hop.target.url,
        status=response.status,
        headers=CaseInsensitiveDict(response.headers),
        content=content,
        truncated=truncated,
    )
