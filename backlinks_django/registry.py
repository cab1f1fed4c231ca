"""Which models take part in backlinks: how to read them, URL → object, TrackBack paths."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import (
    FieldDoesNotExist,
    MultipleObjectsReturned,
    ObjectDoesNotExist,
    ValidationError,
)
from django.db import models
from django.urls import Resolver404, ResolverMatch, resolve, reverse
from django.utils import timezone
from django.views.generic.detail import SingleObjectMixin

from backlinks_django.conf import app_settings
from backlinks_django.exceptions import TargetNotFound, TargetNotPingable
from backlinks_django.weburl import has_control_chars

Accessor = str | Callable[[Any], Any]

# The arguments of register() that read the object, in the order system checks report them.
ACCESSORS = ("content", "published", "pings_open", "url", "author_email")


class AccessorFailed(Exception):
    """Reading one of a registration's accessors raised (a missing attribute, a failing method).

    The message names the model, the argument of :func:`register` and the accessor; the
    original exception is the ``__cause__``.
    """

    def __init__(
        self, model: type[models.Model], argument: str, accessor: Accessor, error: Exception
    ) -> None:
        self.model = model
        self.argument = argument
        self.accessor = accessor
        shown = accessor if isinstance(accessor, str) else getattr(accessor, "__qualname__", "?")
        super().__init__(
            f"register({model.__name__}, {argument}={shown!r}) raised "
            f"{type(error).__name__}: {error}"
        )


@dataclass(frozen=True)
class AccessorProblem:
    """A string accessor naming an attribute its model does not have (system check E020)."""

    argument: str
    accessor: str
    # The missing attribute, and the model it is missing on (a related one for dotted names).
    missing: str
    owner: type[models.Model]


def _read(obj: Any, accessor: Accessor) -> Any:
    if callable(accessor):
        return accessor(obj)
    value = obj
    # A dotted name follows relations ("author.email"); a missing one on the way gives None.
    for name in accessor.split("."):
        if value is None:
            return None
        value = getattr(value, name)
        value = value() if callable(value) else value
    return value


@dataclass(frozen=True)
class Registration:
    """How one model takes part: where its HTML, date and pings switch live."""

    model: type[models.Model]
    content: Accessor
    published: Accessor | None = None
    pings_open: Accessor | None = None
    url: Accessor = "get_absolute_url"
    url_names: frozenset[str] = field(default_factory=frozenset)
    lookups: Mapping[str, str] = field(default_factory=dict)
    author_email: Accessor | None = None

    def read(self, obj: models.Model, argument: str) -> Any:
        """The value of the accessor given as ``argument`` (``"pings_open"``) for ``obj``.

        Raises :class:`AccessorFailed` (from the original error) when reading it raises.
        """
        accessor: Accessor = getattr(self, argument)
        try:
            return _read(obj, accessor)
        except Exception as error:
            raise AccessorFailed(self.model, argument, accessor, error) from error

    def get_url(self, obj: models.Model) -> str:
        """The object's URL as its ``url`` accessor gives it (usually a path)."""
        return str(self.read(obj, "url"))

    def absolute_url(self, obj: models.Model, domain: str) -> str:
        """The object's absolute URL on ``domain`` with the ``SCHEME`` setting."""
        url = self.get_url(obj)
        if urlsplit(url).scheme:
            return url
        return f"{app_settings.SCHEME}://{domain}{url}"

    def get_content(self, obj: models.Model) -> str:
        """The object's HTML content."""
        return str(self.read(obj, "content") or "")

    def get_author_email(self, obj: models.Model) -> str:
        """The e-mail address of the object's author, or "" if it has none (or no accessor)."""
        if self.author_email is None:
            return ""
        return str(self.read(obj, "author_email") or "").strip()

    def get_published(self, obj: models.Model) -> datetime.datetime | None:
        """When the object was published, or None if it is not."""
        if self.published is None:
            return None
        value = self.read(obj, "published")
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            value = datetime.datetime.combine(value, datetime.time(), datetime.UTC)
        return value  # type: ignore[no-any-return]

    def is_published(self, obj: models.Model) -> bool:
        """Published objects have no date set up, or a date in the past."""
        if self.published is None:
            return True
        published = self.get_published(obj)
        return published is not None and published <= timezone.now()

    def is_open(self, obj: models.Model) -> bool:
        """Published, with its own pings switch on (if the model has one)."""
        if not self.is_published(obj):
            return False
        return self.pings_open is None or bool(self.read(obj, "pings_open"))

    def accepts_pings(self, obj: models.Model) -> bool:
        """Published, its own switch on, and not closed by ``CLOSE_AFTER_DAYS``."""
        if not self.is_open(obj):
            return False
        days = app_settings.CLOSE_AFTER_DAYS
        published = self.get_published(obj)
        if days is not None and published is not None:
            return timezone.now() < published + datetime.timedelta(days=days)
        return True


_registry: dict[type[models.Model], Registration] = {}


def register(
    model: type[models.Model],
    *,
    content: Accessor,
    published: Accessor | None = None,
    pings_open: Accessor | None = None,
    url: Accessor = "get_absolute_url",
    url_names: tuple[str, ...] | list[str] = (),
    lookups: Mapping[str, str] | None = None,
    author_email: Accessor | None = None,
) -> Registration:
    """Let ``model`` receive (and send) backlinks; call it from ``AppConfig.ready()``.

    Accessors are attribute names (called when callable) or functions of the
    object. ``url_names`` names the URL patterns of the object's page when its
    view is not a ``DetailView`` of the model; ``lookups`` maps URL keyword
    arguments or query parameters to model fields (``{"p": "pk"}`` for ``/?p=5``).
    ``author_email`` gives the address told of backlinks to the object held or approved
    (``"author.email"``, or a function of the object).
    """
    given = {
        "content": content,
        "published": published,
        "pings_open": pings_open,
        "url": url,
        "author_email": author_email,
    }
    for argument, accessor in given.items():
        if accessor is not None and not isinstance(accessor, str) and not callable(accessor):
            raise TypeError(
                f"register({model.__name__}, {argument}={accessor!r}): an accessor is an "
                "attribute name or a function of the object."
            )
    registration = Registration(
        model=model,
        content=content,
        published=published,
        pings_open=pings_open,
        url=url,
        url_names=frozenset(url_names),
        lookups=dict(lookups or {}),
        author_email=author_email,
    )
    _registry[model] = registration
    return registration


def accessor_problems(registration: Registration) -> list[AccessorProblem]:
    """The string accessors of ``registration`` naming attributes its model does not have.

    A dotted name is followed through relation fields ("author.email" looks for ``email`` on
    the author's model); past anything else (a property, a method) it cannot be checked
    without an object, and is not. Functions are not checked either.
    """
    problems = []
    for argument in ACCESSORS:
        accessor = getattr(registration, argument)
        if not isinstance(accessor, str):
            continue
        owner: type[models.Model] | None = registration.model
        for name in accessor.split("."):
            if owner is None:
                break
            if not name or not hasattr(owner, name):
                problems.append(AccessorProblem(argument, accessor, name, owner))
                break
            owner = _related_model(owner, name)
    return problems


def _related_model(model: type[models.Model], name: str) -> type[models.Model] | None:
    """The model a to-one relation ``name`` of ``model`` leads to, or None."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a property, a method, a manager
        return None
    related = getattr(field, "related_model", None)
    if (field.many_to_one or field.one_to_one) and isinstance(related, type):
        return related
    return None


def unregister(model: type[models.Model]) -> None:
    """Remove ``model`` from the registry (mostly for tests)."""
    _registry.pop(model, None)


def get_registration(model_or_obj: type[models.Model] | models.Model) -> Registration | None:
    """The registration of a model or of an object's model, if any."""
    model = model_or_obj if isinstance(model_or_obj, type) else type(model_or_obj)
    return _registry.get(model._meta.concrete_model or model)


def registrations() -> list[Registration]:
    """Every registration."""
    return list(_registry.values())


def registration_for_match(match: ResolverMatch) -> Registration | None:
    """The registration whose object pages this resolved URL serves, if any.

    A URL serves object pages when its name is in ``url_names`` or its view is
    a single-object view (``DetailView`` and kin) of the registered model.
    """
    view_class = getattr(match.func, "view_class", None)
    single_object = isinstance(view_class, type) and issubclass(view_class, SingleObjectMixin)
    view_model = getattr(view_class, "model", None) if single_object else None
    for registration in _registry.values():
        if match.view_name in registration.url_names or view_model is registration.model:
            return registration
    return None


def _object_filters(
    registration: Registration, match: ResolverMatch, query: str
) -> dict[str, Any]:
    view_class = getattr(match.func, "view_class", None)
    slug_kwarg = getattr(view_class, "slug_url_kwarg", None)
    pk_kwarg = getattr(view_class, "pk_url_kwarg", "pk")
    field_names = {f.name for f in registration.model._meta.get_fields()}
    filters: dict[str, Any] = {}
    params: dict[str, Any] = dict(match.kwargs)
    params.update(parse_qsl(query, keep_blank_values=True))
    for name, value in params.items():
        if name in registration.lookups:
            filters[registration.lookups[name]] = value
        elif name in match.kwargs:
            if name in (pk_kwarg, "pk", "id"):
                filters["pk"] = value
            elif name == slug_kwarg:
                filters[getattr(view_class, "slug_field", "slug")] = value
            elif name in field_names:
                filters[name] = value
    return filters


def resolve_path(path_and_query: str) -> models.Model:
    """The registered object served at a local URL path (with query string).

    Raises TargetNotFound when nothing is there and TargetNotPingable when
    the page exists but is not a registered object.
    """
    parts = urlsplit(path_and_query)
    match = _resolve_either_slash(parts.path or "/")
    registration = registration_for_match(match)
    if registration is None:
        raise TargetNotPingable("The target is not a page that takes pings.")
    filters = _object_filters(registration, match, parts.query)
    if not filters:
        raise TargetNotPingable("The target is not a page that takes pings.")
    if any(isinstance(value, str) and has_control_chars(value) for value in filters.values()):
        raise TargetNotFound()  # a decoded "%00" names nothing, and must not reach the database
    try:
        return registration.model._default_manager.get(**filters)
    except (ObjectDoesNotExist, ValueError, ValidationError):
        raise TargetNotFound() from None
    except MultipleObjectsReturned:
        raise TargetNotPingable("The target does not name a single page.") from None


def _resolve_either_slash(path: str) -> ResolverMatch:
    """Resolve ``path``, or its twin with or without the trailing slash.

    Senders type our URLs either way (WordPress accepts both, and Django's APPEND_SLASH
    redirects one to the other for readers), so both name the same object.
    """
    twin = path[:-1] if path.endswith("/") and path != "/" else f"{path}/"
    for candidate in (path, twin):
        try:
            return resolve(candidate)
        except Resolver404:
            continue
    raise TargetNotFound()


def trackback_path(obj: models.Model) -> str:
    """The path of ``obj``'s TrackBack ping URL (its per-object endpoint)."""
    # Imported here: apps.py modules import this one before the models are ready.
    from django.contrib.contenttypes.models import ContentType

    return reverse(
        "backlinks_django:trackback",
        kwargs={
            "content_type_id": ContentType.objects.get_for_model(obj).pk,
            "object_pk": str(obj.pk),
        },
    )
