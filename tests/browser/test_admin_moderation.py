"""An editor moderates backlinks in the admin with a real browser, and readers see the result;
at 1280 pixels with the admin's sidebar open, nothing an editor needs is off-screen."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.sites.models import Site
from django.test import override_settings
from django.utils import timezone

from backlinks_django.admin import roles
from backlinks_django.choices import Outcome
from backlinks_django.models import Backlink, Kind, Status
from tests.helpers import outbound_row
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
    # "Pending" carries its count: "Pending (3)".
    name = re.compile(rf"^{re.escape(label)}( \(\d+\))?$")
    page.locator("#changelist-filter").get_by_role("link", name=name).click()
    page.wait_for_url(f"**{CHANGELIST}?status__exact=*")


def listed_titles(page: Page) -> list[str]:
    return sorted(page.locator("#result_list .backlinks-entry-title").all_inner_texts())


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


# --- the list fits the screen ----------------------------------------------------------------

OUTBOUND = "/admin/backlinks_django/outboundping/"
LONG_TITLES = [
    "A rather long title of a post that replies to the article, as blogs like to write them",
    "Second peer post with a title long enough to wrap onto another line in the list",
    "Third one",
]
EXCERPT = (
    "I read the article about backlinks twice, and what struck me most was how little the "
    "receiving site has to trust the sender: it fetches the page itself and looks for the link. "
) * 3


@pytest.fixture
def app_before_admin(settings) -> Iterator[None]:
    """backlinks_django above django.contrib.admin, as the README asks: its index template wins."""
    apps = [app for app in settings.INSTALLED_APPS if app != "backlinks_django"]
    with override_settings(INSTALLED_APPS=["backlinks_django", *apps]):
        yield


@pytest.fixture
def crowded(live_server: LiveServer, app_before_admin: None) -> Article:
    """Pending backlinks with long titles, excerpts and URLs; outbound rows; a role's editor."""
    site, _ = Site.objects.update_or_create(
        pk=1, defaults={"domain": live_server.url.removeprefix("http://"), "name": "Live"}
    )
    article = Article.objects.create(
        title="What backlinks are for, and why a site should check them",
        slug="target",
        body="<p>Hello</p>",
        published_at=timezone.now() - timezone.timedelta(days=1),
    )
    for n, title in enumerate(LONG_TITLES, start=1):
        Backlink.objects.create(
            kind=Kind.WEBMENTION,
            mention_type="reply",
            status=Status.PENDING,
            site=site,
            target=article,
            target_url=f"{live_server.url}{article.get_absolute_url()}",
            source_url=f"https://a-long-subdomain-name-{n}.peer-blog.example/2026/12/02/"
            f"{'a-very-long-slug-' * 6}{n}/",
            title=title,
            excerpt=EXCERPT,
            author_name=f"Author Number {n}",
            reason="Held for moderation",
        )
    long_url = f"https://peer.example/{'deeply/nested/' * 8}post/?utm_source=feed&id=1234567890"
    outbound_row(article, long_url, outcome=Outcome.SUCCESS, fault_code=48, protocol="pingback")
    outbound_row(article, "https://gone.example/p/", outcome=Outcome.FAULT, fault_code=32)
    outbound_row(article, "https://quiet.example/p/", outcome=Outcome.NO_ENDPOINT, attempts=1)
    user = User.objects.create_user("roled", password="roled-pw", is_staff=True)
    group, _ = roles.set_up_group("Editors", roles.EDITOR_PERMISSIONS)
    user.groups.add(group)
    return article


def off_screen(page: Page, selector: str) -> list[str]:
    """Which elements matching ``selector`` are not wholly inside the viewport's width."""
    width = page.evaluate("document.documentElement.clientWidth")
    outside = []
    for element in page.locator(selector).all():
        box = element.bounding_box()
        assert box is not None, f"{selector} is not displayed"
        if box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
            outside.append(f"{selector} at x={box['x']:.0f}..{box['x'] + box['width']:.0f}")
    return outside


def assert_fits(page: Page, selectors: list[str]) -> None:
    assert page.locator("#nav-sidebar").is_visible()  # the admin's sidebar is open
    assert page.locator("#changelist-filter").is_visible()
    outside = [where for selector in selectors for where in off_screen(page, selector)]
    assert outside == []
    no_scroll = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    assert page.evaluate(no_scroll)


def test_editor_moderates_from_the_list_and_nothing_needed_is_off_screen(
    crowded: Article, open_browser: Callable[[], Page], request: pytest.FixtureRequest
) -> None:
    # The database is ready; from here on only the browser is used (see conftest.py).
    page = open_browser()
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, "roled", "roled-pw")
    assert "Backlinks (3 pending)" in page.locator("#content-main").inner_text()

    page.goto(CHANGELIST)
    page.locator("#changelist-filter").get_by_role("link", name="Pending (3)").click()
    page.wait_for_url(f"**{CHANGELIST}?status__exact=pending")
    assert_fits(
        page,
        [
            "#result_list .backlinks-entry-title",
            "#result_list .backlinks-entry-domain",
            "#result_list .backlinks-entry-excerpt",
            "#result_list .backlinks-target",
            "#result_list .backlinks-status",
            "#result_list .backlinks-received",
            "#result_list .backlinks-step",
            "#changelist-form .actions select[name=action]",
            "#changelist-form .actions button[name=index]",
        ],
    )
    shots = Path(request.config.rootpath, "test-artifacts")
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "admin_moderation_list.png"))

    first, second, third = LONG_TITLES
    row = page.locator("#result_list tbody tr").filter(has_text=first)
    with page.expect_navigation():
        row.get_by_role("button", name="Approve").click()
    assert page.locator("ul.messagelist li.success").inner_text() == f"Approved: {first}"
    assert page.url.endswith(f"{CHANGELIST}?status__exact=pending")  # the same filtered list
    assert listed_titles(page) == sorted([second, third])

    row = page.locator("#result_list tbody tr").filter(has_text=second)
    with page.expect_navigation():
        row.get_by_role("button", name="Spam").click()
    assert page.locator("ul.messagelist li.success").inner_text() == f"Marked as spam: {second}"
    assert listed_titles(page) == [third]

    filter_by_status(page, "Approved")
    assert listed_titles(page) == [first]
    assert page.locator("#result_list .backlinks-step").all_inner_texts() == [
        "Unapprove",
        "Spam",
        "Reject",
    ]

    response = page.goto(OUTBOUND)
    assert response is not None and response.status == 200  # an editor sees the outbound log
    assert_fits(
        page,
        [
            "#result_list .backlinks-link-target",
            "#result_list .backlinks-link-source",
            "#result_list .backlinks-outcome",
            "#result_list .field-updated",
        ],
    )
    outcomes = page.locator("#result_list .backlinks-outcome").all_inner_texts()
    assert "Delivered (already registered there)" in outcomes
    assert "Fault: the linked page does not exist there" in outcomes
    assert "None" not in page.locator("#result_list").inner_text()
    page.screenshot(path=str(shots / "admin_outbound_log.png"))
