"""An editor moderates backlinks in the admin with a real browser, and readers see the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.sites.models import Site
from django.utils import timezone

from backlinks_django.models import Backlink, Kind, Status
from tests.testapp.models import Article

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.browser

CHANGELIST = "/admin/backlinks_django/backlink/"
TITLES = ["First peer post", "Second peer post", "Third peer post"]


@pytest.fixture
def article(live_server: LiveServer) -> Article:
    """An article with three pending backlinks, on a site whose domain is the live server's."""
    site, _ = Site.objects.update_or_create(
        pk=1, defaults={"domain": live_server.url.removeprefix("http://"), "name": "Live"}
    )
    article = Article.objects.create(
        title="Target article",
        slug="target",
        body="<p>Hello</p>",
        published_at=timezone.now() - timezone.timedelta(days=1),
    )
    for n, title in enumerate(TITLES, start=1):
        Backlink.objects.create(
            kind=Kind.PINGBACK,
            status=Status.PENDING,
            site=site,
            target=article,
            target_url=f"{live_server.url}{article.get_absolute_url()}",
            source_url=f"http://peer{n}.example/post/{n}",
            title=title,
            excerpt=f"Excerpt {n}",
        )
    return article


@pytest.fixture
def editor(live_server: LiveServer) -> User:
    """Staff who may view and moderate backlinks, but no superuser; logs in with a password."""
    user = User.objects.create_user("editor", password="editor-pw", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="backlinks_django",
            codename__in=["view_backlink", "moderate_backlink"],
        )
    )
    return user


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")


def filter_by_status(page: Page, label: str) -> None:
    """Open the backlink changelist and click a status in the filter sidebar."""
    page.goto(CHANGELIST)
    page.locator("#changelist-filter").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(f"**{CHANGELIST}?status__exact=*")


def listed_titles(page: Page) -> list[str]:
    return sorted(page.locator("#result_list .field-title_or_source").all_inner_texts())


def run_action(page: Page, action: str, titles: list[str]) -> str:
    """Tick the rows with these titles, run the action and return the success message."""
    for title in titles:
        row = page.locator("#result_list tbody tr").filter(has_text=title)
        row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label=action)
    with page.expect_navigation():
        # The action button reads "Go" up to Django 6.0 and "Run" from 6.1.
        page.locator(".actions button[name=index]").click()
    return page.locator("ul.messagelist li.success").inner_text()


def public_titles(page: Page, url: str) -> list[str]:
    """Load the article's public page and return the backlink titles it shows."""
    page.goto(url)
    return sorted(page.locator("li.backlink a").all_inner_texts())


def test_editor_approves_then_marks_spam_and_readers_see_it(
    article: Article, editor: User, open_browser: Callable[[], Page]
) -> None:
    # The database is ready; from here on only the browser is used (see conftest.py).
    article_url = article.get_absolute_url()
    first, second, third = TITLES
    page = open_browser()
    log_in(page, "editor", "editor-pw")

    filter_by_status(page, "Pending")
    assert listed_titles(page) == sorted(TITLES)
    message = run_action(page, "Approve selected backlinks", [first, second])
    assert message == "2 backlinks were approved."
    assert listed_titles(page) == [third]  # the pending filter is kept after the action

    assert public_titles(page, article_url) == sorted([first, second])

    filter_by_status(page, "Approved")
    message = run_action(page, "Mark selected backlinks as spam", [first])
    assert message == "1 backlink was marked as spam."

    assert public_titles(page, article_url) == [second]
