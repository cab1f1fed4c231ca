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
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string

from backlinks_django import avatars, environment, limits
from backlinks_django.conf import app_settings
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


@register(Tags.models)
def check_registrations(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every string accessor given to ``register()`` names an attribute its model has."""
    from backlinks_django import registry

    errors: list[CheckMessage] = []
    for registration in registry.registrations():
        model = registration.model
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        for problem in registry.accessor_problems(registration):
            errors.append(
                Error(
                    f"register({model.__name__}, {problem.argument}={problem.accessor!r}): "
                    f"{problem.owner._meta.label} has no attribute {problem.missing!r}.",
                    hint=f"Add the field, property or method {problem.missing!r}, correct "
                    "the name, leave the argument out if it is optional, or pass a function of "
                    "the object.",
                    obj=model,
                    id="backlinks_django.E020",
                )
            )
    return errors


# How to set the Site's domain, told by W020 and W021 (the README says the same).
SET_DOMAIN_HINT = (
    "Set the domain to the host (and port, if not 80 or 443) of your pages, in the admin's "
    'Sites or with: python manage.py shell -c "from django.contrib.sites.models import Site; '
    "Site.objects.update_or_create(pk=1, defaults={'domain': 'blog.example.org', "
    "'name': 'My blog'})\". A running server takes the new domain without a restart."
)


@register(Tags.sites)
def check_site_domain(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The current Site's domain is a real host of this site: pings to other hosts get fault 33.

    Reads the database; before ``migrate`` (no table, no database) it says nothing.
    """
    if not apps.is_installed("django.contrib.sites"):
        return []  # E001 says so
    from django.contrib.sites.models import Site

    site_id = getattr(settings, "SITE_ID", None)
    try:
        if site_id is None:  # the Site is found by the request's host: check them all
            sites = list(Site.objects.order_by("pk")[:100])
        else:
            sites = list(Site.objects.filter(pk=site_id))
    except (DatabaseError, ImproperlyConfigured):
        return []
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:  # what Django allows then
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    warnings: list[CheckMessage] = []
    for site in sites:
        which = f"The Site {site.pk}" + (" (SITE_ID)" if site.pk == site_id else "")
        host, _port = split_domain_port(site.domain)
        if site.domain.strip().lower() == "example.com":
            warnings.append(
                Warning(
                    f"{which} has the domain 'example.com', Django's placeholder: every ping "
                    "to this site's pages is refused with fault 33 (target not on this site), "
                    "and pings sent name example.com pages as their source.",
                    hint=SET_DOMAIN_HINT,
                    obj=site,
                    id="backlinks_django.W020",
                )
            )
        elif not host or not validate_host(host, allowed):
            warnings.append(
                Warning(
                    f"{which} has the domain {site.domain!r}, which ALLOWED_HOSTS "
                    f"({allowed!r}) does not allow: requests to it are refused, and pings "
                    "to other hosts get fault 33 (target not on this site).",
                    hint=SET_DOMAIN_HINT + " Or add the host to ALLOWED_HOSTS.",
                    obj=site,
                    id="backlinks_django.W021",
                )
            )
    return warnings


@register(Tags.security)
def check_local_development(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``LOCAL_DEVELOPMENT`` belongs on a developer's machine, where DEBUG is on."""
    user = getattr(settings, "BACKLINKS", {})
    if not isinstance(user, dict) or not user.get("LOCAL_DEVELOPMENT") or settings.DEBUG:
        return []
    return [
        Warning(
            "BACKLINKS['LOCAL_DEVELOPMENT'] is on while DEBUG is off: the fetcher reaches "
            "loopback and private networks on any port, so anyone who can send a ping can make "
            "this server request pages of its own network.",
            hint="Turn LOCAL_DEVELOPMENT off outside a developer's machine (or set DEBUG on "
            "there).",
            id="backlinks_django.W022",
        )
    ]


@register(Tags.compatibility)
def check_avatar_storage(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Author photos (``AVATARS``) need a default storage that keeps files somewhere set."""
    if not isinstance(getattr(settings, "BACKLINKS", {}) or {}, dict):
        return []  # E002 says so
    problem = avatars.storage_problem() if app_settings.AVATARS else None
    if problem is None:
        return []
    return [
        Warning(
            f"backlinks_django cannot store author photos: {problem}.",
            hint="Set MEDIA_ROOT and MEDIA_URL (and serve them), configure another default "
            "storage, or set BACKLINKS['AVATARS'] = False to show initials only.",
            id="backlinks_django.W040",
        )
    ]
