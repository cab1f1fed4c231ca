"""Which links of a saved object are worth a ping (``send.links_to_ping``).

WordPress's rule when it sends (``pingback()`` in wp-includes/comment.php): a link with a
query, or with a path other than ``/`` and empty. A WordPress post at its default permalink
is ``/?p=N``: the front page's path with a query.
"""

from __future__ import annotations

import pytest

from backlinks_django.send import Source, links_to_ping

SOURCE_URL = "https://our.example/entries/hello/"


def source_linking(*urls: str) -> Source:
    anchors = "".join(f'<a href="{url}">a link</a> ' for url in urls)
    return Source(
        url=SOURCE_URL,
        title="Hello",
        excerpt="",
        blog_name="Our blog",
        html=f"<p>{anchors}</p>",
        user_agent="test",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://blog.example/?p=26",
        "http://blog.example?p=26",
        "http://blog.example/?page_id=2&preview=true",
        "http://blog.example/index.php?p=26",
    ],
)
def test_link_with_a_query_is_pinged_whatever_its_path(url: str) -> None:
    assert links_to_ping(source_linking(url)) == [url]


@pytest.mark.parametrize(
    "url",
    ["http://blog.example/", "http://blog.example", "http://blog.example/#comments"],
)
def test_front_page_without_a_query_is_skipped(url: str) -> None:
    assert links_to_ping(source_linking(url)) == []


def test_link_with_a_path_is_pinged() -> None:
    url = "http://blog.example/2024/05/a-post/"
    assert links_to_ping(source_linking(url)) == [url]


def test_link_to_the_source_itself_is_skipped_even_with_a_query() -> None:
    assert links_to_ping(source_linking(SOURCE_URL, f"{SOURCE_URL}?p=1")) == [f"{SOURCE_URL}?p=1"]


def test_links_keep_document_order() -> None:
    urls = ["http://b.example/?p=2", "http://a.example/", "http://a.example/post/"]
    assert links_to_ping(source_linking(*urls)) == [urls[0], urls[2]]
