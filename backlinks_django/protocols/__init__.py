"""Wire formats and client calls of the backlink protocols."""

from __future__ import annotations

from collections.abc import Mapping

from backlinks_django import fetch
from backlinks_django.exceptions import NoEndpoint, PeerTimeout, PeerUnreachable


def fetch_from_peer(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    truncate: bool = False,
    follow_redirects: bool = True,
) -> fetch.Response:
    """:func:`fetch.fetch` for sending, its errors turned into delivery errors."""
    try:
        return fetch.fetch(
            url,
            method=method,
            data=data,
            headers=headers,
            max_bytes=max_bytes,
            truncate=truncate,
            follow_redirects=follow_redirects,
        )
    except fetch.FetchTimeout as exc:
        raise PeerTimeout(exc.message) from exc
    except (fetch.AddressNotAllowed, fetch.InvalidURL) as exc:
        # A URL we may never fetch will not become fetchable: retrying is pointless.
        raise NoEndpoint(exc.message) from exc
    except fetch.FetchError as exc:
        raise PeerUnreachable(exc.message) from exc
