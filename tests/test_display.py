"""Display: what readers see of an object's backlinks, through ``{% backlinks_for %}``."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.template import Context, Template

from backlinks_django import display
from backlinks_django.models import Kind, Status
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db


def render(obj: Article, arguments: str = "") -> str:
    return Template("{% load backlinks %}{% backlinks_for obj " + arguments + " %}").render(
        Context({"obj": obj})
    )


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having_class(self, name: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.tags if name in (a.get("class") or "").split()]


def test_replies_and_webmention_mentions_are_cards(make_backlink, article):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="reply", title="A reply")
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="mention", title="A mention")
    make_backlink(Status.APPROVED, kind=Kind.PINGBACK, mention_type="reply", title="Pinged reply")

    page = Tags(render(article))

    assert len(page.having_class("backlinks-card")) == 3
    assert page.having_class("backlinks-compact") == []


def test_likes_and_reposts_are_facepiles_of_links_with_names(make_backlink, article):
    for name in ("Ana", "Bo"):
        make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="like", author_name=name)
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="repost", author_name="Cy")

    html = render(article)
    page = Tags(html)

    faces = page.having_class("backlinks-face")
    assert [face["title"] for face in faces] == ["Ana", "Bo", "Cy"]
    assert "Likes" in html and "Reposts" in html
    assert page.having_class("backlinks-card") == []


def test_pingbacks_and_trackbacks_are_a_compact_list(make_backlink, article):
    make_backlink(Status.APPROVED, kind=Kind.PINGBACK, title="Pinged")
    make_backlink(Status.APPROVED, kind=Kind.TRACKBACK, title="Tracked", blog_name="A blog")

    html = render(article)

    assert len(Tags(html).having_class("backlinks-compact")) == 1
    assert "Pinged" in html and "Tracked" in html and "<cite>A blog</cite>" in html


def test_only_approved_backlinks_are_shown_and_counted(make_backlink, article):
    make_backlink(Status.APPROVED, title="Shown")
    for status in (Status.PENDING, Status.SPAM, Status.REJECTED, Status.REMOVED):
        make_backlink(status, title=f"Hidden {status}")

    html = render(article)

    assert "Shown" in html and "Hidden" not in html
    assert "1 response</h2>" in html


def test_no_backlinks_says_so(article):
    assert "No responses yet." in render(article)


def test_a_card_links_to_the_original_post_when_the_source_is_a_copy(make_backlink, article):
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        source_url="https://brid.gy/comment/mastodon/x/1",
        original_url="https://social.example/@ana/1",
    )

    links = [a["href"] for tag, a in Tags(render(article)).tags if tag == "a"]

    assert links == ["https://social.example/@ana/1"]


def test_a_card_shows_author_kind_date_title_and_excerpt(make_backlink, article):
    published = article.published_at
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        author_name="Ana Author",
        author_url="https://ana.example/",
        title="Re: target",
        excerpt="Well said.",
        published=published,
    )

    html = render(article)
    page = Tags(html)

    assert {"class": "u-url p-name", "href": "https://ana.example/", "rel": "nofollow ugc"} in [
        a for _, a in page.tags
    ]
    assert ">Reply</span>" in html
    assert f'datetime="{published.isoformat()}"' in html
    assert "Re: target" in html and "Well said." in html


def test_a_missing_photo_gets_a_generated_initial_and_no_request(make_backlink, article):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="like", author_name="émile")

    page = Tags(render(article))

    (avatar,) = page.having_class("backlinks-avatar")
    assert avatar["role"] == "img" and avatar["aria-label"] == "émile"
    assert "É" in page.text
    assert not [a for tag, a in page.tags if tag == "img"]


def test_a_stored_photo_is_an_image_with_alt_text_that_sends_no_referrer(make_backlink, article):
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="like",
        author_name="Bo",
        author_photo="https://bo.example/me.jpg",
        avatar="backlinks/avatars/7-abc.webp",
    )

    html = render(article)
    (img,) = [a for tag, a in Tags(html).tags if tag == "img"]

    assert img["src"] == "/media/backlinks/avatars/7-abc.webp"
    assert img["alt"] == "Bo"
    assert img["referrerpolicy"] == "no-referrer"
    assert "bo.example" not in html


def test_a_photo_not_stored_is_never_hot_linked(make_backlink, article):
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        author_name="Bo",
        author_photo="https://bo.example/me.jpg",
    )

    html = render(article)

    assert "bo.example" not in html
    assert not [a for tag, a in Tags(html).tags if tag == "img"]
    assert Tags(html).having_class("backlinks-avatar-initial")


def test_a_card_avatar_is_decorative_beside_the_name(make_backlink, article):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="reply", author_name="Ana")

    (avatar,) = Tags(render(article)).having_class("backlinks-avatar")

    assert avatar["aria-hidden"] == "true"


@pytest.mark.parametrize("field", ["author_url", "author_photo", "original_url"])
def test_only_web_urls_reach_href_and_src(make_backlink, article, field):
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        **{field: "javascript:alert(1)"},
    )

    assert "javascript:" not in render(article)


def test_remote_text_is_escaped(make_backlink, article):
    make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        author_name="<script>a</script>",
        title="<script>t</script>",
        excerpt="<script>e</script>",
    )

    html = render(article)

    assert "<script>" not in html
    assert "&lt;script&gt;e&lt;/script&gt;" in html


def test_the_markup_has_no_script_and_no_inline_style(make_backlink, article):
    for mention_type in ("reply", "like", "repost", "mention"):
        make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type=mention_type)
    make_backlink(Status.APPROVED)

    page = Tags(render(article))

    assert {tag for tag, _ in page.tags}.isdisjoint({"script", "style", "link"})
    assert not [a for _, a in page.tags if "style" in a or any(k.startswith("on") for k in a)]


def test_backlinks_for_is_one_query_whatever_the_number(
    make_backlink, article, django_assert_num_queries
):
    for n in range(30):
        make_backlink(
            Status.APPROVED, kind=Kind.WEBMENTION, mention_type=["reply", "like", "mention"][n % 3]
        )
    ContentType.objects.get_for_model(article)  # warm the content type cache as a page would

    with django_assert_num_queries(1):
        html = render(article)

    assert "30 responses" in html


def test_another_template_can_be_named(make_backlink, article, tmp_path, settings):
    (tmp_path / "mine.html").write_text("{{ groups.total }} via {{ object }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    make_backlink(Status.APPROVED)

    assert render(article, 'template="mine.html"') == "1 via Target article"


def test_the_avatar_template_can_be_overridden(make_backlink, article, tmp_path, settings):
    (tmp_path / "backlinks_django").mkdir()
    (tmp_path / "backlinks_django" / "avatar.html").write_text("[{{ item.initial }}]")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="like", author_name="Zoe")

    assert "[Z]" in render(article)


@pytest.mark.parametrize(
    ("name", "expected"), [("ana", "A"), ("  ¡Óscar!", "Ó"), ("42 blog", "4"), ("…", "?")]
)
def test_initial(name, expected):
    assert display.initial(name) == expected


def test_tone_is_stable_and_in_range():
    assert display.tone("Ana") == display.tone("ana")
    assert {display.tone(str(n)) for n in range(200)} == set(range(display.TONES))


def test_the_credited_name_falls_back_to_blog_then_host(make_backlink):
    assert display.author(make_backlink(author_name="Ana", blog_name="Blog")) == "Ana"
    assert display.author(make_backlink(blog_name="Blog")) == "Blog"
    assert display.author(make_backlink(source_url="https://www.host.example/p")) == "host.example"
