"""Microformats of source pages: what a response is, who wrote it, where the original lives."""

from __future__ import annotations

from typing import Any

import mf2py
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backlinks_django import mf2
from backlinks_django.choices import MentionType
from backlinks_django.html import parse_html
from backlinks_django.mf2 import Entry, entry_from_tree, may_hold_entry, read_entry

TARGET = "https://blog.example/posts/hello/"
# A copy of a social post as Bridgy publishes it: the h-entry names the target and the
# original post it stands for, with the social account as its h-card author.
BRIDGY = """<!DOCTYPE html><html><head><title>{title}</title></head><body>
<article class="h-entry">
  <span class="p-uid">tag:social.example,2013:9_{kind}_by_7</span>
  <span class="p-author h-card">
    <a class="p-name u-url" href="https://social.example/alice">Alice</a>
    <img class="u-photo" src="https://cdn.social.example/alice.jpg" alt="">
  </span>
  <a class="u-url" href="https://social.example/alice/status/9"></a>
  <div class="e-content p-name">{text}</div>
  <a class="{property}" href="{target}"></a>
</article></body></html>"""


@pytest.mark.parametrize(
    ("prop", "mention_type", "text"),
    [
        ("u-like-of", MentionType.LIKE, "likes this."),
        ("u-repost-of", MentionType.REPOST, "reposts this."),
        ("u-in-reply-to", MentionType.REPLY, "So true!"),
    ],
)
def test_a_bridgy_copy_gives_the_response_type_the_author_and_the_original_url(
    prop, mention_type, text
):
    page = BRIDGY.format(title="Bridgy", kind=prop, text=text, property=prop, target=TARGET)

    entry = read_entry(page, "https://brid.example/like/9", TARGET)

    assert entry.mention_type == mention_type
    assert (entry.author_name, entry.author_url, entry.author_photo) == (
        "Alice",
        "https://social.example/alice",
        "https://cdn.social.example/alice.jpg",
    )
    assert entry.url == "https://social.example/alice/status/9"
    assert entry.content == text


@pytest.mark.parametrize(
    "cited",
    [TARGET, "http://blog.example/posts/hello/", "https://blog.example/posts/hello"],
    ids=["same", "http-twin", "no-trailing-slash"],
)
def test_a_reply_to_a_twin_of_the_target_is_a_reply(cited):
    page = BRIDGY.format(title="t", kind="r", text="Yes", property="u-in-reply-to", target=cited)

    assert read_entry(page, "https://brid.example/r/9", TARGET).mention_type == MentionType.REPLY


# A WordPress theme's markup: classic microformats (hentry, entry-title, vcard), which
# parsers read as h-entry and h-card.
WORDPRESS_THEME = """<html><head><title>A post &#8211; Bob's blog</title></head><body>
<article id="post-26" class="post-26 post type-post status-publish hentry">
  <header class="entry-header"><h1 class="entry-title">A post</h1></header>
  <div class="entry-meta"><span class="byline"><span class="author vcard">
    <a class="url fn n" href="http://bob.example/author/bob/">Bob</a></span></span>
    <time class="entry-date published" datetime="2026-11-30T09:00:00+00:00">Nov 30</time>
  </div>
  <div class="entry-content"><p>I read <a href="{target}">this post</a> today.</p></div>
</article></body></html>"""


def test_a_wordpress_theme_names_the_author_through_classic_microformats():
    entry = read_entry(WORDPRESS_THEME.format(target=TARGET), "http://bob.example/?p=26", TARGET)

    assert (entry.author_name, entry.author_url) == ("Bob", "http://bob.example/author/bob/")
    assert entry.name == "A post"
    assert entry.mention_type == MentionType.MENTION
    assert entry.published is not None and entry.published.isoformat().startswith("2026-11-30")


def test_an_entry_url_that_is_not_a_web_url_is_dropped():
    page = BRIDGY.replace("https://social.example/alice/status/9", "javascript:alert(1)")
    page = page.format(title="t", kind="l", text="x", property="u-like-of", target=TARGET)

    assert read_entry(page, "https://brid.example/l/9", TARGET).url == ""


# Only a page that can hold an entry is parsed ------------------------------------------------


def _items(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    stack = list(parsed.get("items", []))
    while stack:
        item = stack.pop()
        found.append(item)
        stack.extend(item.get("children", []))
        for values in item.get("properties", {}).values():
            stack.extend(value for value in values if isinstance(value, dict) and "type" in value)
    return found


def _has_entry(page: str) -> bool:
    """Whether mf2py, reading the page's tree, finds an h-entry anywhere (nested ones too)."""
    soup = parse_html(page)
    if soup is None:
        return False
    parsed = mf2py.parse(doc=soup, url="https://source.example/post")
    return any("h-entry" in item.get("type", []) for item in _items(parsed))


# Class tokens, as written: an entry root's spellings and what is not one.
_CLASSES = st.sampled_from(
    [
        *("h-entry", "hentry", "h-card", "vcard", "hfeed", "h-feed", "hreview", "h-cite"),
        *("p-name", "e-content", "u-url", "u-in-reply-to", "p-author", "entry-title", "author"),
        *("entry-content", "fn", "url", "H-entry", "h-entry-x", "xh-entry", "h-entr", "hentryx"),
        *("&#104;-entry", "h&#45;entry", "h&#x2d;entry", "&#x68;entry", "h-&#101;ntry"),
    ]
)
_SEPARATORS = st.sampled_from([" ", "\t", "\n", "\xa0", "\u2003", "&Tab;", "&#32;", "&NewLine;"])
_CLASS_VALUE = st.lists(st.tuples(_CLASSES, _SEPARATORS), min_size=1, max_size=3).map(
    lambda pairs: "".join(name + separator for name, separator in pairs).rstrip(" ")
)
_ATTRIBUTE = st.builds(
    lambda spelling, quote, value: f"{spelling}={quote}{value}{quote}",
    st.sampled_from(["class", "CLASS", "Class", "class ", "data-class", "klass"]),
    st.sampled_from(['"', "'"]),
    _CLASS_VALUE,
) | st.builds(lambda value: f"class={value.split()[0]}", _CLASS_VALUE)
_ELEMENT = st.builds(
    lambda name, attribute, inner: f"<{name} {attribute}>{inner}</{name}>",
    st.sampled_from(["div", "article", "span", "a", "p", "template", "time", "img"]),
    _ATTRIBUTE,
    st.sampled_from(["", "text", '<a class="u-url" href="/x">x</a>', "<img src='/p.png'>"]),
)
MICROFORMATS_PAGES = st.lists(
    st.recursive(
        _ELEMENT | st.sampled_from(["text", "İ", "<!-- class='h-entry' -->", "<p>", "</div>"]),
        lambda inner: st.builds(
            lambda outer, parts: outer.replace("</", "".join(parts) + "</", 1),
            _ELEMENT,
            st.lists(inner, max_size=3),
        ),
        max_leaves=8,
    ),
    max_size=4,
).map("".join)


@settings(max_examples=300)
@given(MICROFORMATS_PAGES)
@example('<div class="h-entry"><p class="p-name">x</p></div>')
@example("<div CLASS=hentry><span class=entry-title>x</span></div>")
@example('<div class="x&Tab;h-entry">x</div>')
@example('<div class="&#104;-entry">x</div>İ')
@example('<div class="x\u2003h-entry">x</div>')
def test_a_page_is_read_the_same_with_or_without_the_entry_check(page: str) -> None:
    url = "https://source.example/post"
    soup = parse_html(page)
    read = read_entry(page, url, TARGET)

    assert read == (entry_from_tree(soup, url, TARGET) if soup is not None else Entry())
    # The check only ever passes over pages holding no entry at all.
    assert may_hold_entry(page) or not _has_entry(page)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            '<div class="h-card"><a class="p-name u-url" href="/">A</a></div>', id="card"
        ),
        pytest.param('<p>h-entry hentry</p><a title="class=h-entry">x</a>', id="not-a-class"),
        pytest.param('<div class="h-entry-x hentryx">x</div>', id="longer-names"),
    ],
)
def test_a_page_without_an_entry_root_is_not_parsed(page: str) -> None:
    assert not may_hold_entry(page)


@pytest.mark.parametrize(
    "page",
    [
        pytest.param('<div class="h-entry">x</div>', id="mf2"),
        pytest.param('<div class="post hentry">x</div>', id="classic"),
        pytest.param("<div CLASS = 'a\th-entry'>x</div>", id="upper-case-attribute"),
        pytest.param('<div class="&#104;-entry">x</div>', id="character-reference"),
        pytest.param('<div class="a&NewLine;hentry">x</div>', id="named-reference-as-space"),
    ],
)
def test_a_page_with_an_entry_root_is_parsed(page: str) -> None:
    assert may_hold_entry(page)


# mf2py changes the tree it reads instead of copying it ---------------------------------------


def _without_markup(value: Any) -> Any:
    """mf2py's output less the e-* properties' markup ("html", or "dom" when exposed)."""
    if isinstance(value, dict):
        return {k: _without_markup(v) for k, v in value.items() if k not in ("html", "dom")}
    if isinstance(value, list):
        return [_without_markup(v) for v in value]
    return value


_CONTENT = st.sampled_from(
    [
        "text",
        " spaced  words\n",
        '<a href="/relative">a link</a>',
        '<a class="u-in-reply-to" href="../up">reply</a>',
        '<a class="u-like-of h-cite" href="//host.example/x">cite</a>',
        '<img src="img/p.png" alt="alt">',
        '<img class="u-photo" src="/photo.jpg">',
        '<video poster="p.jpg" src="v.mp4"></video>',
        '<object data="d.bin"></object>',
        '<blockquote cite="/c">q</blockquote>',
        '<template><p class="p-name">hidden</p><img src="/t.png"></template>',
        "<template>t</template>",
        '<time class="dt-published" datetime="2026-12-01T10:00:00Z">d</time>',
        '<span class="p-author h-card"><a class="u-url p-name" href="/me">Me</a></span>',
        '<a rel="tag" href="/tag/x">x</a>',
        '<a href="javascript:void(0)">js</a>',
        '<a href="mailto:a@b.example">m</a>',
        "<pre>  pre  </pre>",
        "<script>s</script>",
    ]
)
_PROPERTY_CLASSES = st.sampled_from(
    [
        "e-content",
        "e-content p-name",
        "e-summary",
        "entry-content",
        "entry-summary",
        "p-name",
        "h-entry",
        "hentry",
        "h-cite e-content",
        "h-card",
        "vcard",
        "u-url",
        "",
    ]
)
_MF_ELEMENT = st.builds(
    lambda name, classes, inner: f'<{name} class="{classes}">{inner}</{name}>',
    st.sampled_from(["div", "article", "section", "span", "a"]),
    _PROPERTY_CLASSES,
    st.lists(_CONTENT, max_size=3).map("".join),
)
MF_PAGES = st.recursive(
    _MF_ELEMENT | _CONTENT,
    lambda inner: st.builds(
        lambda outer, parts: outer.replace("</", "".join(parts) + "</", 1),
        _MF_ELEMENT,
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=12,
).map(lambda body: f"<html><head><base href='/blog/'></head><body>{body}</body></html>")


@settings(max_examples=300)
@given(MF_PAGES, st.sampled_from(["https://source.example/post/1", "http://s.example/a/b?c"]))
@example(
    '<div class="h-entry"><div class="e-content"><template><img src="/t.png"></template>'
    '<a class="u-in-reply-to" href="/r">r</a></div></div>',
    "https://source.example/post/1",
)
@example(
    '<div class="hentry"><div class="entry-content"><div class="e-content">'
    '<a href="x">x</a><template>t</template></div></div></div>',
    "https://source.example/post/1",
)
def test_the_tree_changed_in_place_reads_as_the_tree_copied(page: str, url: str) -> None:
    copied = mf2py.parse(doc=parse_html(page), url=url)
    changed = mf2._Parser(doc=parse_html(page), url=url, expose_dom=True).to_dict()

    assert _without_markup(changed["items"]) == _without_markup(copied["items"])


def test_the_tree_for_microformats_stops_at_its_element_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 256 KB of short tags are 85,000 elements: 2-3 s of tree and mf2py per ping.
    monkeypatch.setattr(mf2.limits, "MICROFORMATS_ELEMENTS", 50)
    entry = '<div class="h-entry"><span class="p-name">{}</span></div>'
    early = entry.format("Early") + "<b>" * 200
    late = "<b>" * 200 + entry.format("Late")

    assert read_entry(early, TARGET, TARGET).name == "Early"
    assert read_entry(late, TARGET, TARGET) == Entry()


def test_a_tree_with_an_element_budget_ends_before_the_element_past_it() -> None:
    soup = parse_html("<p>a<b>b</b><i>c</i><u>d</u>e", max_elements=3)

    assert soup is not None
    assert [tag.name for tag in soup.find_all(True)] == ["p", "b", "i"]
    assert soup.get_text() == "abc"
