"""Whether this process sends: the site's environment (only production sends), and muting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings

from backlinks_django.conf import app_settings

# WordPress's environment types (wp_get_environment_type()); only the last one sends.
ENVIRONMENTS = ("local", "development", "staging", "production")
PRODUCTION = "production"
# Read when BACKLINKS["ENVIRONMENT"] is not set: one settings module, several servers.
VARIABLE = "BACKLINKS_ENVIRONMENT"

# A context variable, not a global: muting holds in the thread (or asyncio task) that entered
# the block and in the asyncio tasks it starts, never in other requests of the same process.
_muted: ContextVar[bool] = ContextVar("backlinks_django_muted", default=False)


@dataclass(frozen=True)
class Environment:
    """The site's environment and where it was read from (for the start-up check)."""

    name: str
    source: str
    # Guessed from DEBUG rather than said: the start-up check asks the site to say it.
    guessed: bool = False

    @property
    def known(self) -> bool:
        return self.name in ENVIRONMENTS

    @property
    def sends(self) -> bool:
        """Whether pings leave this site: in production only (an unknown name does not send)."""
        return self.name == PRODUCTION


def current() -> Environment:
    """``BACKLINKS["ENVIRONMENT"]``, else ``$BACKLINKS_ENVIRONMENT``, else from ``DEBUG``."""
    configured = app_settings.ENVIRONMENT
    if configured:
        return Environment(configured.strip().lower(), "BACKLINKS['ENVIRONMENT']")
    variable = os.environ.get(VARIABLE, "").strip()
    if variable:
        return Environment(variable.lower(), f"the {VARIABLE} environment variable")
    if settings.DEBUG:
        return Environment("development", "DEBUG = True", guessed=True)
    return Environment(PRODUCTION, "DEBUG = False", guessed=True)


@contextmanager
def muted() -> Iterator[None]:
    """Within the block, saved content records its links as handled and sends nothing.

    For imports: the links of objects saved inside it are never pinged, not even when the
    object is saved again later. Also a decorator. Holds for this thread or asyncio task only.
    """
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    """Whether the caller is inside :func:`muted`."""
    return _muted.get()
