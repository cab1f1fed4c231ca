"""Personal data: apply the retention settings, or export or erase one person's data."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backlinks_django import privacy, retention


class Command(BaseCommand):
    help = (
        "retention: clear old IP addresses and user agents, delete old finished queue rows "
        "and backlinks of deleted objects (idempotent; run it daily from cron). "
        "export / erase: one person's data, named by IP address, domain, author URL or e-mail."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        jobs = parser.add_subparsers(dest="job", required=True, metavar="JOB")
        jobs.add_parser(
            "retention",
            help="apply IP_KEEP_DAYS, INBOUND_KEEP_DAYS and DELETE_BACKLINKS_WITH_OBJECT",
        )
        export = jobs.add_parser("export", help="print the person's data as JSON")
        erase = jobs.add_parser("erase", help="delete every row holding the person's data")
        for job in (export, erase):
            job.add_argument("--ip", action="append", default=[], help="an exact IP address")
            job.add_argument(
                "--domain",
                action="append",
                default=[],
                help="a source domain (its subdomains included)",
            )
            job.add_argument("--author-url", action="append", default=[], help="an author URL")
            job.add_argument(
                "--email", action="append", default=[], help="an e-mail address in their text"
            )
        export.add_argument("--output", metavar="FILE", help="write to FILE, not to stdout")
        erase.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["job"] == "retention":
            self._retention()
            return
        try:
            selector = privacy.Selector(
                ips=tuple(options["ip"]),
                domains=tuple(options["domain"]),
                author_urls=tuple(options["author_url"]),
                emails=tuple(options["email"]),
            )
        except privacy.InvalidSelector as error:
            raise CommandError(str(error)) from None
        if options["job"] == "export":
            self._export(selector, options["output"])
        else:
            self._erase(selector, interactive=options.get("interactive", True))

    def _retention(self) -> None:
        done = retention.apply_retention()
        self.stdout.write(
            f"Cleared the IP address and user agent of {done.backlinks_cleared} backlink(s) "
            f"and {done.inbound_cleared} queue row(s); deleted {done.inbound_deleted} finished "
            f"queue row(s) and {done.orphans_deleted} backlink(s) of deleted objects."
        )

    def _export(self, selector: privacy.Selector, output: str | None) -> None:
        text = privacy.export_json(privacy.export(selector))
        if output:
            Path(output).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)

    def _erase(self, selector: privacy.Selector, *, interactive: bool) -> None:
        if interactive:
            answer = input(
                f"Delete every backlink and queue row matching {json.dumps(selector.as_dict())}? "
                "Type 'yes' to go on: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("Erasure cancelled.")
        erased = privacy.erase(selector)
        for label, count in sorted(erased.deleted.items()):
            self.stdout.write(f"{label}: {count} deleted")
        for label, (count, why) in sorted(erased.kept.items()):
            self.stdout.write(f"{label}: {count} kept ({why})")
        total = sum(erased.deleted.values())
        self.stdout.write(self.style.SUCCESS(f"Erased {total} row(s)."))
