"""A reader opens an article and sees its responses as cards, facepiles and a list, with
author photos from this site's storage and generated initials where there is none."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.sites.models import Site
from django.utils import timezone
from PIL import Image
from pytest_httpserver import HTTPServer

from backlinks_django import avatars
from backlinks_django.models import Backlink, Kind, Status
from tests.testapp.models import Article

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

REPLIES = [("Ana Reply", "Re: your article", "Well argued."), ("Bo Mention", "", "See also.")]
LIKERS = ["Cy", "Dee"]
REPOSTER = "Eve"


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "darkorange").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def article(live_server: LiveServer, httpserver: HTTPServer, settings, tmp_path) -> Article:
    """A published article with approved replies, likes, a repost, a pingback, and a pending one.

    Ana's and Cy's photos are on their own (loopback) servers and were stored on approval.
    """
    settings.MEDIA_ROOT = str(tmp_path / "media")
    httpserver.expect_request("/photo.jpg").respond_with_data(photo(), content_type="image/jpeg")
    remote_photo = httpserver.url_for("/photo.jpg")
    site = Site.objects.get(pk=1)
    article = Article.objects.create(
        title="Target article",
        slug="target",
        published_at=timezone.now() - timezone.timedelta(days=1),
    )
    n = iter(range(1, 100))

    def backlink(**fields: object) -> None:
        i = next(n)
        Backlink.objects.create(
            site=site,
            target=article,
            target_url=f"{live_server.url}{article.get_absolute_url()}",
            source_url=f"http://peer{i}.example/post/{i}",
            **{"kind": Kind.WEBMENTION, "status": Status.APPROVED, **fields},
        )

    (ana, title, text), (bo, _, text2) = REPLIES
    backlink(
        mention_type="reply", author_name=ana, title=title, excerpt=text, author_photo=remote_photo
    )
    backlink(mention_type="mention", author_name=bo, excerpt=text2)
    for name in LIKERS:
        backlink(mention_type="like", author_name=name, author_photo=remote_photo)
    backlink(mention_type="repost", author_name=REPOSTER)
    backlink(kind=Kind.PINGBACK, title="An old-style pingback", blog_name="Old blog")
    backlink(mention_type="reply", author_name="Pending Person", status=Status.PENDING)
    with_photos = Backlink.objects.exclude(author_photo="").values_list("pk", flat=True)
    assert avatars.store_for(with_photos) == 3
    return article


def test_reader_sees_cards_facepiles_and_a_list_with_no_outside_request(
    article: Article, live_server: LiveServer, open_browser: Callable[[], Page], request
) -> None:
    # The database is ready; from here on only the browser is used (see conftest.py).
    url = f"/articles/{article.slug}/responses/"
    page = open_browser()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url)

    assert page.get_by_role("heading", name="6 responses", level=2).is_visible()

    cards = page.locator("article.backlinks-card")
    assert cards.count() == 2
    assert "Well argued." in cards.nth(0).inner_text()
    original = cards.nth(0).get_by_role("link", name=re.compile("^Read the original post"))
    assert original.get_attribute("href") == "http://peer1.example/post/1"

    likes = page.locator("section.backlinks-likes")
    assert likes.get_by_role("heading", level=3).inner_text() == "Likes (2)"
    assert [likes.get_by_role("link", name=name).count() for name in LIKERS] == [1, 1]
    assert page.locator("section.backlinks-reposts").get_by_role("link", name=REPOSTER).count()

    assert (
        page.locator("ul.backlinks-compact")
        .get_by_role("link", name="An old-style pingback")
        .is_visible()
    )
    assert "Pending Person" not in page.content()

    # The stylesheet applied: avatars are round, 40 px; stored photos loaded from this site,
    # initials drawn where there is none (Bo's card, Eve's repost).
    photos = page.locator("img.backlinks-avatar")
    assert photos.count() == 3
    for i in range(3):
        img = photos.nth(i)
        assert img.get_attribute("src").startswith("/media/backlinks/avatars/")  # type: ignore[union-attr]
        assert img.evaluate("e => e.complete && e.naturalWidth") == 96
        assert img.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "50%"
        assert img.bounding_box()["width"] == 40  # type: ignore[index]
    assert page.get_by_role("img", name="Cy").get_attribute("src") is not None
    initial = page.locator("section.backlinks-reposts .backlinks-avatar-initial")
    assert initial.inner_text() == "E"
    assert initial.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "50%"
    assert initial.bounding_box()["width"] == 40  # type: ignore[index]

    # Every request went to this site: no photo was hot-linked from its author's server.
    assert requested and all(u.startswith(live_server.url) for u in requested), requested
    assert any("/media/backlinks/avatars/" in u for u in requested)

    shot = Path(request.config.rootpath, "test-artifacts", "reader_page.png")
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
