"""Author photos: fetched on approval from a real loopback server, checked, shrunk, stored;
readers see the stored copy or generated initials, never the remote photo."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from pytest_httpserver import HTTPServer

from backlinks_django import avatars, checks, moderation, privacy
from backlinks_django.models import Backlink, Kind, ModerationPolicy, SiteSettings, Status
from backlinks_django.signals import backlink_received
from tests.conftest import page_linking_to
from tests.helpers import post_webmention
from tests.settings import BACKLINKS as BASE
from tests.test_display import Tags, render

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def image(fmt: str = "JPEG", size: tuple[int, int] = (300, 200), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal").save(out, fmt)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's
    shape (its few bytes would decode to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def serve(
    httpserver: HTTPServer, body: bytes, content_type: str = "image/jpeg", path="/me"
) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


def approve(backlink: Backlink, django_capture_on_commit_callbacks) -> Backlink:
    with django_capture_on_commit_callbacks(execute=True):
        moderation.approve(Backlink.objects.filter(pk=backlink.pk))
    backlink.refresh_from_db()
    return backlink


@pytest.fixture
def liked(make_backlink):
    """A pending like whose author photo is ``url``."""

    def make(url: str, **fields) -> Backlink:
        return make_backlink(
            Status.PENDING,
            kind=Kind.WEBMENTION,
            mention_type="like",
            author_name="Ana Lyse",
            author_photo=url,
            **fields,
        )

    return make


def test_approval_stores_a_small_webp_copy(
    httpserver, liked, media, django_capture_on_commit_callbacks
):
    backlink = liked(serve(httpserver, image("JPEG", (640, 480))))

    backlink = approve(backlink, django_capture_on_commit_callbacks)

    assert backlink.avatar.name.startswith("backlinks/avatars/")
    with Image.open(media / backlink.avatar.name) as stored:
        assert (stored.format, stored.size) == ("WEBP", (96, 96))
    assert len(httpserver.log) == 1


def test_readers_get_the_stored_copy_never_the_remote_photo(
    httpserver, liked, article, django_capture_on_commit_callbacks
):
    remote = serve(httpserver, image("PNG", (120, 120), "RGBA"), "image/png")
    backlink = approve(liked(remote), django_capture_on_commit_callbacks)

    html = render(article)

    (img,) = [a for tag, a in Tags(html).tags if tag == "img"]
    assert img["src"] == f"/media/{backlink.avatar.name}"
    assert img["alt"] == "Ana Lyse"
    assert remote not in html and "localhost" not in html


def test_a_backlink_approved_on_arrival_gets_its_photo(
    client, httpserver, site, article_url, django_capture_on_commit_callbacks
):
    settings_row = SiteSettings.objects.for_site(site)
    settings_row.moderation = ModerationPolicy.AUTO_APPROVE
    settings_row.save()
    serve(httpserver, image("GIF", (50, 50), "P"), "image/gif", path="/ana.gif")
    source = page_linking_to(article_url).replace(
        "<p>",
        '<div class="h-entry"><a class="p-author h-card" href="/">Ana'
        '<img class="u-photo" src="/ana.gif" alt=""></a><p class="e-content">',
        1,
    )
    httpserver.expect_request("/source").respond_with_data(source, content_type="text/html")

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webmention(
            client, {"source": httpserver.url_for("/source"), "target": article_url}
        )

    assert response.status_code == 201
    backlink = Backlink.objects.get()
    assert backlink.status == Status.APPROVED
    assert backlink.avatar.name.endswith(".webp")


BAD = {
    "not an image": (b"<html>surprise</html>", "image/png"),
    "a format not allowed (BMP)": (image("BMP", (40, 40)), "image/bmp"),
    "a truncated image": (image("PNG", (200, 200))[:150], "image/png"),
    "a bomb beyond Pillow's own limit": (png_header_only(30_000, 30_000), "image/png"),
    "a bomb within Pillow's limit but over AVATAR_MAX_PIXELS": (
        png_header_only(5000, 5000),
        "image/png",
    ),
}


@pytest.mark.parametrize("body, content_type", BAD.values(), ids=BAD.keys())
def test_what_is_not_an_allowed_image_is_refused_and_initials_shown(
    httpserver, liked, article, media, body, content_type, django_capture_on_commit_callbacks
):
    backlink = approve(
        liked(serve(httpserver, body, content_type)), django_capture_on_commit_callbacks
    )

    assert len(httpserver.log) == 1  # fetched, then refused
    assert backlink.avatar.name == ""
    assert not media.exists() or not any(media.rglob("*.*"))
    page = Tags(render(article))
    assert not [a for tag, a in page.tags if tag == "img"]
    (initial,) = page.having_class("backlinks-avatar-initial")
    assert initial["aria-label"] == "Ana Lyse"
    assert "A" in page.text


def test_a_photo_over_the_byte_cap_is_refused(
    httpserver, liked, django_capture_on_commit_callbacks, settings
):
    settings.BACKLINKS = {**BASE, "AVATAR_MAX_BYTES": 10_000}
    noise = Image.frombytes("RGB", (200, 200), random.Random(0).randbytes(200 * 200 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    assert len(out.getvalue()) > 10_000

    backlink = approve(
        liked(serve(httpserver, out.getvalue(), "image/png")), django_capture_on_commit_callbacks
    )

    assert len(httpserver.log) == 1
    assert backlink.avatar.name == ""


def test_a_photo_on_a_private_address_is_not_fetched_by_default(
    httpserver, liked, django_capture_on_commit_callbacks, settings
):
    settings.BACKLINKS = {**BASE, "ALLOWED_NETWORKS": []}
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)

    assert backlink.avatar.name == ""
    assert len(httpserver.log) == 0


def test_no_photo_is_fetched_when_avatars_are_off(
    httpserver, liked, django_capture_on_commit_callbacks, settings
):
    settings.BACKLINKS = {**BASE, "AVATARS": False}
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)

    assert backlink.avatar.name == ""
    assert len(httpserver.log) == 0


def test_a_new_photo_replaces_the_old_copy(
    httpserver, liked, media, django_capture_on_commit_callbacks
):
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)
    old = media / backlink.avatar.name
    moderation.unapprove(Backlink.objects.filter(pk=backlink.pk))
    Backlink.objects.filter(pk=backlink.pk).update(
        author_photo=serve(httpserver, image("PNG"), "image/png", path="/new")
    )

    backlink = approve(backlink, django_capture_on_commit_callbacks)

    assert (media / backlink.avatar.name).exists()
    assert not old.exists()


def test_approving_again_does_not_fetch_again(
    httpserver, liked, django_capture_on_commit_callbacks
):
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)
    moderation.unapprove(Backlink.objects.filter(pk=backlink.pk))

    approve(backlink, django_capture_on_commit_callbacks)

    assert len(httpserver.log) == 1


def test_deleting_the_backlink_deletes_the_copy(
    httpserver, liked, media, django_capture_on_commit_callbacks
):
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)
    stored = media / backlink.avatar.name
    assert stored.exists()

    with django_capture_on_commit_callbacks(execute=True):
        backlink.delete()

    assert not stored.exists()


def test_erasing_a_persons_data_deletes_their_photo_copies(
    httpserver, liked, media, django_capture_on_commit_callbacks
):
    backlink = approve(
        liked(serve(httpserver, image()), author_url="https://ana.example/"),
        django_capture_on_commit_callbacks,
    )
    stored = media / backlink.avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        privacy.erase(privacy.Selector(author_urls=("https://ana.example/",)))

    assert not Backlink.objects.exists()
    assert not stored.exists()


def test_an_export_names_the_stored_copy(httpserver, liked, django_capture_on_commit_callbacks):
    backlink = approve(
        liked(serve(httpserver, image()), author_url="https://ana.example/"),
        django_capture_on_commit_callbacks,
    )

    data = privacy.export(privacy.Selector(author_urls=("https://ana.example/",)))

    assert [row["avatar"] for row in data["backlinks"]] == [backlink.avatar.name]


def test_a_spam_backlink_received_gets_no_photo_fetched(
    httpserver, liked, django_capture_on_commit_callbacks
):
    backlink = liked(serve(httpserver, image()))
    Backlink.objects.filter(pk=backlink.pk).update(status=Status.SPAM)
    backlink.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True):
        backlink_received.send(sender=Backlink, backlink=backlink)

    assert len(httpserver.log) == 0


def check_ids() -> list[str]:
    return [message.id for message in checks.check_avatar_storage() if message.id]


def test_w030_without_media_root_and_nothing_stored(
    httpserver, liked, settings, media, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = ""

    assert check_ids() == ["backlinks_django.W040"]
    backlink = approve(liked(serve(httpserver, image())), django_capture_on_commit_callbacks)
    assert backlink.avatar.name == ""
    assert len(httpserver.log) == 0


def test_no_w030_with_media_root_or_with_avatars_off(settings):
    assert check_ids() == []
    settings.MEDIA_ROOT = ""
    settings.BACKLINKS = {**BASE, "AVATARS": False}
    assert check_ids() == []


def test_no_w030_with_another_storage(settings):
    settings.MEDIA_ROOT = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    assert check_ids() == []


SEEDS = {
    fmt: image(fmt, (24, 16), "RGBA" if fmt in ("PNG", "WEBP") else "RGB")
    for fmt in ("JPEG", "PNG", "GIF", "WEBP")
}


@hypothesis_settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000),
)
def test_a_damaged_image_is_refused_never_an_error(seed, edits, cut):
    data = bytearray(SEEDS[seed])
    for position, value in edits:
        data[position % len(data)] = value
    damaged = bytes(data[: max(8, len(data) - cut % len(data))])

    try:
        small = avatars.thumbnail(damaged)
    except avatars.AvatarRefused:
        return
    assert Image.open(io.BytesIO(small)).size == (96, 96)
