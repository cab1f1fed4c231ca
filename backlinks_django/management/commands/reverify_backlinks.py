"""Re-verify approved backlinks; hide those whose source no longer links (link rot)."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from backlinks_django.choices import Kind
from backlinks_django.models import Backlink
from backlinks_django.verification import reverify

# Longer ago than any backlink can be; more would overflow the date arithmetic.
MAX_DAYS = 365 * 1000


def _count(maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 0 to ``maximum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not 0 <= number <= maximum:
            raise ArgumentTypeError(f"{number} is not between 0 and {maximum}")
        return number

    return parse


class Command(BaseCommand):
    help = (
        "Fetch the source of every approved backlink again; those answering 410 Gone or no "
        "longer linking to their target are marked 'removed at source' and leave the page."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=_count(MAX_DAYS),
            default=0,
            metavar="DAYS",
            help="only backlinks not updated for this many days",
        )
        parser.add_argument("--kind", choices=Kind.values, help="only backlinks of this kind")
        parser.add_argument("--limit", type=_count(2**31 - 1), help="at most this many backlinks")

    def handle(self, *args: Any, **options: Any) -> None:
        backlinks = Backlink.objects.approved().select_related("site").order_by("updated_at")
        if options["older_than"]:
            cutoff = timezone.now() - timedelta(days=options["older_than"])
            backlinks = backlinks.filter(updated_at__lt=cutoff)
        if options["kind"]:
            backlinks = backlinks.filter(kind=options["kind"])
        if options["limit"]:
            backlinks = backlinks[: options["limit"]]
        selected = list(backlinks)
        counts = {"ok": 0, "removed": 0, "unreachable": 0}
        for number, backlink in enumerate(selected, start=1):
            result = reverify(backlink)
            counts[result] += 1
            self.stdout.write(f"[{number}/{len(selected)}] {backlink.source_url}: {result}")
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Re-verified {len(selected)} backlink(s): {summary}.")
        )
