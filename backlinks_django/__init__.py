"""Pingback, TrackBack and Webmention for Django sites: receive, verify, moderate, send."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backlinks_django.environment import muted

__all__ = ["muted"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazily: importing the package (settings.py, INSTALLED_APPS) must not load Django's settings.
    if name == "muted":
        from backlinks_django.environment import muted

        return muted
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
