"""(Re)send pings for one object, one model or every registered model, or record them as
handled without sending (imports)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.sites.models import Site
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import models

from backlinks_django import environment, registry, send, tasks
from backlinks_django.models import OutboundPing, SiteSettings

NO_PINGS = "Not sent: send_backlinks --no-pings."


class Command(BaseCommand):
    help = (
        "Send pings for the links of registered objects: new links, links due for a retry, "
        "or with --force every link again; with --no-pings, record them as handled instead."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--object", metavar="APP.MODEL:PK", help="one object")
        target.add_argument("--model", metavar="APP.MODEL", help="every object of one model")
        target.add_argument("--all", action="store_true", help="every registered model")
        target.add_argument(
            "--due",
            action="store_true",
            help="only the links due: retries, and those a worker that died left unsent (cron)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--force", action="store_true", help="ping links already pinged")
        mode.add_argument(
            "--no-pings",
            action="store_true",
            help="record new links and waiting pings as handled, sending nothing (imports)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would be pinged; send nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env = environment.current()
        if not (env.sends or options["dry_run"] or options["no_pings"]):
            raise CommandError(
                f"This site is in {env.name!r} mode (from {env.source}): only production sends. "
                "Use --dry-run to list what would be pinged, or --no-pings to record it as "
                "handled."
            )
        objects = list(self._objects(options))
        total = len(objects)
        for number, obj in enumerate(objects, start=1):
            label = f"[{number}/{total}] {obj._meta.label} {obj.pk}"
            if options["dry_run"]:
                links = self._would_ping(obj, force=options["force"])
                verb = "would record unsent" if options["no_pings"] else "would ping"
                self.stdout.write(f"{label}: {verb} {', '.join(links) or 'nothing'}")
                continue
            if options["no_pings"]:
                marked = send.record_unsent(obj, NO_PINGS, waiting_too=True)
                self.stdout.write(f"{label}: {marked} recorded unsent")
                continue
            # --due sends only the due links (retries, and those a worker that died left
            # unrecorded): the Webmention targets already told are not told again.
            claim = send.send_object(
                obj,
                force=options["force"],
                due_only=options["due"],
                on_claim=tasks.schedule_recovery,
            )
            if claim.busy_until is not None:
                content_type_id = ContentType.objects.get_for_model(obj).pk
                why = "Links busy in another task"
                tasks.schedule_send(
                    content_type_id, str(obj.pk), claim.busy_until, why, due_only=options["due"]
                )
            outcomes = ", ".join(f"{r.target_url} {r.outcome}" for r in claim.rows)
            outcomes = outcomes or "nothing new"
            self.stdout.write(f"{label}: {outcomes}")
        self.stdout.write(self.style.SUCCESS(f"{total} object(s) processed."))

    def _objects(self, options: dict[str, Any]) -> Any:
        if options["object"]:
            label, _, pk = options["object"].rpartition(":")
            model = self._model(label)
            try:
                yield model._default_manager.get(pk=pk)
            except (ObjectDoesNotExist, ValueError, ValidationError):
                raise CommandError(f"No {label} with primary key {pk!r}.") from None
        elif options["model"]:
            yield from self._model(options["model"])._default_manager.order_by("pk").iterator()
        elif options["all"]:
            for registration in registry.registrations():
                yield from registration.model._default_manager.order_by("pk").iterator()
        else:
            # order_by(): the default ordering would add its column to DISTINCT (one send per row).
            due = OutboundPing.objects.due().order_by().values_list("content_type", "object_id")
            due = due.distinct()
            for content_type_id, object_id in due:
                due_model = ContentType.objects.get_for_id(content_type_id).model_class()
                if due_model is None:
                    continue
                obj = due_model._default_manager.filter(pk=object_id).first()
                if obj is not None:
                    yield obj

    def _model(self, label: str) -> type[models.Model]:
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            raise CommandError(f"Unknown model {label!r}; use app_label.ModelName.") from None
        if registry.get_registration(model) is None:
            raise CommandError(f"{label} is not registered with backlinks_django.")
        return model

    def _would_ping(self, obj: models.Model, *, force: bool) -> list[str]:
        registration = registry.get_registration(obj)
        if registration is None or not registration.is_open(obj):
            return []
        site = Site.objects.get_current()
        links = send.links_to_ping(send.source_for(obj, registration, site))
        links += SiteSettings.objects.for_site(site).update_service_urls()
        rows = OutboundPing.objects.for_object(obj)
        done = set() if force else set(rows.values_list("target_url", flat=True))
        done |= set(rows.filter(do_not_ping=True).values_list("target_url", flat=True))
        due = [] if force else list(rows.due().values_list("target_url", flat=True))
        return [url for url in links if url not in done] + due
