"""A peer Django site whose Webmention receiver is the ``django-webmention`` app (PyPI).

Settings and URLs in one module (``DJANGO_SETTINGS_MODULE`` and ``ROOT_URLCONF`` both name
it), run with ``manage.py runserver``; its SQLite file is ``WM_PEER_DB``. The receiver is the
app's own view at ``/webmention/receive``: it checks that the target resolves here, fetches the
source, requires the target URL in it and stores a ``WebMentionResponse`` row. Its posts
advertise that endpoint each in one of the ways the W3C rules let a sender discover it:

- ``/posts/link-header``: the app's own ``include_webmention_information`` decorator (an
  absolute ``Link`` header);
- ``/posts/link-element``: ``<link rel="webmention">`` in the head, relative to the host;
- ``/posts/a-element``: ``<a rel="webmention">`` in the body, relative to the page (``../``).
"""

from __future__ import annotations

import os
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from webmention.middleware import include_webmention_information

SECRET_KEY = "interop-peer-not-secret"  # a throwaway test server
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = __name__
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "webmention",
]
MIDDLEWARE: list[str] = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("WM_PEER_DB", "webmention-peer.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# Where each post advertises the endpoint; "header" is left to the app's decorator.
ADVERTISED = {
    "link-header": "",
    "link-element": '<link rel="webmention" href="/webmention/receive">',
    "a-element": "",
}
BODY_LINKS = {
    "a-element": '<p>Mentions go to <a rel="webmention" href="../webmention/receive">'
    "our endpoint</a>.</p>",
}


def _page(slug: str) -> HttpResponse:
    head = ADVERTISED[slug]
    body = BODY_LINKS.get(slug, "")
    return HttpResponse(
        f"<!DOCTYPE html><html><head><title>Peer post {slug}</title>{head}</head>"
        f"<body><h1>Peer post {slug}</h1>{body}</body></html>"
    )


def home(request: HttpRequest) -> HttpResponse:
    """The peer's front page (what the test harness polls until the server answers)."""
    return HttpResponse("<!DOCTYPE html><title>django-webmention peer</title>")


@include_webmention_information
def post_with_link_header(request: HttpRequest) -> HttpResponse:
    """A post whose endpoint is in the ``Link`` header the app's decorator adds."""
    return _page("link-header")


def post(request: HttpRequest, slug: str) -> HttpResponse:
    """A post advertising the endpoint in its HTML."""
    if slug not in ADVERTISED:
        return HttpResponse(status=404)
    return _page(slug)


def __getattr__(name: str) -> Any:
    # The URLs are made on first use (PEP 562): this module is read as the settings first,
    # before the apps are loaded, and the app's urls.py imports its models.
    if name == "urlpatterns":
        return [
            path("", home),
            path("webmention/", include("webmention.urls")),
            path("posts/link-header", post_with_link_header),
            path("posts/<slug:slug>", post),
        ]
    raise AttributeError(name)
