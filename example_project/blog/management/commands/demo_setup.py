"""Prepare the demo: site domain, an admin and an editor, and a few published entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ...models import Entry

EDITOR_PERMISSIONS = [
    ("backlinks_django", "view_backlink"),
    ("backlinks_django", "moderate_backlink"),
    ("blog", "view_entry"),
    ("blog", "change_entry"),
]


@dataclass(frozen=True)
class DemoEntry:
    slug: str
    title: str
    body: str  # str.format()ted with the entries' absolute URLs, keyed by slug
    days_ago: int


DEMO_ENTRIES = [
    DemoEntry(
        slug="hello-backlinks",
        title="Hello, backlinks",
        days_ago=3,
        body=(
            "<p>This blog runs <strong>backlinks_django</strong>. Other sites that link "
            "here can tell us so with a <em>pingback</em> or a <em>trackback</em>; an "
            "editor approves each one in the admin before it shows below.</p>"
        ),
    ),
    DemoEntry(
        slug="how-pingback-works",
        title="How pingback works",
        days_ago=2,
        body=(
            "<p>A pingback is an XML-RPC call: the linking site tells the linked one "
            "<q>my page links to yours</q>. The receiver fetches the source page, checks "
            'that it really links to the target (here, to <a href="{hello-backlinks}">'
            "our first entry</a>), and stores a title and an excerpt.</p>"
        ),
    ),
    DemoEntry(
        slug="trackbacks-the-older-sibling",
        title="Trackbacks, the older sibling",
        days_ago=1,
        body=(
            "<p>A trackback is a form POST to a per-entry URL, carrying the title, an "
            'excerpt and the blog name. It came before <a href="{how-pingback-works}">'
            "pingback</a>, and is easier to forge, so this site checks that the source "
            "page links back before accepting one.</p>"
        ),
    ),
]


class Command(BaseCommand):
    help = (
        "Set up the demo: Site domain and name, users 'admin' (superuser) and 'editor' "
        "(moderator), and published demo entries. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--domain",
            default="127.0.0.1:8000",
            help="host:port the demo is served on (default: %(default)s)",
        )
        parser.add_argument(
            "--name",
            default="backlinks_django demo",
            help="site name (default: %(default)s)",
        )

    @transaction.atomic
    def handle(self, *args: Any, domain: str, name: str, **options: Any) -> None:
        self.set_up_site(domain, name)
        self.set_up_user("admin", superuser=True)
        editors = self.set_up_editors_group()
        self.set_up_user("editor", superuser=False, group=editors)
        self.set_up_entries(domain)

    def report(self, message: str) -> None:
        self.stdout.write(f"  {message}")

    def set_up_site(self, domain: str, name: str) -> None:
        site, created = Site.objects.get_or_create(
            pk=settings.SITE_ID, defaults={"domain": domain, "name": name}
        )
        if created:
            self.report(f"site {site.pk}: created as {domain!r}")
        elif (site.domain, site.name) != (domain, name):
            site.domain, site.name = domain, name
            site.save()
            self.report(f"site {site.pk}: domain set to {domain!r}")
        else:
            self.report(f"site {site.pk}: already {domain!r}")

    def set_up_user(self, username: str, *, superuser: bool, group: Group | None = None) -> None:
        user, created = User.objects.get_or_create(username=username)
        # Reset on every run so that the credentials the demo prints always work.
        user.set_password(username)
        user.email = f"{username}@example.com"
        user.is_active = True
        user.is_staff = True
        user.is_superuser = superuser
        user.save()
        if group is not None:
            user.groups.add(group)
        role = "superuser" if superuser else f"staff, in group {group}"
        state = "created" if created else "password reset"
        self.report(f"user {username!r} ({role}): {state}, password {username!r}")

    def set_up_editors_group(self) -> Group:
        group, created = Group.objects.get_or_create(name="Editors")
        permissions = []
        for app_label, codename in EDITOR_PERMISSIONS:
            try:
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            except Permission.DoesNotExist:
                raise CommandError(
                    f"permission {app_label}.{codename} does not exist; run migrate first"
                ) from None
        group.permissions.set(permissions)
        codenames = ", ".join(f"{a}.{c}" for a, c in EDITOR_PERMISSIONS)
        self.report(f"group 'Editors': {'created' if created else 'kept'}, with {codenames}")
        return group

    def set_up_entries(self, domain: str) -> None:
        urls = {
            demo.slug: f"http://{domain}{reverse('blog:entry', kwargs={'slug': demo.slug})}"
            for demo in DEMO_ENTRIES
        }
        existing = {e.slug: e for e in Entry.objects.filter(slug__in=urls)}
        now = timezone.now()
        new = []
        for demo in DEMO_ENTRIES:
            body = demo.body.format_map(urls)
            entry = existing.get(demo.slug)
            if entry is None:
                new.append(
                    Entry(
                        slug=demo.slug,
                        title=demo.title,
                        body=body,
                        published_at=now - timedelta(days=demo.days_ago),
                        pings_open=True,
                    )
                )
                self.report(f"entry {demo.slug!r}: created")
            elif entry.body != body:
                # Only the links change (a new --domain); edits elsewhere are overwritten.
                Entry.objects.filter(pk=entry.pk).update(body=body)
                self.report(f"entry {demo.slug!r}: links updated for {domain!r}")
            else:
                self.report(f"entry {demo.slug!r}: unchanged")
        # bulk_create() and update() send no post_save, so seeding the demo sends no
        # pingbacks while the server is not yet running. Saving an entry in the admin
        # later sends them for real.
        Entry.objects.bulk_create(new)
