"""Webmention (W3C Recommendation, 2017-01-12) on the wire: endpoint discovery and sending.

:func:`discover_endpoint_in` finds the endpoint a fetched target advertises (first HTTP ``Link``
header with rel ``webmention``, else the first ``<link>`` or ``<a>`` with that rel in document
order); :func:`send` posts ``source`` and ``target`` to it. Both raise :class:`DeliveryError`
subclasses. The receiving side needs no wire format beyond a form: see
:mod:`backlinks_django.views` and :mod:`backlinks_django.inbound`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from http import HTTPStatus
from urllib.parse import urlencode

from backlinks_django import fetch, html, weburl
from backlinks_django.exceptions import PeerHTTPError
from backlinks_django.html import to_plain_text
from backlinks_django.protocols import discovery, fetch_from_peer
from backlinks_django.text import crop

__all__ = [
    "ANSWER_BYTES",
    "DISCOVERY_BYTES",
    "LOCATION_MAX_LENGTH",
    "REASON_MAX_LENGTH",
    "discover_endpoint_in",
    "send",
]

# Bytes of a target read for discovery, by one GET serving every protocol (send.py): an
# <a rel="webmention"> may sit deep in <body>.
DISCOVERY_BYTES = 256 * 1024
# Bytes of an endpoint's answer read; only the status, Location and a short reason are kept.
ANSWER_BYTES = 16 * 1024
# Characters of a refusing endpoint's explanation kept in the error message.
REASON_MAX_LENGTH = 200
# Longest Location shown in a success message.
LOCATION_MAX_LENGTH = 500

_REL = "webmention"
_OWS = " \t"


def discover_endpoint_in(response: fetch.Response) -> str | None:
    """The Webmention endpoint a fetched target advertises, per the W3C rules; None if none.

    Raises :class:`PeerHTTPError` when the target answered an HTTP error (it is dead).
    """
    if response.status >= 400:
        raise PeerHTTPError(response.status)
    # The header is resolved against the URL that answered (after redirects), never <base>.
    for href in _link_header_endpoints(_header_text(response.headers.get("Link", ""))):
        endpoint = weburl.web_url(response.url, href)
        # An unusable endpoint (mailto:, a bad URL) advertises nothing; later ones may still.
        if endpoint is not None:
            return endpoint
    if not response.is_html:
        return None
    # Parsing, not pattern matching, so that comments and escaped text ("&lt;link ...&gt;")
    # are never taken for elements; a <link> in the body or an <a> in the head counts.
    return discovery.rel_link(response.text, response.url, _REL, ("link", "a"))


def send(endpoint: str, source_url: str, target_url: str, *, user_agent: str) -> str:
    """POST source and target form-encoded; any 2xx is success. A short description of it.

    ``"201 Created, status at <Location>"``, ``"202 Accepted"``, ``"200 OK"``...; a 4xx or 5xx
    raises :class:`PeerHTTPError` (retried for 429 and 5xx).
    """
    # The endpoint's own query string stays in its URL: the spec forbids moving it into the body.
    body = urlencode([("source", source_url), ("target", target_url)], encoding="utf-8")
    # Only 307 and 308 keep a POST a POST; a 301/302/303 would turn it into a GET of
    # some page whose 200 would read as delivered. So redirects are followed by hand.
    for _hop in range(2):
        response = fetch_from_peer(
            endpoint,
            method="POST",
            data=body.encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": user_agent,
            },
            max_bytes=ANSWER_BYTES,
            truncate=True,
            follow_redirects=False,
        )
        location = response.headers.get("Location", "").strip()
        if response.status not in (307, 308) or not location:
            break
        next_endpoint = weburl.web_url(response.url, _header_text(location))
        if next_endpoint is None:
            raise PeerHTTPError(response.status)  # redirected to nowhere usable
        endpoint = next_endpoint
    if not 200 <= response.status < 300:
        raise _http_error(response)
    description = _status_line(response.status)
    location = response.headers.get("Location", "").strip()
    status_url = weburl.web_url(response.url, _header_text(location)) if location else None
    if response.status == 201 and status_url:
        description = f"{description}, status at {crop(status_url, LOCATION_MAX_LENGTH)}"
    return description


# --- HTTP Link header (RFC 8288) -----------------------------------------------------------------


def _link_header_endpoints(value: str) -> Iterator[str]:
    """The targets, as written, of the link-values whose rel includes "webmention", in order."""
    for target, params in _link_values(value):
        if html.has_rel(params.get("rel", ""), _REL):
            yield target


def _link_values(value: str) -> Iterator[tuple[str, Mapping[str, str]]]:
    """Each ``<target>; name=value...`` of a Link header, its parameter names lower-cased.

    Several headers arrive joined by commas, so this also splits those. Commas and semicolons
    inside ``<...>`` or a quoted string belong to it; a malformed link-value is skipped.
    """
    position, length = 0, len(value)
    while position < length:
        position = _skip(value, position, _OWS + ",")
        if position >= length:
            return
        if value[position] != "<":
            position = _next_link_value(value, position)
            continue
        end = value.find(">", position + 1)
        if end < 0:
            return
        target = value[position + 1 : end].strip(_OWS)
        position = end + 1
        params: dict[str, str] = {}
        well_formed = True
        while True:
            position = _skip(value, position, _OWS)
            if position >= length or value[position] == ",":
                break
            if value[position] != ";":
                # Junk after the target: drop this link-value (it may be a mangled URL).
                position, well_formed = _next_link_value(value, position), False
                break
            name, param, position = _link_param(value, position + 1)
            # RFC 8288 section 3: occurrences of a parameter after the first are ignored.
            if name and name not in params:
                params[name] = param
        if well_formed:
            yield target, params


def _link_param(value: str, position: int) -> tuple[str, str, int]:
    """The lower-cased name and the value of the parameter at ``position``, and where it ends."""
    length = len(value)
    position = _skip(value, position, _OWS)
    start = position
    while position < length and value[position] not in "=;," + _OWS:
        position += 1
    name = value[start:position].lower()
    position = _skip(value, position, _OWS)
    if position >= length or value[position] != "=":
        return name, "", position
    position = _skip(value, position + 1, _OWS)
    if position < length and value[position] == '"':
        param, position = _quoted_string(value, position)
        return name, param, position
    start = position
    while position < length and value[position] not in ";,":
        position += 1
    return name, value[start:position].strip(_OWS), position


def _quoted_string(value: str, position: int) -> tuple[str, int]:
    """The unescaped content of the quoted string opening at ``position``, and where it ends."""
    chars: list[str] = []
    position += 1
    while position < len(value):
        char = value[position]
        if char == '"':
            return "".join(chars), position + 1
        if char == "\\" and position + 1 < len(value):
            position += 1
            char = value[position]
        chars.append(char)
        position += 1
    return "".join(chars), position  # unterminated: the rest of the header


def _next_link_value(value: str, position: int) -> int:
    """Where the link-value after the malformed one at ``position`` starts (past a comma)."""
    while position < len(value):
        char = value[position]
        if char == '"':
            _param, position = _quoted_string(value, position)
            continue
        if char == ",":
            return position + 1
        position += 1
    return position


def _skip(value: str, position: int, chars: str) -> int:
    while position < len(value) and value[position] in chars:
        position += 1
    return position


def _header_text(value: str) -> str:
    """A header value as sent: http.client decodes bytes as Latin-1, servers mostly send UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


# --- Answers -------------------------------------------------------------------------------------


def _status_line(status: int) -> str:
    """``"202 Accepted"``; the bare number for a status Python does not know."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _http_error(response: fetch.Response) -> PeerHTTPError:
    """PeerHTTPError for the answer, with the start of the explanation the endpoint gave."""
    error = PeerHTTPError(response.status)
    # Receivers explain refusals ("source does not link to target") in the body; keep a short,
    # tag-free start of it for the outbound log, never the whole of a hostile peer's page.
    reason = to_plain_text(response.text, REASON_MAX_LENGTH) if response.content else ""
    if reason:
        error.message = f"{error.message}: {reason}"
        error.args = (error.message,)
    return error
