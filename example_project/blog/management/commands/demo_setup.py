"""Prepare the demo: site domain, an admin, an editor and a site admin, and a few entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from backlinks_django.admin import roles
from backlinks_django.models import SiteSettings

from ...models import Entry

# The app's roles (backlinks_django.admin.roles), and the blog's entries to edit and save.
ENTRY_PERMISSIONS = ("blog.view_entry", "blog.change_entry")
GROUPS = {
    "Editors": (*roles.EDITOR_PERMISSIONS, *ENTRY_PERMISSIONS),
    "Site admins": (*roles.SITE_ADMIN_PERMISSIONS, *ENTRY_PERMISSIONS),
}
# Demo logins: username (= password) and group; "admin" is the superuser.
STAFF = {"editor": "Editors", "siteadmin": "Site admins"}


@dataclass(frozen=True)
class DemoEntry:
    slug: str
    title: str
    body: str  # str.format()ted with the entries' absolute URLs, keyed by slug, and PEER_KEY
    days_ago: int


# In PEER_ENTRY's body: the URL of the peer site's first entry.
PEER_KEY = "peer_hello"

DEMO_ENTRIES = [
    DemoEntry(
        slug="hello-backlinks",
        title="Hello, backlinks",
        days_ago=3,
        body=(
            "<p>This blog runs <strong>backlinks_django</strong>. Other sites that link "
            "here can tell us so with a <em>Webmention</em>, a <em>pingback</em> or a "
            "<em>trackback</em>; an editor approves each one in the admin before it shows "
            "below: replies as cards, likes and reposts as faces, the rest as a list.</p>"
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

# Created only with --peer; its title names the peer ("Linking to site B").
PEER_ENTRY = DemoEntry(
    slug="linking-to-the-peer",
    title="Linking to {peer_name}",
    days_ago=0,
    body=(
        f'<p>Our neighbour runs backlinks_django too, and we like <a href="{{{PEER_KEY}}}">its '
        "first entry</a>. Save this entry in the admin: our task worker finds the endpoint "
        "that page announces (Webmention first, then pingback) and notifies it, and the "
        "backlink waits for moderation there.</p>"
    ),
)


class Command(BaseCommand):
    help = (
        "Set up the demo: Site domain and name, users 'admin' (superuser), 'editor' "
        "(group Editors: moderates, sends) and 'siteadmin' (group Site admins: also "
        "configures), and published demo entries (with --peer, one linking to the peer "
        "site). Sends no pings. Safe to run again."
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
        parser.add_argument(
            "--peer",
            metavar="URL",
            help="base URL of another demo site (e.g. http://127.0.0.1:8001): adds an "
            "entry that links to that site's first entry",
        )
        parser.add_argument(
            "--peer-name",
            help="what the linking entry's title calls the peer (default: its host)",
        )

    @transaction.atomic
    def handle(
        self,
        *args: Any,
        domain: str,
        name: str,
        peer: str | None,
        peer_name: str | None,
        **options: Any,
    ) -> None:
        if peer is not None:
            parts = urlsplit(peer)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise CommandError(f"--peer must be an http(s) URL, not {peer!r}")
            peer = peer.rstrip("/")
            peer_name = peer_name or parts.netloc
        site = self.set_up_site(domain, name)
        self.set_up_site_settings(site)
        self.set_up_user("admin", superuser=True)
        groups = {name: self.set_up_group(name, names) for name, names in GROUPS.items()}
        for username, group in STAFF.items():
            self.set_up_user(username, superuser=False, group=groups[group])
        self.set_up_entries(domain, peer, peer_name or "")

    def report(self, message: str) -> None:
        self.stdout.write(f"  {message}")

    def set_up_site(self, domain: str, name: str) -> Site:
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
        return site

    def set_up_site_settings(self, site: Site) -> None:
        # A row with the defaults, so that the switches show as checkboxes in the
        # admin's list (Backlinks → Site backlink settings). Kept as edited.
        row, created = SiteSettings.objects.get_or_create(site=site)
        state = "created" if created else "kept"
        self.report(
            f"backlink settings: {state}, self-pings {'on' if row.self_pings else 'off'}, "
            f"sending {'on' if row.send_pings else 'off'}"
        )

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
            user.groups.set([group])
        role = "superuser" if superuser else f"staff, in group {group}"
        state = "created" if created else "password reset"
        self.report(f"user {username!r} ({role}): {state}, password {username!r}")

    def set_up_group(self, name: str, names: tuple[str, ...]) -> Group:
        try:
            group, created = roles.set_up_group(name, names)
        except roles.MissingPermission as error:
            raise CommandError(str(error)) from None
        state = "created" if created else "kept"
        self.report(f"group {name!r}: {state}, with {len(names)} permissions")
        return group

    def set_up_entries(self, domain: str, peer: str | None, peer_name: str) -> None:
        def path(slug: str) -> str:
            return reverse("blog:entry", kwargs={"slug": slug})

        urls = {demo.slug: f"http://{domain}{path(demo.slug)}" for demo in DEMO_ENTRIES}
        demos = list(DEMO_ENTRIES)
        if peer is not None:
            # The peer runs this same project, so its entries have the same paths.
            urls[PEER_KEY] = f"{peer}{path(DEMO_ENTRIES[0].slug)}"
            demos.append(PEER_ENTRY)
        existing = {e.slug: e for e in Entry.objects.filter(slug__in=[d.slug for d in demos])}
        now = timezone.now()
        new = []
        for demo in demos:
            title = demo.title.format(peer_name=peer_name)
            body = demo.body.format_map(urls)
            entry = existing.get(demo.slug)
            if entry is None:
                new.append(
                    Entry(
                        slug=demo.slug,
                        title=title,
                        body=body,
                        published_at=now - timedelta(days=demo.days_ago),
                        pings_open=True,
                    )
                )
                self.report(f"entry {title!r}: created")
            elif (entry.title, entry.body) != (title, body):
                # Only the links change (a new --domain or --peer); edits elsewhere are
                # overwritten.
                Entry.objects.filter(pk=entry.pk).update(title=title, body=body)
                self.report(f"entry {title!r}: links updated")
            else:
                self.report(f"entry {title!r}: unchanged")
        # bulk_create() and update() send no post_save, so seeding the demo queues no
        # pings (and the peer may not be up yet). Saving an entry in the admin later
        # queues them for the worker.
        Entry.objects.bulk_create(new)
