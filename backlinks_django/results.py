"""What one delivery gave: the value the network part returns and the outbound log records,
and how the log says it to an editor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backlinks_django.choices import Outcome

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass
class Result:
    """What one delivery gave; ``retry`` and ``flood`` say when to try again, if at all."""

    outcome: Outcome
    protocol: str = ""
    endpoint: str = ""
    message: str = ""
    fault_code: int | None = None
    retry: bool = False
    flood: bool = False


# What a peer's Pingback fault code means, said to an editor (the codes: Pingback 1.0; 429:
# WordPress's comment flood; negative: XML-RPC's own errors).
FAULT_MEANINGS: dict[int, StrOrPromise] = {
    0: _("refused there, without a reason"),
    16: _("that site could not fetch our page"),
    17: _("that site found no link to it on our page"),
    32: _("the linked page does not exist there"),
    33: _("the linked page does not take pingbacks"),
    48: _("already registered there"),
    49: _("that site refused us (access denied)"),
    50: _("that site could not reach its own upstream server"),
    429: _("that site asks us to wait: too many pings lately"),
    -32700: _("that site could not parse our request"),
    -32600: _("that site found our request invalid"),
    -32601: _("that site has no pingback method"),
    -32602: _("that site found our arguments invalid"),
    -32603: _("that site had an internal error"),
}


def fault_meaning(code: int | None) -> str:
    """A peer's fault code in plain words; "" for no code or one this app does not know."""
    meaning = FAULT_MEANINGS.get(code) if code is not None else None
    return "" if meaning is None else str(meaning)


def describe(outcome: str, fault_code: int | None) -> str:
    """An outbound ping's outcome and fault code as an editor reads them: "Delivered (already
    registered there)", "Fault: the linked page does not exist there", "Fault (code 51)"."""
    label = str(Outcome(outcome).label) if outcome in Outcome.values else outcome
    if fault_code is None or (outcome == Outcome.REJECTED and fault_code == 0):
        return label
    meaning = fault_meaning(fault_code)
    if not meaning:
        return gettext("%(outcome)s (code %(code)d)") % {"outcome": label, "code": fault_code}
    if outcome == Outcome.SUCCESS:
        return gettext("%(outcome)s (%(meaning)s)") % {"outcome": label, "meaning": meaning}
    return gettext("%(outcome)s: %(meaning)s") % {"outcome": label, "meaning": meaning}
