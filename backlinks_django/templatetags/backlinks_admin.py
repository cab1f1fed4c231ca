"""For the admin's index pages: the number of backlinks waiting, next to *Backlinks*."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from backlinks_django.models import Backlink

register = template.Library()


@register.simple_tag
def backlinks_pending_in(app_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``app_list`` with "Backlinks (3 pending)" for a user who may see backlinks.

    ``{% backlinks_pending_in app_list as app_list %}`` before the list is rendered; the
    other apps' entries are left as they are, and running it twice counts once.
    """
    apps = []
    for app in app_list:
        if app.get("app_label") == "backlinks_django":
            app = {**app, "models": [_with_count(model) for model in app.get("models", [])]}
        apps.append(app)
    return apps


def _with_count(model: dict[str, Any]) -> dict[str, Any]:
    if model.get("model") is not Backlink or "backlinks_pending" in model:
        return model
    if not model.get("perms", {}).get("view"):
        return model
    count = Backlink.objects.pending().count()
    if not count:
        return {**model, "backlinks_pending": 0}
    name = gettext("%(name)s (%(count)d pending)") % {"name": model["name"], "count": count}
    return {**model, "name": name, "backlinks_pending": count}
