"""The German catalogue: complete, compiled, and used by the admin and the reader's tag."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

import backlinks_django
from backlinks_django.models import Kind, Status
from tests.test_admin import CHANGELIST, run_action
from tests.test_display import render

LOCALE = Path(backlinks_django.__file__).parent / "locale"
PO = LOCALE / "de" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def po_messages(path: Path) -> dict[str, list[str]]:
    """msgid → its msgstr values (one, or one per plural form), read with msgcat's layout."""
    messages: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith('"'):
                fields[key] += _unquote(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = _unquote(value)
        if fields.get("msgid"):
            messages[fields["msgid"]] = [v for k, v in fields.items() if k.startswith("msgstr")]
    return messages


def _unquote(text: str) -> str:
    return text.strip()[1:-1].encode().decode("unicode_escape").encode("latin-1").decode()


def test_every_message_has_a_german_translation():
    messages = po_messages(PO)

    assert len(messages) > 100
    assert {msgid for msgid, values in messages.items() if not all(values)} == set()
    assert "#, fuzzy" not in PO.read_text(encoding="utf-8").split("\n\n", 1)[1]


def test_the_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)

    for msgid, values in po_messages(PO).items():
        assert compiled.gettext(msgid) == values[0], msgid


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_the_catalogue_holds_every_string_marked_in_the_package(tmp_path):
    copy = tmp_path / "backlinks_django"
    shutil.copytree(LOCALE.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    # -P: the copy holds an html.py, which must not hide the standard library's.
    subprocess.run(
        [sys.executable, "-P", "-m", "django", "makemessages", "-l", "de", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": ""},
    )

    fresh = po_messages(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")

    assert set(fresh) == set(po_messages(PO)), "run makemessages -l de in backlinks_django/"


@pytest.mark.django_db
def test_the_reader_tag_speaks_german(make_backlink, article):
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="reply", title="Re")
    make_backlink(Status.APPROVED, kind=Kind.WEBMENTION, mention_type="like", author_name="Ana")
    make_backlink(Status.APPROVED, kind=Kind.PINGBACK)

    with translation.override("de"):
        html = render(article)

    for german in (
        "3 Reaktionen",
        "Likes",
        "Antworten und Erwähnungen",
        ">Antwort</span>",
        "Originalbeitrag lesen",
        "Pingbacks und Trackbacks",
    ):
        assert german in html, german
    assert "Read the original post" not in html


@pytest.mark.django_db
def test_an_empty_reader_tag_speaks_german(article):
    with translation.override("de"):
        assert "Noch keine Reaktionen." in render(article)


@pytest.mark.django_db
def test_the_admin_changelist_speaks_german(admin_client, make_backlink, settings):
    settings.LANGUAGE_CODE = "de"
    backlink = make_backlink(Status.PENDING, title="Ein Beitrag")

    page = admin_client.get(CHANGELIST).content.decode()
    approved = run_action(admin_client, "approve", [backlink]).content.decode()

    assert "Ausgewählte Backlinks freigeben" in page
    assert "Ausgewählte Backlinks als Spam markieren" in page
    assert "Ausstehend" in page
    assert "1 Backlink wurde freigegeben." in approved
