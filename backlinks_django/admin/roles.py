"""The app's two roles as permission lists: editors moderate and send, site admins configure.

- editor: sees and moderates backlinks (approve, unapprove, spam, reject, block a source
  domain, export personal data), sees blocked domains, sees the outbound log and retries pings,
  and uses the *Links to ping* and *Send trackbacks to* inlines;
- site admin: what an editor may, and changes the site backlink settings, unblocks domains,
  erases personal data, sees the inbound queue.

Editors of a registered model's content also need that model's own ``view``/``change``
permissions. :func:`set_up_group` makes a Django group of a role (the demo's "Editors" and
"Site admins").
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

EDITOR_PERMISSIONS = (
    "backlinks_django.view_backlink",
    "backlinks_django.moderate_backlink",
    "backlinks_django.view_blockeddomain",
    "backlinks_django.view_outboundping",
    "backlinks_django.add_outboundping",
    "backlinks_django.change_outboundping",
)

SITE_ADMIN_PERMISSIONS = (
    *EDITOR_PERMISSIONS,
    "backlinks_django.delete_backlink",
    "backlinks_django.add_blockeddomain",
    "backlinks_django.change_blockeddomain",
    "backlinks_django.delete_blockeddomain",
    "backlinks_django.view_sitesettings",
    "backlinks_django.add_sitesettings",
    "backlinks_django.change_sitesettings",
    "backlinks_django.view_inboundping",
)


class MissingPermission(LookupError):
    """A permission named in a role does not exist (``migrate`` has not run?)."""


def permissions(names: Iterable[str]) -> list[Permission]:
    """The Permission rows of ``app_label.codename`` names; MissingPermission if one is absent."""
    wanted = {tuple(name.split(".", 1)) for name in names}
    query = Q(pk__in=[])
    for app_label, codename in wanted:
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        names_missing = ", ".join(sorted(".".join(m) for m in missing))
        raise MissingPermission(f"no such permission: {names_missing}; run migrate first")
    return found


def set_up_group(name: str, names: Iterable[str]) -> tuple[Group, bool]:
    """The group ``name`` with exactly these permissions; whether it was created."""
    group, created = Group.objects.get_or_create(name=name)
    group.permissions.set(permissions(names))
    return group, created
