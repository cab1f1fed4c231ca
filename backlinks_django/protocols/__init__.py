"""Wire formats and client calls of the backlink protocols, free of models and the pipeline.

Modules here import only each other, the fetcher, :mod:`~backlinks_django.html`, exceptions,
limits and choices; the servers' HTTP glue is in ``views.py`` and ``xmlrpc.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from backlinks_django import fetch
from backlinks_django.exceptions import NoEndpoint, PeerTimeout, PeerUnreachable

__all__ = ["fetch_from_peer"]


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
