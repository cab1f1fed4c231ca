"""Staging and imports: only production sends; muted() and --no-pings record links unsent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

import backlinks_django
from backlinks_django import environment, send
from backlinks_django.checks import check_environment
from backlinks_django.choices import Outcome
from backlinks_django.management.commands.send_backlinks import NO_PINGS
from backlinks_django.models import OutboundPing
from backlinks_django.receivers import MUTED
from tests.helpers import (
    LOOPBACK,
    Peer,
    claimed_elsewhere,
    dummy_tasks,
    entry,
    links,
    outbound_row,
    outcomes,
    sent_webmention,
)
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db

STAGING = {**LOOPBACK, "ENVIRONMENT": "staging"}
UNSET = {key: value for key, value in LOOPBACK.items() if key != "ENVIRONMENT"}


def publish(body: str, slug: str = "post", **fields) -> Article:
    """An article saved now (its pings queued on commit), published unless told otherwise."""
    values = {"title": slug.title(), "published_at": timezone.now(), **fields}
    return Article.objects.create(slug=slug, body=body, **values)


def check_output() -> str:
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    return out.getvalue()


# --- the environment ------------------------------------------------------------------------


@override_settings(BACKLINKS=STAGING)
def test_a_staging_site_sends_nothing_and_says_so_at_start_up(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)

    with django_capture_on_commit_callbacks(execute=True):
        publish(links(peer.page("/post")))

    assert peer.calls == []
    assert not OutboundPing.objects.exists()
    output = check_output()
    assert "backlinks_django.I001" in output
    assert "'staging' mode (from BACKLINKS['ENVIRONMENT'])" in output


@override_settings(BACKLINKS=STAGING)
def test_a_staging_site_queues_no_task_on_save_or_delete(site):
    article = entry("post", links("http://peer.example/post"))
    sent_webmention(article)

    with dummy_tasks() as queued, transaction.atomic():
        article.body += " edited"
        article.save()
        article.delete()

    assert queued == []


@override_settings(BACKLINKS=STAGING)
def test_a_staging_site_leaves_waiting_pings_unsent(httpserver, site):
    peer = Peer(httpserver)
    article = entry("post", links(peer.page("/post")))
    outbound_row(article, peer.page("/post"))  # queued while the database was production's

    assert send.send_object(article).rows == []
    assert send.notify_deleted(0, str(article.pk), "http://testserver/gone") == []

    assert peer.calls == []
    assert outcomes(article) == {peer.page("/post"): Outcome.PENDING}


@override_settings(BACKLINKS=STAGING)
def test_a_staging_site_refuses_to_send_from_the_command(site):
    entry("post", links("http://peer.example/post"))

    with pytest.raises(CommandError, match="'staging' mode"):
        call_command("send_backlinks", "--all", stdout=StringIO())


@override_settings(BACKLINKS=UNSET)
def test_the_environment_variable_names_the_environment(monkeypatch):
    monkeypatch.setenv("BACKLINKS_ENVIRONMENT", " Staging ")

    env = environment.current()

    assert (env.name, env.sends, env.guessed) == ("staging", False, False)
    assert "BACKLINKS_ENVIRONMENT" in env.source


@override_settings(BACKLINKS=LOOPBACK)
def test_the_setting_wins_over_the_environment_variable(monkeypatch):
    monkeypatch.setenv("BACKLINKS_ENVIRONMENT", "staging")

    assert environment.current().name == "production"


@override_settings(BACKLINKS=UNSET, DEBUG=True)
def test_with_debug_on_and_nothing_said_the_site_is_in_development(monkeypatch):
    monkeypatch.delenv("BACKLINKS_ENVIRONMENT", raising=False)

    (message,) = check_environment()

    assert environment.current().name == "development"
    assert message.id == "backlinks_django.I001"
    assert "'development' mode (from DEBUG = True)" in message.msg


@override_settings(BACKLINKS=UNSET, DEBUG=False)
def test_with_debug_off_and_nothing_said_production_is_assumed_and_the_check_asks_to_say_so(
    monkeypatch,
):
    monkeypatch.delenv("BACKLINKS_ENVIRONMENT", raising=False)

    (message,) = check_environment()

    assert environment.current().sends
    assert message.id == "backlinks_django.I002"
    assert "staging" in message.hint


@override_settings(BACKLINKS=LOOPBACK)
def test_a_site_that_says_it_is_production_gets_no_start_up_note():
    assert check_environment() == []


@override_settings(BACKLINKS={**LOOPBACK, "ENVIRONMENT": "prod"})
def test_an_unknown_environment_is_error_e008_and_sends_nothing(httpserver, site):
    peer = Peer(httpserver)
    article = entry("post", links(peer.page("/post")))

    (message,) = check_environment()

    assert message.id == "backlinks_django.E008"
    assert "'prod'" in message.msg
    assert send.send_object(article).rows == []
    assert peer.calls == []


# --- muted() ----------------------------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_a_save_inside_muted_records_its_links_unsent(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)
    target = peer.page("/post")

    with django_capture_on_commit_callbacks(execute=True), backlinks_django.muted():
        publish(links(target))

    assert peer.calls == []
    row = OutboundPing.objects.get()
    assert (row.target_url, row.outcome, row.message, row.attempts) == (
        target,
        Outcome.SKIPPED,
        MUTED,
        0,
    )


@override_settings(BACKLINKS=LOOPBACK)
def test_a_later_save_pings_only_links_added_after_the_import(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)
    old, new = peer.page("/old"), peer.page("/new")
    with django_capture_on_commit_callbacks(execute=True), backlinks_django.muted():
        article = publish(links(old))

    with django_capture_on_commit_callbacks(execute=True):
        article.body = links(old, new)
        article.save()

    assert peer.calls == [("http://testserver/articles/post/", new)]
    assert outcomes(article) == {old: Outcome.SKIPPED, new: Outcome.SUCCESS}


@override_settings(BACKLINKS=LOOPBACK)
def test_muting_is_read_at_the_save_not_at_the_commit(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with backlinks_django.muted():
            article = publish(links(peer.page("/post")))
        # The block has ended; the transaction commits after it.

    assert peer.calls == []
    assert outcomes(article) == {peer.page("/post"): Outcome.SKIPPED}


@override_settings(BACKLINKS=LOOPBACK)
def test_a_draft_saved_muted_records_nothing_and_pings_when_published(
    httpserver, site, django_capture_on_commit_callbacks
):
    peer = Peer(httpserver)
    with django_capture_on_commit_callbacks(execute=True), backlinks_django.muted():
        draft = publish(links(peer.page("/post")), published_at=None)

    assert not OutboundPing.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        draft.published_at = timezone.now()
        draft.save()

    assert peer.calls == [("http://testserver/articles/post/", peer.page("/post"))]


@override_settings(BACKLINKS=LOOPBACK)
def test_a_deletion_inside_muted_queues_no_notice(site):
    article = entry("post", links("http://peer.example/post"))
    sent_webmention(article)

    with dummy_tasks() as queued, backlinks_django.muted(), transaction.atomic():
        article.delete()

    assert queued == []


def test_muting_holds_in_its_thread_and_the_asyncio_tasks_it_starts_only():
    seen: dict[str, bool] = {}

    async def in_a_task() -> bool:
        return environment.is_muted()

    with backlinks_django.muted():
        thread = threading.Thread(target=lambda: seen.update(thread=environment.is_muted()))
        thread.start()
        thread.join()
        seen["task"] = asyncio.run(in_a_task())
        seen["here"] = environment.is_muted()

    assert seen == {"thread": False, "task": True, "here": True}
    assert not environment.is_muted()


def test_muted_is_also_a_decorator():
    @backlinks_django.muted()
    def imported() -> bool:
        return environment.is_muted()

    assert imported()
    assert not environment.is_muted()


def test_importing_the_package_loads_neither_settings_nor_models():
    code = (
        "import sys, backlinks_django\n"
        "loaded = [m for m in sys.modules if m.startswith('backlinks_django.')]\n"
        "assert loaded == [], loaded\n"
        "assert 'muted' in backlinks_django.__all__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- send_backlinks --no-pings ----------------------------------------------------------------


@override_settings(BACKLINKS=LOOPBACK)
def test_no_pings_records_new_links_and_waiting_pings_unsent(httpserver, site):
    peer = Peer(httpserver)
    linked, waiting = peer.page("/linked"), peer.page("/waiting")
    article = entry("post", links(linked, waiting))
    outbound_row(article, waiting, outcome=Outcome.TIMEOUT, next_attempt_at=timezone.now())
    out = StringIO()

    call_command(
        "send_backlinks", "--object", f"testapp.Article:{article.pk}", "--no-pings", stdout=out
    )

    assert "2 recorded unsent" in out.getvalue()
    assert outcomes(article) == {linked: Outcome.SKIPPED, waiting: Outcome.SKIPPED}
    assert set(OutboundPing.objects.values_list("message", flat=True)) == {NO_PINGS}
    assert send.send_object(article).rows == []
    assert peer.calls == []


@override_settings(BACKLINKS=LOOPBACK)
def test_no_pings_leaves_a_ping_another_task_is_sending(site):
    article = entry("post", links("http://peer.example/post"))
    outbound_row(article, "http://peer.example/post")
    claimed_elsewhere()

    assert send.record_unsent(article, NO_PINGS, waiting_too=True) == 0
    assert outcomes(article) == {"http://peer.example/post": Outcome.PENDING}


@override_settings(BACKLINKS=STAGING)
def test_no_pings_and_dry_run_work_outside_production(site):
    article = entry("post", links("http://peer.example/post"))
    out = StringIO()

    call_command("send_backlinks", "--all", "--dry-run", "--no-pings", stdout=out)
    assert "would record unsent http://peer.example/post" in out.getvalue()
    assert not OutboundPing.objects.exists()

    call_command("send_backlinks", "--all", "--no-pings", stdout=out)
    assert outcomes(article) == {"http://peer.example/post": Outcome.SKIPPED}


def test_no_pings_and_force_cannot_go_together(site):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("send_backlinks", "--all", "--force", "--no-pings")
