"""Display: template tags on a registered object's page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from backlinks_django.models import SiteSettings, Status

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> str:
    request = RequestFactory().get("/")
    return Template("{% load backlinks %}" + source).render(
        Context({"request": request, **context})
    )


def test_page_shows_only_approved_backlinks(client, make_backlink, article):
    make_backlink(Status.APPROVED, title="Approved one")
    make_backlink(Status.PENDING, title="Pending one")
    make_backlink(Status.SPAM, title="Spam one")

    page = client.get(article.get_absolute_url()).content.decode()

    assert "Approved one" in page
    assert "Pending one" not in page
    assert "Spam one" not in page
    assert '<p class="count">1 backlinks</p>' in page


def test_get_backlinks_is_one_query_whatever_the_number(
    make_backlink, article, django_assert_num_queries
):
    for _ in range(25):
        make_backlink(Status.APPROVED)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.get_for_model(article)  # warm the content type cache as a page would

    with django_assert_num_queries(1):
        out = render(
            "{% get_backlinks obj as bl %}{% for b in bl %}{{ b.title }}|{% endfor %}", obj=article
        )

    assert out.count("|") == 25


def test_backlink_count(make_backlink, article):
    make_backlink(Status.APPROVED)
    make_backlink(Status.APPROVED)
    make_backlink(Status.PENDING)

    assert render("{% backlink_count obj %}", obj=article) == "2"


def test_pingback_link_is_absolute():
    assert (
        render("{% pingback_link %}")
        == '<link rel="pingback" href="http://testserver/backlinks/xmlrpc/">'
    )


def test_trackback_rdf_names_permalink_and_ping_url(article):
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(article)
    out = render("{% trackback_rdf obj %}", obj=article)

    assert out.startswith("<!--") and out.endswith("-->")
    assert 'dc:identifier="http://testserver/articles/target/"' in out
    assert f'trackback:ping="http://testserver/backlinks/trackback/{ct.pk}/{article.pk}/"' in out
    assert 'dc:title="Target article"' in out


def test_trackback_rdf_escapes_the_title(article):
    article.title = 'Evil --> <script>x</script> "q"'
    article.save()

    out = render("{% trackback_rdf obj %}", obj=article)

    assert "<script>" not in out
    assert out.count("-->") == 1


def test_remote_text_is_escaped_on_the_page(client, make_backlink, article):
    make_backlink(Status.APPROVED, title="<script>alert(1)</script>", blog_name="<b>Blog</b>")

    page = client.get(article.get_absolute_url()).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Blog</b>" not in page


def test_x_pingback_header_on_registered_pages_only(client, article, site):
    from tests.testapp.models import Unregistered

    other = Unregistered.objects.create(name="x")

    assert (
        client.get(article.get_absolute_url())["X-Pingback"]
        == "http://testserver/backlinks/xmlrpc/"
    )
    assert "X-Pingback" not in client.get(other.get_absolute_url())
    assert "X-Pingback" not in client.get("/articles/missing/")
    assert "X-Pingback" not in client.get("/articles/")


@pytest.mark.parametrize(
    ("switch", "absent", "present"),
    [
        ("receive_pingbacks", "X-Pingback", "Link"),
        ("receive_webmentions", "Link", "X-Pingback"),
    ],
)
def test_a_protocol_the_site_refuses_is_not_advertised_in_headers(
    client, article, site, switch, absent, present
):
    # A sender stops at the first endpoint it finds: advertising a refused one would keep it
    # from the protocol the site does accept.
    SiteSettings.objects.create(site=site, **{switch: False})

    response = client.get(article.get_absolute_url())

    assert absent not in response
    assert present in response


@pytest.mark.parametrize(
    ("switch", "tag"),
    [
        ("receive_pingbacks", "{% pingback_link %}"),
        ("receive_webmentions", "{% webmention_link %}"),
        ("receive_trackbacks", "{% trackback_rdf article %}"),
    ],
)
def test_a_protocol_the_site_refuses_is_not_advertised_by_its_tag(rf, article, site, switch, tag):
    template = Template("{% load backlinks %}" + tag)
    context = Context({"request": rf.get("/"), "article": article})
    assert template.render(context).strip()

    SiteSettings.objects.create(site=site, **{switch: False})

    assert template.render(context).strip() == ""


# Loads the tag library in a fresh interpreter whose apps are ready, and prints what it imported.
IMPORTS_OF_THE_TAGS = """
import json, sys
import django
from django.conf import settings

apps = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sites",
        "backlinks_django"]
if django.VERSION < (6,):
    apps.append("django_tasks")
settings.configure(INSTALLED_APPS=apps, SITE_ID=1, USE_TZ=True,
                   DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})
django.setup()
before = set(sys.modules)
import backlinks_django.templatetags.backlinks
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_loading_the_tags_imports_no_views_tasks_sending_pipeline_or_http_client():
    run = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF_THE_TAGS],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = set(json.loads(run.stdout))

    assert "backlinks_django.templatetags.backlinks" in imported
    unwanted = {"views", "tasks", "send", "pipeline", "inbound", "fetch", "xmlrpc", "protocols"}
    assert imported.isdisjoint(f"backlinks_django.{name}" for name in unwanted)
    assert imported.isdisjoint({"requests", "urllib3", "mf2py", "defusedxml"})
