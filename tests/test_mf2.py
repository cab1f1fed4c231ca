"""Microformats of source pages: what a response is, who wrote it, where the original lives."""

from __future__ import annotations

import pytest

from backlinks_django.choices import MentionType
from backlinks_django.mf2 import read_entry

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
