"""The app's errors, in one hierarchy under :class:`Error`.

Three branches: :class:`BacklinkError` (a received ping refused, carrying its Pingback fault
code and HTTP status), :class:`DeliveryError` (a ping we sent that failed, recorded as an
outcome) and :class:`FetchError` (the fetcher produced no response). Every ``message`` may be
shown to a remote peer, so none names internals.
"""

from __future__ import annotations

import math


class Error(Exception):
    """Base class of every error the app raises; ``message`` is safe to show a peer."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class BacklinkError(Error):
    """A received ping that cannot be accepted.

    ``message`` is what the sender is told; ``detail`` is for the log and the site's staff
    (what the fetcher saw of the source's address, say), never sent to a peer.
    """

    fault_code = 0
    http_status = 400
    default_message = "The ping could not be accepted."

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        super().__init__(message or self.default_message)
        self.detail = detail or self.message


class VerifyLater(Error):
    """Verification cannot finish now (the request's time budget ran out, the page is larger
    than a request may read, or the source's host was fetched too often lately): queue it."""

    def __init__(self, why: str, retry_after: float = 0.0) -> None:
        super().__init__(why)
        self.retry_after = max(0.0, retry_after)


class InvalidRequest(BacklinkError):
    """Malformed arguments: wrong count or type, bad URL, source equals target."""

    fault_code = 0
    http_status = 400
    default_message = "The request is not a valid ping."


class SourceNotFound(BacklinkError):
    """The source page could not be fetched."""

    fault_code = 16
    http_status = 400
    default_message = "The source URL could not be fetched."


class SourceGone(SourceNotFound):
    """The source answered 410 Gone: its author deleted it."""

    default_message = "The source URL is gone."


class NoLinkToTarget(BacklinkError):
    """The source page does not link to the target."""

    fault_code = 17
    http_status = 400
    default_message = "The source page does not link to the target."


class TargetNotFound(BacklinkError):
    """The target URL does not exist on this site."""

    fault_code = 32
    http_status = 404
    default_message = "The target URL does not exist."


class TargetNotPingable(BacklinkError):
    """The target exists but does not take pings (not registered, closed, switched off)."""

    fault_code = 33
    http_status = 403
    default_message = "The target URL cannot be used as a target."


class AlreadyRegistered(BacklinkError):
    """A backlink from this source to this target is already stored."""

    fault_code = 48
    http_status = 409
    default_message = "A backlink from this source to this target is already registered."


class AccessDenied(BacklinkError):
    """The sender or the source is refused (a blocked domain; rate limits: RateLimited)."""

    fault_code = 49
    http_status = 403
    default_message = "Access denied."


class RateLimited(AccessDenied):
    """Too many pings from this address or source domain lately; the sender may retry."""

    http_status = 429

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"Too many pings lately; try again in {self.retry_after} seconds.")


class DeliveryError(Error):
    """Sending a ping to a peer failed; subclasses say how (recorded on the outbound log)."""

    retry = True


class NoEndpoint(DeliveryError):
    """The target advertises no endpoint for the protocol."""

    retry = False


class PeerFault(DeliveryError):
    """The peer answered an XML-RPC fault."""

    # Faults that will not change on a retry (Pingback 1.0 codes).
    PERMANENT = frozenset({16, 17, 32, 33, 48, 49})

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        super().__init__(f"Fault {code}: {message}" if message else f"Fault {code}")
        self.retry = code not in self.PERMANENT and code != 0


class PeerRejected(DeliveryError):
    """The peer refused the ping without a usable reason (TrackBack error 1)."""

    retry = False


class PeerHTTPError(DeliveryError):
    """The peer answered with an HTTP error status."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(f"HTTP {status}")
        self.retry = status == 429 or status >= 500


class PeerUnreachable(DeliveryError):
    """The peer could not be reached or answered something unreadable."""


class PeerTimeout(PeerUnreachable):
    """The peer did not answer in time."""


class FetchError(Error):
    """A fetch that did not produce a response."""


class InvalidURL(FetchError):
    """Not an http(s) URL with a host, or with user-info, a bad port, or too long."""


class AddressNotAllowed(FetchError):
    """The host resolves to an address that is not public and not explicitly allowed."""


class FetchTimeout(FetchError):
    """The connection or the whole fetch took longer than allowed."""


class ResponseTooLarge(FetchError):
    """The body is larger than the limit (and truncation was not asked for)."""


class TooManyRedirects(FetchError):
    """More redirect hops than ``FETCH_MAX_REDIRECTS``."""


class HostBusy(FetchError):
    """This site sent that server too many requests lately (RATE_LIMIT_PER_FETCHED_HOST).

    ``retry_after``: whole seconds until the window frees (at least 1), for rescheduling.
    """

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Too many requests to that server lately; try again in {self.retry_after} seconds."
        )


class ConnectionFailed(FetchError):
    """DNS failure, refused or reset connection, TLS failure or malformed HTTP."""
