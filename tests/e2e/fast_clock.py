"""Test-only app of the deployment suite: the app's claim margins and recovery delays, scaled
down from a minute to about a second when ``E2E_FAST_CLOCK`` is set.

A killed worker's links come back when its claim has run out, by design a minute after the
sending deadline; at that pace the suite would take many minutes. Only the waiting shrinks:
the same code claims, records, recovers and re-sends.
"""

from __future__ import annotations

import os

from django.apps import AppConfig


class FastClockConfig(AppConfig):
    name = "tests.e2e.fast_clock"
    label = "e2e_fast_clock"

    def ready(self) -> None:
        if not os.environ.get("E2E_FAST_CLOCK"):
            return
        from backlinks_django import delivery, inbound, send, tasks

        send.CLAIM_MARGIN = 0.5
        send.CLAIM_SAFETY = 0.5
        delivery.DEADLINE_GRACE = 0.5
        inbound._CLAIM_MARGIN = 0.5
        tasks.RECOVERY_DELAY = 0.5
        tasks._VERIFY_SLICE = 2.0
        tasks._WAKE_STEP = 1
