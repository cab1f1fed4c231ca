"""Verify the queued pings that are due, then delete finished queue rows past their keeping."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from backlinks_django import inbound
from backlinks_django.conf import app_settings
from backlinks_django.management.commands.reverify_backlinks import _count


class Command(BaseCommand):
    help = (
        "Verify queued pings that are due, in this process and in fair order (for a tasks "
        "backend that cannot defer work, and after a worker died mid-verification); then "
        "delete verified or refused queue rows older than INBOUND_KEEP_DAYS. Safe to run "
        "from cron while workers run: each row is claimed by one verifier."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--limit", type=_count(2**31 - 1), help="verify at most this many queued pings"
        )
        parser.add_argument(
            "--prune-only", action="store_true", help="only delete old finished rows"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verified = 0
        if not options["prune_only"]:
            limit = options["limit"]
            while limit is None or verified < limit:
                if inbound.process_next() is None:
                    break
                verified += 1
        pruned = inbound.prune(app_settings.INBOUND_KEEP_DAYS)
        self.stdout.write(f"Verified {verified} queued ping(s); deleted {pruned} old row(s).")
