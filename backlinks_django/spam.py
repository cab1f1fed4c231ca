"""The checks every received backlink goes through, in the order of ``BACKLINKS["CHECKS"]``.

A check is a function ``check(candidate) -> Verdict | None`` (None: no
opinion). The first verdict that is not ``ACCEPT`` decides; its reason is
stored on the backlink and shown to moderators.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from backlinks_django.conf import app_settings

if TYPE_CHECKING:
    from backlinks_django.models import Backlink
    from backlinks_django.receive import Ping


class Decision(enum.Enum):
    ACCEPT = "accept"
    HOLD = "hold"
    SPAM = "spam"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""


ACCEPT = Verdict(Decision.ACCEPT)


@dataclass(frozen=True)
class Candidate:
    """What a check sees: the unsaved backlink, the ping as received, whether it was verified."""

    backlink: Backlink
    ping: Ping
    verified: bool


Check = Callable[[Candidate], Verdict | None]


def get_checks() -> list[Check]:
    """The configured checks, imported from their dotted paths."""
    return [import_string(path) for path in app_settings.CHECKS]


def run_checks(candidate: Candidate) -> Verdict:
    """The verdict of the first check that holds or flags the backlink, else ACCEPT."""
    for check in get_checks():
        verdict = check(candidate)
        if verdict is not None and verdict.decision is not Decision.ACCEPT:
            return verdict
    return ACCEPT
