"""The generic relation that ties every backlink and outbound row to one of the site's objects."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model


def object_lookup(obj: Model) -> dict[str, object]:
    """Filter arguments for the rows about ``obj`` (generic relation fields)."""
    return {"content_type": ContentType.objects.get_for_model(obj), "object_id": str(obj.pk)}
