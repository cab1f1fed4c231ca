"""Author photos kept on this site: fetched when a backlink is approved, checked, shrunk and
stored, so that readers never load them from the author's server (which would see their
addresses, and may move or change the file).

A photo is stored only if the fetcher gets it within ``AVATAR_MAX_BYTES``, Pillow reads it as
one of ``AVATAR_FORMATS`` of at most ``AVATAR_MAX_PIXELS`` (checked from the header, before
any pixel is decoded) and the whole file decodes. The copy is an ``AVATAR_SIZE`` square WebP
under ``AVATAR_PATH`` in the default storage; its name carries a digest of the photo's URL,
so a new photo gets a new name (and caches never serve the old one).
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import models, transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from backlinks_django.conf import app_settings
from backlinks_django.fetch import FetchError, fetch
from backlinks_django.models import Backlink

logger = logging.getLogger(__name__)

ACCEPT = "image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1"


class AvatarRefused(Exception):
    """The photo could not be fetched, or is not an image this app keeps."""


def storage() -> Storage:
    """Where copies are kept: the ``avatar`` field's storage (the site's default storage)."""
    field = Backlink._meta.get_field("avatar")
    assert isinstance(field, models.FileField)
    return field.storage


def storage_problem() -> str | None:
    """Why copies cannot be kept, or None: a file-system storage needs ``MEDIA_ROOT``, else
    the files would land in whatever directory the process runs in."""
    if isinstance(storage(), FileSystemStorage) and not settings.MEDIA_ROOT:
        return "MEDIA_ROOT is not set"
    return None  # another storage (S3 and the like) has its own settings


def name_for(backlink: Backlink) -> str:
    """The stored copy's name: the backlink and a digest of its photo's URL."""
    digest = hashlib.sha256(backlink.author_photo.encode()).hexdigest()[:16]
    return f"{app_settings.AVATAR_PATH}{backlink.pk}-{digest}.webp"


def download(url: str) -> bytes:
    """The photo's bytes, through the app's fetcher and within ``AVATAR_MAX_BYTES``."""
    try:
        response = fetch(url, max_bytes=app_settings.AVATAR_MAX_BYTES, headers={"Accept": ACCEPT})
    except FetchError as exc:
        raise AvatarRefused(f"not fetched: {exc}") from exc
    if response.status != 200:
        raise AvatarRefused(f"status {response.status}")
    return response.content


def thumbnail(data: bytes) -> bytes:
    """``data`` as an ``AVATAR_SIZE`` square WebP, if it is an allowed image that is not too
    large; else :class:`AvatarRefused`."""
    formats = app_settings.AVATAR_FORMATS
    size = app_settings.AVATAR_SIZE
    try:
        # Opening reads the header only: the pixel count is known before any decoding.
        with Image.open(io.BytesIO(data), formats=formats) as image:
            pixels = image.width * image.height
            if pixels > app_settings.AVATAR_MAX_PIXELS:
                raise AvatarRefused(f"{image.width} x {image.height} pixels is too many")
            image.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            # A JPEG is decoded straight at a fraction of its size when that is enough.
            image.draft("RGB", (size * 2, size * 2))
            upright = ImageOps.exif_transpose(image).convert("RGBA")
            square = ImageOps.fit(upright, (size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            square.save(out, "WEBP", quality=85)
    # Pillow's own bomb guard (above its MAX_IMAGE_PIXELS) when the setting allows more.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise AvatarRefused("too many pixels") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise AvatarRefused(f"not an allowed image: {exc}") from exc
    return out.getvalue()


def store(backlink: Backlink) -> bool:
    """Fetch, check and keep ``backlink``'s author photo; whether a new copy was stored."""
    name = name_for(backlink)
    if backlink.avatar.name == name:
        return False  # this photo is kept already
    try:
        data = thumbnail(download(backlink.author_photo))
    except AvatarRefused as exc:
        logger.info("Author photo of backlink %s refused: %s", backlink.pk, exc)
        return False
    files = storage()
    saved = files.save(name, ContentFile(data))
    # Only if the row still has that photo: it may have changed or gone during the fetch.
    kept = Backlink.objects.filter(pk=backlink.pk, author_photo=backlink.author_photo).update(
        avatar=saved
    )
    if not kept:
        files.delete(saved)
        return False
    if backlink.avatar.name and backlink.avatar.name != saved:
        files.delete(backlink.avatar.name)
    logger.info("Stored the author photo of backlink %s as %s", backlink.pk, saved)
    return True


def store_for(ids: Iterable[int]) -> int:
    """Store the photos of those of these backlinks that are approved; return how many."""
    problem = storage_problem()
    if problem is not None:
        logger.warning("Author photos are not stored: %s (system check W040)", problem)
        return 0
    backlinks = (
        Backlink.objects.approved()
        .filter(pk__in=list(ids))
        .exclude(author_photo="")
        .only("pk", "author_photo", "avatar")
    )
    return sum(store(backlink) for backlink in backlinks)


def delete_on_delete(sender: type[Backlink], instance: Backlink, **kwargs: Any) -> None:
    """``post_delete`` receiver: the copy goes with its backlink, once the deletion commits."""
    if instance.avatar.name:
        transaction.on_commit(functools.partial(storage().delete, instance.avatar.name))
