"""System checks of the app's settings and requirements, ids ``backlinks_django.E00x``/``W00x``,
and the start-up notes ``I00x`` saying whether this site sends pings."""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Tags, Warning, register
from django.utils.module_loading import import_string

from backlinks_django import environment, limits
from backlinks_django.defaults import DEFAULTS, RENAMED


@register(Tags.compatibility)
def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Validate ``settings.BACKLINKS`` and the apps the app needs."""
    errors: list[CheckMessage] = []
    for app in ("django.contrib.sites", "django.contrib.contenttypes"):
        if not apps.is_installed(app):
            errors.append(
                Error(
                    f"backlinks_django needs {app!r} in INSTALLED_APPS.",
                    id="backlinks_django.E001",
                )
            )
    user = getattr(settings, "BACKLINKS", {})
    if not isinstance(user, dict):
        return [*errors, Error("settings.BACKLINKS must be a dict.", id="backlinks_django.E002")]
    for name in sorted(set(user) - set(DEFAULTS) - set(RENAMED)):
        errors.append(
            Error(
                f"settings.BACKLINKS has an unknown key {name!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="backlinks_django.E003",
            )
        )
    for network in user.get("ALLOWED_NETWORKS", []):
        try:
            ipaddress.ip_network(network, strict=False)
        except (TypeError, ValueError):
            errors.append(
                Error(
                    f"BACKLINKS['ALLOWED_NETWORKS'] has {network!r}, which is not a network.",
                    hint="Use CIDR strings such as '127.0.0.0/8'.",
                    id="backlinks_django.E004",
                )
            )
    for old in sorted(set(user) & set(RENAMED)):
        new = RENAMED[old]
        ignored = f" (ignored: {new!r} is set too)" if new in user else ""
        errors.append(
            Warning(
                f"settings.BACKLINKS key {old!r} was renamed {new!r}{ignored}.",
                hint=f"Rename the key to {new!r}.",
                id="backlinks_django.W001",
            )
        )
    spam_checks_key = "SPAM_CHECKS" if "SPAM_CHECKS" in user else "CHECKS"
    for path in user.get(spam_checks_key, []):
        try:
            import_string(path)
        except ImportError:
            errors.append(
                Error(
                    f"BACKLINKS[{spam_checks_key!r}] names {path!r}, which cannot be imported.",
                    id="backlinks_django.E005",
                )
            )
    if user.get("AKISMET_API_KEY") and importlib.util.find_spec("akismet") is None:
        errors.append(
            Error(
                "BACKLINKS['AKISMET_API_KEY'] is set but the akismet package is not installed.",
                hint='pip install "backlinks_django[akismet]"',
                id="backlinks_django.E006",
            )
        )
    max_url_length = user.get("MAX_URL_LENGTH", DEFAULTS["MAX_URL_LENGTH"])
    if not isinstance(max_url_length, int) or not 0 < max_url_length <= limits.URL:
        errors.append(
            Error(
                f"BACKLINKS['MAX_URL_LENGTH'] is {max_url_length!r}.",
                hint=f"Use a whole number from 1 to {limits.URL}, the longest URL stored.",
                id="backlinks_django.E007",
            )
        )
    return errors


@register(Tags.compatibility)
def check_environment(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Say at start-up whether this site sends pings, and why (its environment)."""
    env = environment.current()
    if not env.known:
        return [
            Error(
                f"The environment {env.name!r} (from {env.source}) is unknown; no pings are sent.",
                hint=f"Use one of: {', '.join(environment.ENVIRONMENTS)}.",
                id="backlinks_django.E008",
            )
        ]
    if not env.sends:
        return [
            Info(
                f"This site is in {env.name!r} mode (from {env.source}): backlinks_django "
                "sends no pings and no update-service notices.",
                hint=f"Only 'production' sends: set BACKLINKS['ENVIRONMENT'] or "
                f"{environment.VARIABLE}.",
                id="backlinks_django.I001",
            )
        ]
    if env.guessed:
        return [
            Info(
                "This site counts as production because DEBUG is False: backlinks_django "
                "sends pings.",
                hint=f"Say so with BACKLINKS['ENVIRONMENT'] = 'production' (or "
                f"{environment.VARIABLE}), and set 'staging' on copies of this site.",
                id="backlinks_django.I002",
            )
        ]
    return []


@register(Tags.caches)
def check_rate_limit_cache(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Warn when a production site counts its rate limits where processes cannot share them.

    Rate limits, slots held by verifications and author batches live in
    ``BACKLINKS['RATE_LIMIT_CACHE']``. A local-memory cache gives every web process and worker
    a budget of its own (four gunicorn workers let four times the limit through); the dummy
    cache counts nothing; a cache whose ``incr`` is Django's generic read-then-write (the file
    and database caches) loses counts when processes count at once. Redis (Django's built-in
    ``RedisCache``) and Memcached count atomically for all processes.
    """
    if settings.DEBUG and not environment.current().sends:
        return []
    from django.core.cache import BaseCache
    from django.core.cache.backends.dummy import DummyCache
    from django.core.cache.backends.locmem import LocMemCache

    user = getattr(settings, "BACKLINKS", {})
    alias = (user if isinstance(user, dict) else {}).get(
        "RATE_LIMIT_CACHE", DEFAULTS["RATE_LIMIT_CACHE"]
    )
    # The class, not an instance: making one may import a client library or connect.
    try:
        backend = settings.CACHES[alias]["BACKEND"]
        cache_class = import_string(backend)
    except (KeyError, TypeError, ImportError):
        return [
            Error(
                f"BACKLINKS['RATE_LIMIT_CACHE'] names the cache {alias!r}, which CACHES lacks "
                "or whose BACKEND cannot be imported.",
                id="backlinks_django.E030",
            )
        ]
    if not isinstance(cache_class, type):
        return []
    hint = (
        "Count them in a cache every process shares and increments atomically: Django's "
        "django.core.cache.backends.redis.RedisCache (or Memcached). See docs/deployment.md."
    )
    if issubclass(cache_class, LocMemCache | DummyCache):
        what = (
            "which counts nothing: no limit holds"
            if issubclass(cache_class, DummyCache)
            else "which each process keeps to itself: every web process and worker lets the "
            "whole limit through"
        )
        return [
            Warning(
                f"Rate limits are counted in the cache {alias!r} ({backend}), {what}.",
                hint=hint,
                id="backlinks_django.W030",
            )
        ]
    if getattr(cache_class, "incr", None) is BaseCache.incr:
        return [
            Warning(
                f"Rate limits are counted in the cache {alias!r} ({backend}), whose increments "
                "are not atomic: processes counting at once lose counts, and more than the "
                "limit gets through.",
                hint=hint,
                id="backlinks_django.W030",
            )
        ]
    return []
