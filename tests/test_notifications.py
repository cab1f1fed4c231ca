"""E-mail to the managers about backlinks held for moderation."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import override_settings

from backlinks_django.models import Kind
from backlinks_django.pipeline import Ping, receive
from tests.conftest import page_linking_to
from tests.settings import BACKLINKS as BASE

pytestmark = pytest.mark.django_db


def test_managers_are_emailed_about_pending_backlinks(
    serve_source, article_url, site, django_capture_on_commit_callbacks
):
    source = serve_source(page_linking_to(article_url, title="Peer post"))

    with override_settings(
        BACKLINKS={**BASE, "ALLOWED_NETWORKS": ["127.0.0.0/8"], "NOTIFY_MANAGERS": True}
    ):
        with django_capture_on_commit_callbacks(execute=True):
            receive(Ping(Kind.PINGBACK, source, article_url), site=site)

    assert len(mail.outbox) == 1
    assert "Peer post" in mail.outbox[0].subject
    assert source in mail.outbox[0].body


def test_no_email_by_default(serve_source, article_url, site, django_capture_on_commit_callbacks):
    source = serve_source(page_linking_to(article_url))

    with django_capture_on_commit_callbacks(execute=True):
        receive(Ping(Kind.PINGBACK, source, article_url), site=site)

    assert mail.outbox == []
