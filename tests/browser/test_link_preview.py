"""An editor sees the links an article will ping, and unticks one, in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.sites.models import Site
from django.db.models import Q
from django.utils import timezone

from backlinks_django.choices import Kind, Outcome
from tests.browser.test_admin_moderation import log_in
from tests.helpers import DUMMY_TASKS, links, outbound_row
from tests.testapp.models import Article

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.fixtures import SettingsWrapper
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

GROUP = "#backlinks_django-links-group"
DISCOVERED = "https://webmention.example/post/"
NEW = "https://new.example/post/"
SILENT = "https://silent.example/post/"


@pytest.fixture
def article(live_server: LiveServer, settings: SettingsWrapper) -> Article:
    """An article linking to a Webmention receiver already pinged, a page that advertised
    nothing, and a page not pinged yet. Saving queues tasks on the DummyBackend: nothing is
    sent from the browser's saves."""
    settings.TASKS = DUMMY_TASKS
    Site.objects.update_or_create(
        pk=1, defaults={"domain": live_server.url.removeprefix("http://"), "name": "Live"}
    )
    published = timezone.now() - timezone.timedelta(days=1)
    # bulk_create: no post_save, so no pings queued while setting up.
    (article,) = Article.objects.bulk_create(
        [
            Article(
                title="Linking article",
                slug="linking",
                body=links(DISCOVERED, SILENT, NEW),
                published_at=published,
            )
        ]
    )
    outbound_row(
        article,
        DISCOVERED,
        protocol=Kind.WEBMENTION,
        endpoint="https://webmention.example/endpoint",
        outcome=Outcome.SUCCESS,
        attempts=1,
    )
    outbound_row(article, SILENT, outcome=Outcome.NO_ENDPOINT, attempts=1)
    return article


@pytest.fixture
def editor(live_server: LiveServer) -> User:
    """Staff who may edit articles and their outbound links, but no superuser."""
    user = User.objects.create_user("editor", password="editor-pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            Q(content_type__app_label="testapp", codename__in=["view_article", "change_article"])
            | Q(
                content_type__app_label="backlinks_django",
                codename__in=["view_outboundping", "add_outboundping", "change_outboundping"],
            )
        )
    )
    return user


def listed(page: Page) -> dict[str, tuple[str, bool]]:
    """{link: (what its target advertises, Ping box ticked)} as the links inline shows them."""
    shown: dict[str, tuple[str, bool]] = {}
    for row in page.locator(f"{GROUP} tbody tr.form-row:not(.empty-form)").all():
        url = row.locator("td.field-link").inner_text().strip()
        advertises = row.locator("td.field-advertises").inner_text().strip()
        shown[url] = (advertises, row.locator("td.field-ping input[type=checkbox]").is_checked())
    return shown


def test_editor_sees_the_links_to_ping_and_unticks_one(
    article: Article, editor: User, open_browser: Callable[[], Page]
) -> None:
    change_page = f"/admin/testapp/article/{article.pk}/change/"
    # The database is ready; from here on only the browser is used (see conftest.py).
    page = open_browser()
    log_in(page, "editor", "editor-pw")
    page.goto(change_page)

    assert page.locator(f"{GROUP} h2").text_content().strip() == "Links to ping"
    assert listed(page) == {
        DISCOVERED: ("Webmention", True),
        SILENT: ("Nothing", True),
        NEW: ("Not discovered yet", True),
    }

    page.locator(f"{GROUP} tr.form-row").filter(has_text=NEW).locator(
        "td.field-ping input"
    ).uncheck()
    page.locator(f"{GROUP} tr.form-row").filter(has_text=DISCOVERED).locator(
        "td.field-ping input"
    ).uncheck()
    with page.expect_navigation():
        page.locator("input[name=_continue]").click()

    assert "was changed successfully" in page.locator("ul.messagelist li.success").inner_text()
    assert listed(page) == {
        DISCOVERED: ("Webmention", False),
        SILENT: ("Nothing", True),
        NEW: ("Not discovered yet", False),
    }
    # The "Add another" link is not offered: the rows are the content's links.
    assert page.locator(f"{GROUP} .add-row").is_hidden()
