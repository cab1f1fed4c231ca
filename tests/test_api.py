"""The JSON read API: an object's approved backlinks as a JF2 feed, cacheable, public fields only."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from backlinks_django.models import Kind, Status

pytestmark = pytest.mark.django_db

TARGET = "http://testserver/articles/target/"
FORMAT_CHECKER = FormatChecker()


def json_path(obj) -> str:
    return f"/backlinks/json/{ContentType.objects.get_for_model(obj).pk}/{obj.pk}/"


def test_the_api_is_a_jf2_feed_of_entries_oldest_first(client, make_backlink, article):
    make_backlink(Status.APPROVED, title="First")
    make_backlink(Status.APPROVED, title="Second")

    response = client.get(json_path(article))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    feed = response.json()
    assert {k: feed[k] for k in ("type", "name", "url")} == {
        "type": "feed",
        "name": "Target article",
        "url": TARGET,
    }
    assert [entry["name"] for entry in feed["children"]] == ["First", "Second"]


def test_a_reply_entry_has_the_jf2_shape(client, make_backlink, article):
    published = article.published_at
    backlink = make_backlink(
        Status.APPROVED,
        kind=Kind.WEBMENTION,
        mention_type="reply",
        source_url="https://brid.gy/comment/x/1",
        original_url="https://social.example/@ana/1",
        author_name="Ana",
        author_url="https://ana.example/",
        author_photo="https://ana.example/me.jpg",
        avatar="backlinks/avatars/1-abc.webp",
        title="Re: target",
        excerpt="Well <said>.",
        published=published,
    )

    (entry,) = client.get(json_path(article)).json()["children"]

    assert entry == {
        "type": "entry",
        "author": {
            "type": "card",
            "name": "Ana",
            "url": "https://ana.example/",
            # The stored copy: a reader's browser never asks the author's server.
            "photo": "http://testserver/media/backlinks/avatars/1-abc.webp",
        },
        "url": "https://social.example/@ana/1",
        "name": "Re: target",
        "content": {"text": "Well <said>."},
        "published": published.isoformat(),
        "in-reply-to": TARGET,
        "wm-id": backlink.pk,
        "wm-property": "in-reply-to",
        "wm-source": "https://brid.gy/comment/x/1",
        "wm-target": TARGET,
        "wm-received": backlink.received_at.isoformat(),
        "wm-protocol": "webmention",
    }


@pytest.mark.parametrize(
    ("mention_type", "prop"),
    [
        ("like", "like-of"),
        ("repost", "repost-of"),
        ("bookmark", "bookmark-of"),
        ("mention", "mention-of"),
    ],
)
def test_the_mention_type_is_the_wm_property(client, make_backlink, article, mention_type, prop):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type=mention_type)

    (entry,) = client.get(json_path(article)).json()["children"]

    assert entry["wm-property"] == prop
    assert entry[prop] == TARGET


def test_a_bare_pingback_leaves_unknown_properties_out(client, make_backlink, article):
    make_backlink(Status.APPROVED, title="", excerpt="", source_url="http://www.peer.example/p")

    (entry,) = client.get(json_path(article)).json()["children"]

    assert entry["author"] == {"type": "card", "name": "peer.example"}
    assert {"name", "content", "published"}.isdisjoint(entry)
    assert entry["wm-protocol"] == "pingback"


def test_only_approved_backlinks_and_no_private_fields(client, make_backlink, article):
    make_backlink(
        Status.APPROVED,
        title="Shown",
        remote_ip="203.0.113.77",
        user_agent="SecretAgent/1.0",
        reason="a reason",
    )
    for status in (Status.PENDING, Status.SPAM, Status.REJECTED, Status.REMOVED):
        make_backlink(status, title=f"Hidden {status}")

    response = client.get(json_path(article))

    assert [e["name"] for e in response.json()["children"]] == ["Shown"]
    body = response.content.decode()
    for private in ("203.0.113.77", "SecretAgent", "a reason", "Hidden"):
        assert private not in body


def test_the_response_is_cacheable_and_readable_from_any_origin(client, make_backlink, article):
    make_backlink(Status.APPROVED)

    response = client.get(json_path(article))

    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_matching_etag_gets_304_until_the_backlinks_change(client, make_backlink, article):
    backlink = make_backlink(Status.APPROVED)
    etag = client.get(json_path(article))["ETag"]

    unchanged = client.get(json_path(article), headers={"if-none-match": etag})
    backlink.status = Status.SPAM
    backlink.save()
    changed = client.get(json_path(article), headers={"if-none-match": etag})

    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == etag
    assert changed.status_code == 200
    assert changed.json()["children"] == []


def test_head_answers_like_get_without_a_body(client, make_backlink, article):
    make_backlink(Status.APPROVED)

    get, head = client.get(json_path(article)), client.head(json_path(article))

    assert head.status_code == 200 and head.content == b""
    assert head["ETag"] == get["ETag"]


def test_writes_are_refused(client, article):
    assert client.post(json_path(article)).status_code == 405


def test_a_draft_or_unknown_object_is_404(client, article):
    ct = ContentType.objects.get_for_model(article).pk
    assert client.get(f"/backlinks/json/{ct}/999999/").status_code == 404
    assert client.get(f"/backlinks/json/{ct}/x%00/").status_code == 404

    article.published_at = None
    article.save()

    assert client.get(json_path(article)).status_code == 404


def test_one_query_for_the_backlinks_whatever_their_number(client, make_backlink, article):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(json_path(article)).status_code == 200
        return len(captured)

    make_backlink(Status.APPROVED)
    queries()  # the content type cache fills on a first request
    few = queries()
    for _ in range(30):
        make_backlink(Status.APPROVED)

    assert queries() == few == 2  # the object, then its backlinks


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(object_pk=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40))
def test_any_object_key_is_answered_without_a_server_error(client, article, object_pk):
    ct = ContentType.objects.get_for_model(article).pk
    quoted = quote(object_pk, safe="")

    for prefix in ("json", "feed"):
        response = client.get(f"/backlinks/{prefix}/{ct}/{quoted}/")
        assert response.status_code in (200, 404), (prefix, object_pk)


def test_a_photo_not_stored_is_left_out_not_hot_linked(client, make_backlink, article):
    make_backlink(Status.APPROVED, author_name="Bo", author_photo="https://bo.example/me.jpg")

    (entry,) = client.get(json_path(article)).json()["children"]

    assert entry["author"] == {"type": "card", "name": "Bo"}


JF2_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "jf2-feed.json").read_text())


def test_every_kind_of_backlink_fits_the_jf2_feed_schema(client, make_backlink, article):
    for mention_type in ("reply", "like", "repost", "bookmark", "mention"):
        make_backlink(
            Status.APPROVED,
            kind=Kind.WEBMENTION,
            mention_type=mention_type,
            author_name="Ana",
            author_url="https://ana.example/",
            avatar="backlinks/avatars/1-abc.webp",
            published=article.published_at,
        )
    make_backlink(Status.APPROVED, kind=Kind.PINGBACK, title="", excerpt="")
    make_backlink(Status.APPROVED, kind=Kind.TRACKBACK, blog_name="A blog")

    feed = client.get(json_path(article)).json()

    Draft202012Validator(JF2_SCHEMA, format_checker=FORMAT_CHECKER).validate(feed)
    assert len(feed["children"]) == 7


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda f: f.pop("type"), id="no-type"),
        pytest.param(lambda f: f["children"][0].pop("author"), id="no-author"),
        pytest.param(lambda f: f["children"][0].pop("in-reply-to"), id="no-target-property"),
        pytest.param(lambda f: f["children"][0].update({"remote_ip": "1.2.3.4"}), id="private"),
        pytest.param(lambda f: f["children"][0]["author"].update({"photo": ""}), id="empty-photo"),
    ],
)
def test_the_schema_refuses_a_broken_feed(client, make_backlink, article, broken):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="reply", author_name="A")
    feed = client.get(json_path(article)).json()
    broken(feed)

    with pytest.raises(ValidationError):
        Draft202012Validator(JF2_SCHEMA, format_checker=FORMAT_CHECKER).validate(feed)
