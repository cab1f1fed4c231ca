"""The app's settings, read from ``settings.BACKLINKS`` on every access."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from django.conf import settings

from backlinks_django.defaults import DEFAULTS, LOCAL_DEVELOPMENT_VALUES, RENAMED

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[Any, ...]) -> tuple[IPNetwork, ...]:
    """``ALLOWED_NETWORKS`` parsed, once per value (the fetcher reads it for every address)."""
    return tuple(ipaddress.ip_network(n, strict=False) for n in values)


class BacklinksSettings:
    """Attribute access to ``BACKLINKS`` merged with :data:`DEFAULTS`.

    A renamed key (:data:`RENAMED`) is still read under its old name when the new one is not
    set. With ``LOCAL_DEVELOPMENT`` on, the keys of :data:`LOCAL_DEVELOPMENT_VALUES` not set
    in ``BACKLINKS`` take its values instead of the defaults. Nothing is cached, so
    ``override_settings`` works in tests.
    """

    def _get(self, name: str) -> Any:
        user = getattr(settings, "BACKLINKS", {}) or {}
        if name in user:
            return user[name]
        for old, new in RENAMED.items():
            if new == name and old in user:
                return user[old]
        if name in LOCAL_DEVELOPMENT_VALUES and user.get("LOCAL_DEVELOPMENT"):
            return LOCAL_DEVELOPMENT_VALUES[name]
        return DEFAULTS[name]

    @property
    def ENVIRONMENT(self) -> str | None:
        value = self._get("ENVIRONMENT")
        return None if value is None else str(value)

    @property
    def ALLOWED_NETWORKS(self) -> list[IPNetwork]:
        return list(_networks(tuple(self._get("ALLOWED_NETWORKS"))))

    @property
    def ALLOWED_PORTS(self) -> frozenset[int] | None:
        ports = self._get("ALLOWED_PORTS")
        return None if ports is None else frozenset(int(p) for p in ports)

    @property
    def FETCH_CONNECT_TIMEOUT(self) -> float:
        return float(self._get("FETCH_CONNECT_TIMEOUT"))

    @property
    def FETCH_DEADLINE(self) -> float:
        return float(self._get("FETCH_DEADLINE"))

    @property
    def FETCH_MAX_BYTES(self) -> int:
        return int(self._get("FETCH_MAX_BYTES"))

    @property
    def FETCH_MAX_REDIRECTS(self) -> int:
        return int(self._get("FETCH_MAX_REDIRECTS"))

    @property
    def VERIFY_TRACKBACKS(self) -> bool:
        return bool(self._get("VERIFY_TRACKBACKS"))

    @property
    def CLOSE_AFTER_DAYS(self) -> int | None:
        value = self._get("CLOSE_AFTER_DAYS")
        return None if value is None else int(value)

    @property
    def NOTIFY_MANAGERS(self) -> bool:
        return bool(self._get("NOTIFY_MANAGERS"))

    @property
    def NOTIFY_AUTHORS_WINDOW(self) -> int:
        return max(0, int(self._get("NOTIFY_AUTHORS_WINDOW")))

    @property
    def EXCERPT_CONTEXT(self) -> int:
        return int(self._get("EXCERPT_CONTEXT"))

    @property
    def XMLRPC_MAX_BODY(self) -> int:
        return int(self._get("XMLRPC_MAX_BODY"))

    @property
    def SPAM_CHECKS(self) -> list[str]:
        return list(self._get("SPAM_CHECKS"))

    @property
    def SEND_CONCURRENCY(self) -> int:
        return max(1, int(self._get("SEND_CONCURRENCY")))

    @property
    def SEND_PER_HOST(self) -> int:
        return max(1, int(self._get("SEND_PER_HOST")))

    @property
    def SEND_HOST_INTERVAL(self) -> float:
        return float(self._get("SEND_HOST_INTERVAL"))

    @property
    def SEND_DEADLINE(self) -> float:
        return float(self._get("SEND_DEADLINE"))

    @property
    def SEND_MAX_ATTEMPTS(self) -> int:
        return int(self._get("SEND_MAX_ATTEMPTS"))

    @property
    def SEND_RETRY_DELAY(self) -> float:
        return float(self._get("SEND_RETRY_DELAY"))

    @property
    def SEND_FLOOD_WINDOW(self) -> float:
        return float(self._get("SEND_FLOOD_WINDOW"))

    @property
    def SEND_PROTOCOLS(self) -> list[str]:
        return [str(p) for p in self._get("SEND_PROTOCOLS")]

    @property
    def SCHEME(self) -> str:
        return str(self._get("SCHEME"))

    @property
    def TASK_BACKEND(self) -> str:
        return str(self._get("TASK_BACKEND"))

    def _limit(self, name: str) -> tuple[int, float] | None:
        value = self._get(name)
        return None if value is None else (int(value[0]), float(value[1]))

    @property
    def RATE_LIMIT_PER_IP(self) -> tuple[int, float] | None:
        return self._limit("RATE_LIMIT_PER_IP")

    @property
    def RATE_LIMIT_PER_SOURCE_DOMAIN(self) -> tuple[int, float] | None:
        return self._limit("RATE_LIMIT_PER_SOURCE_DOMAIN")

    @property
    def RATE_LIMIT_PER_FETCHED_HOST(self) -> tuple[int, float] | None:
        return self._limit("RATE_LIMIT_PER_FETCHED_HOST")

    @property
    def RECEIVE_BUDGET(self) -> float:
        return max(0.0, float(self._get("RECEIVE_BUDGET")))

    @property
    def RECEIVE_CONCURRENCY(self) -> int:
        return max(0, int(self._get("RECEIVE_CONCURRENCY")))

    @property
    def INBOUND_QUEUE_PER_SENDER(self) -> int:
        return int(self._get("INBOUND_QUEUE_PER_SENDER"))

    @property
    def INBOUND_QUEUE_MAX(self) -> int:
        return int(self._get("INBOUND_QUEUE_MAX"))

    @property
    def INBOUND_CONCURRENCY(self) -> int:
        return max(1, int(self._get("INBOUND_CONCURRENCY")))

    @property
    def INBOUND_TASK_QUEUE(self) -> str:
        return str(self._get("INBOUND_TASK_QUEUE"))

    @property
    def INBOUND_KEEP_DAYS(self) -> int:
        return int(self._get("INBOUND_KEEP_DAYS"))

    @property
    def IP_KEEP_DAYS(self) -> int | None:
        value = self._get("IP_KEEP_DAYS")
        return None if value is None else int(value)

    @property
    def DELETE_BACKLINKS_WITH_OBJECT(self) -> bool:
        return bool(self._get("DELETE_BACKLINKS_WITH_OBJECT"))

    @property
    def IPV6_PREFIX(self) -> int:
        return int(self._get("IPV6_PREFIX"))

    @property
    def RATE_LIMIT_CACHE(self) -> str:
        return str(self._get("RATE_LIMIT_CACHE"))

    @property
    def BLOCKED_KEYWORDS(self) -> list[str]:
        return [str(k) for k in self._get("BLOCKED_KEYWORDS")]

    @property
    def MAX_LINKS_IN_EXCERPT(self) -> int:
        return int(self._get("MAX_LINKS_IN_EXCERPT"))

    @property
    def MAX_TITLE_LENGTH(self) -> int:
        return int(self._get("MAX_TITLE_LENGTH"))

    @property
    def MAX_EXCERPT_LENGTH(self) -> int:
        return int(self._get("MAX_EXCERPT_LENGTH"))

    @property
    def AUTO_APPROVE_KNOWN_DOMAINS(self) -> bool:
        return bool(self._get("AUTO_APPROVE_KNOWN_DOMAINS"))

    @property
    def AUTO_APPROVE_PINGED_DOMAINS(self) -> bool:
        return bool(self._get("AUTO_APPROVE_PINGED_DOMAINS"))

    @property
    def AKISMET_API_KEY(self) -> str | None:
        value = self._get("AKISMET_API_KEY")
        return str(value) if value else None

    @property
    def AKISMET_BLOG_URL(self) -> str | None:
        value = self._get("AKISMET_BLOG_URL")
        return str(value) if value else None

    @property
    def WEBMENTION_STATUS(self) -> int:
        return 202 if int(self._get("WEBMENTION_STATUS")) == 202 else 201

    @property
    def MAX_URL_LENGTH(self) -> int:
        return int(self._get("MAX_URL_LENGTH"))

    @property
    def LOCAL_DEVELOPMENT(self) -> bool:
        return bool(self._get("LOCAL_DEVELOPMENT"))

    @property
    def AVATARS(self) -> bool:
        return bool(self._get("AVATARS"))

    @property
    def AVATAR_PATH(self) -> str:
        return str(self._get("AVATAR_PATH"))

    @property
    def AVATAR_SIZE(self) -> int:
        return max(1, int(self._get("AVATAR_SIZE")))

    @property
    def AVATAR_MAX_BYTES(self) -> int:
        return int(self._get("AVATAR_MAX_BYTES"))

    @property
    def AVATAR_MAX_PIXELS(self) -> int:
        return int(self._get("AVATAR_MAX_PIXELS"))

    @property
    def AVATAR_FORMATS(self) -> list[str]:
        return [str(f).upper() for f in self._get("AVATAR_FORMATS")]


app_settings = BacklinksSettings()
