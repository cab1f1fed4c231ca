"""The request each hop of a fetch sends, and how a redirect turns one hop into the next."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from requests.structures import CaseInsensitiveDict
from urllib3.response import BaseHTTPResponse

import backlinks_django
from backlinks_django.exceptions import InvalidURL
from backlinks_django.fetch.target import Target, parse_url

logger = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that describe the request body, dropped when a redirect turns the request into a GET.
_BODY_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding")
# Credentials meant for one origin, dropped when a redirect leaves it.
_ORIGIN_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


def user_agent(site_domain: str, purpose: str) -> str:
    """The User-Agent of our requests: app, version, site, and on whose behalf."""
    return f"backlinks_django/{backlinks_django.__version__}; {site_domain}; {purpose}"


@dataclass(frozen=True)
class Hop:
    """One request of a fetch: where it goes (checked URL) and what it sends."""

    target: Target
    method: str
    body: bytes | None
    headers: CaseInsensitiveDict[str]


def first_hop(url: str, method: str, body: bytes | None, headers: Mapping[str, str] | None) -> Hop:
    """The fetch's first request: ``headers`` over the defaults; ValueError for a bad method."""
    method = method.upper()
    if not method.isalpha():
        raise ValueError(f"Invalid HTTP method {method!r}")
    request_headers = CaseInsensitiveDict(
        {
            "User-Agent": f"backlinks_django/{backlinks_django.__version__}",
            "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate",
        }
    )
    request_headers.update(headers or {})
    return Hop(parse_url(url), method, body, request_headers)


def redirect_location(response: BaseHTTPResponse) -> str | None:
    """Where ``response`` redirects to, as sent; None if it is no redirect or names no place."""
    if response.status not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("Location")
    if not location:
        return None
    # http.client decodes header bytes as Latin-1; servers mostly send UTF-8.
    try:
        return location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return location


def redirected(hop: Hop, status: int, location: str) -> Hop:
    """The hop after ``hop`` was redirected (``status``) to ``location``.

    303 (but for HEAD), and 301/302 after POST, turn the request into a body-less GET, as
    browsers do; credentials are dropped when the redirect leaves the origin.
    """
    try:
        next_url = urljoin(hop.target.url, location)
    except ValueError:  # "http://[oops/"
        raise InvalidURL("The redirect location is not a valid URL.") from None
    target = parse_url(next_url)
    logger.debug("Redirect %d from %s to %s", status, hop.target.url, target.url)
    method, body, headers = hop.method, hop.body, CaseInsensitiveDict(hop.headers)
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        for name in _BODY_HEADERS:
            headers.pop(name, None)
    if target.origin != hop.target.origin:
        for name in _ORIGIN_HEADERS:
            headers.pop(name, None)
    return Hop(target, method, body, headers)
