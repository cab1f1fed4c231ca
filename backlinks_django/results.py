"""What one delivery gave: the value the network part returns and the outbound log records."""

from __future__ import annotations

from dataclasses import dataclass

from backlinks_django.choices import Outcome


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
