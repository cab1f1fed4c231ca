"""TrackBack 1.2 receiving."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote_plus

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client, override_settings

from backlinks_django.models import Backlink, Kind, SiteSettings, Status
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE
from tests.testapp.models import Article, Unregistered

pytestmark = pytest.mark.django_db


def tb_url(obj: object) -> str:
    ct = ContentType.objects.get_for_model(obj)
    return f"/backlinks/trackback/{ct.pk}/{obj.pk}/"  # type: ignore[attr-defined]


def encode(fields: dict[str, str], charset: str = "utf-8") -> bytes:
    return "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in fields.items()).encode(
        "ascii"
    )


def post(
    client: Client,
    url: str,
    body: bytes,
    content_type: str = "application/x-www-form-urlencoded; charset=utf-8",
):
    return client.generic("POST", url, body, content_type=content_type)


def parse(response) -> tuple[str, str | None]:
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "response"
    message = root.find("message")
    return root.findtext("error") or "", message.text if message is not None else None


def test_trackback_with_link_is_stored_pending(client, article, article_url, serve_source):
    source = serve_source(page_linking_to(article_url))
    body = encode(
        {"url": source, "title": "Their post", "excerpt": "They wrote", "blog_name": "Peer Blog"}
    )

    response = post(client, tb_url(article), body)

    assert response.status_code == 200
    assert parse(response) == ("0", None)
    backlink = Backlink.objects.get()
    assert backlink.kind == Kind.TRACKBACK
    assert backlink.status == Status.PENDING
    assert (backlink.title, backlink.excerpt, backlink.blog_name) == (
        "Their post",
        "They wrote",
        "Peer Blog",
    )
    assert backlink.target == article
    assert backlink.target_url == article_url


def test_missing_title_and_excerpt_come_from_the_source(
    client, article, article_url, serve_source
):
    source = serve_source(page_linking_to(article_url, title="Page title"))

    post(client, tb_url(article), encode({"url": source}))

    backlink = Backlink.objects.get()
    assert backlink.title == "Page title"
    assert "the target" in backlink.excerpt


def test_get_is_an_error_response_not_a_page(client, article):
    response = client.get(tb_url(article))

    assert response.status_code == 405
    assert parse(response)[0] == "1"


def test_missing_url_is_error(client, article):
    response = post(client, tb_url(article), encode({"title": "x"}))

    assert response.status_code == 400
    assert parse(response) == ("1", "The url field is required.")


def test_source_without_link_is_error(client, article, serve_source):
    source = serve_source("<html><body><p>No links here</p></body></html>")

    response = post(client, tb_url(article), encode({"url": source, "title": "Spam"}))

    assert parse(response)[0] == "1"
    assert not Backlink.objects.exists()


@override_settings(BACKLINKS={**BASE, "VERIFY_TRACKBACKS": False})
def test_verification_can_be_switched_off(client, article, unused_port, site):
    SiteSettings.objects.create(site=site, moderation="auto")
    body = encode({"url": f"http://127.0.0.1:{unused_port}/never-fetched", "title": "t"})

    response = post(client, tb_url(article), body)

    assert parse(response) == ("0", None)
    # Unverified trackbacks are never auto-approved.
    assert Backlink.objects.get().status == Status.PENDING


def test_closed_pings_are_an_error(client, article, serve_source, article_url):
    article.pings_open = False
    article.save()
    source = serve_source(page_linking_to(article_url))

    response = post(client, tb_url(article), encode({"url": source}))

    assert response.status_code == 403
    assert parse(response)[0] == "1"


def test_site_switch_off_is_an_error(client, article, serve_source, article_url, site):
    SiteSettings.objects.create(site=site, receive_trackbacks=False)
    source = serve_source(page_linking_to(article_url))

    response = post(client, tb_url(article), encode({"url": source}))

    assert response.status_code == 403
    assert "TrackBack" in parse(response)[1]


def test_duplicate_is_an_error(client, article, serve_source, article_url):
    source = serve_source(page_linking_to(article_url))
    post(client, tb_url(article), encode({"url": source}))

    response = post(client, tb_url(article), encode({"url": source}))

    assert response.status_code == 409
    assert parse(response) == (
        "1",
        "A backlink from this source to this target is already registered.",
    )
    assert Backlink.objects.count() == 1


def test_unregistered_or_missing_objects_are_404(client, site):
    other = Unregistered.objects.create(name="x")

    assert post(client, tb_url(other), encode({"url": "http://a.example/"})).status_code == 404
    assert (
        post(
            client, "/backlinks/trackback/99999/1/", encode({"url": "http://a.example/"})
        ).status_code
        == 404
    )
    ct = ContentType.objects.get_for_model(Article)
    assert (
        post(
            client, f"/backlinks/trackback/{ct.pk}/abc/", encode({"url": "http://a.example/"})
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("charset", "title"),
    [
        ("iso-8859-1", "Café crème"),
        ("shift_jis", "日本語のタイトル"),
        ("utf-8", "Ünïcødé ✓"),
        ("windows-1252", "“quoted” – dash"),
    ],
)
def test_charset_from_content_type_is_honoured(
    client, article, serve_source, article_url, charset, title
):
    source = serve_source(page_linking_to(article_url))
    body = encode({"url": source, "title": title, "blog_name": title}, charset)

    response = post(
        client, tb_url(article), body, f"application/x-www-form-urlencoded; charset={charset}"
    )

    assert parse(response) == ("0", None)
    backlink = Backlink.objects.get()
    assert backlink.title == title
    assert backlink.blog_name == title


def test_no_charset_means_utf8(client, article, serve_source, article_url):
    # WordPress sends UTF-8 without a charset parameter.
    source = serve_source(page_linking_to(article_url))
    body = f"title=Linking+post&url={quote_plus(source)}&blog_name=Peer+Blog&excerpt=See+one+and+two.+Caf%C3%A9.".encode()

    post(client, tb_url(article), body, "application/x-www-form-urlencoded")

    assert Backlink.objects.get().excerpt == "See one and two. Café."


def test_wordpress_entities_are_decoded_to_plain_text(client, article, serve_source, article_url):
    source = serve_source(page_linking_to(article_url))
    body = encode({"url": source, "title": "It&#8217;s <b>bold</b> &#038; more"})

    post(client, tb_url(article), body)

    assert Backlink.objects.get().title == "It’s bold & more"


def test_undecodable_bytes_are_an_error(client, article, serve_source, article_url):
    source = serve_source(page_linking_to(article_url))
    body = encode({"url": source}) + b"&title=%FF%FE%FA"

    response = post(client, tb_url(article), body)

    assert response.status_code == 400
    assert "utf-8" in parse(response)[1]
    assert not Backlink.objects.exists()


def test_unknown_charset_is_an_error(client, article):
    response = post(
        client,
        tb_url(article),
        encode({"url": "http://a.example/"}),
        "application/x-www-form-urlencoded; charset=klingon",
    )

    assert response.status_code == 400
    assert "charset" in parse(response)[1]


def test_curl_style_post_against_live_server(live_server, httpserver):
    import requests
    from django.contrib.sites.models import Site
    from django.utils import timezone

    Site.objects.filter(pk=1).update(domain=live_server.url.removeprefix("http://"))
    article = Article.objects.create(title="Live", slug="live", published_at=timezone.now())
    target = f"{live_server.url}{article.get_absolute_url()}"
    httpserver.expect_request("/post").respond_with_data(
        page_linking_to(target), content_type="text/html"
    )

    response = requests.post(
        f"{live_server.url}{tb_url(article)}",
        data={"url": httpserver.url_for("/post"), "title": "Hello", "blog_name": "Peer"},
        timeout=10,
    )

    assert response.status_code == 200
    assert b"<error>0</error>" in response.content
    assert Backlink.objects.get().title == "Hello"
