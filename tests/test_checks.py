from __future__ import annotations

import pytest
from django.core.checks import WARNING
from django.test import override_settings

from backlinks_django.checks import check_settings


def ids() -> list[str]:
    return [e.id for e in check_settings()]


def test_test_settings_pass():
    assert ids() == []


@override_settings(BACKLINKS={"ALLOWED_NETWROKS": []})
def test_unknown_key_is_e003():
    assert ids() == ["backlinks_django.E003"]


@override_settings(BACKLINKS={"ALLOWED_NETWORKS": ["localhost"]})
def test_bad_network_is_e004():
    assert ids() == ["backlinks_django.E004"]


@override_settings(BACKLINKS={"SPAM_CHECKS": ["no.such.check"]})
def test_unimportable_check_is_e005():
    assert ids() == ["backlinks_django.E005"]


@override_settings(BACKLINKS={"SPAM_CHECKS": ["backlinks_django.spam.unverified"]})
def test_spam_checks_under_their_own_name_pass():
    assert ids() == []


@override_settings(BACKLINKS={"CHECKS": ["backlinks_django.spam.unverified"]})
def test_spam_checks_under_the_old_name_warn_w001_and_no_error():
    (message,) = check_settings()

    assert (message.id, message.level) == ("backlinks_django.W001", WARNING)
    assert "'CHECKS'" in message.msg
    assert "'SPAM_CHECKS'" in message.hint


@override_settings(BACKLINKS={"CHECKS": ["no.such.check"]})
def test_unimportable_check_under_the_old_name_is_e005_too():
    assert ids() == ["backlinks_django.W001", "backlinks_django.E005"]


@override_settings(BACKLINKS={"CHECKS": ["no.such.check"], "SPAM_CHECKS": []})
def test_old_name_beside_the_new_one_warns_that_it_is_ignored():
    (message,) = check_settings()

    assert message.id == "backlinks_django.W001"
    assert "ignored" in message.msg


@override_settings(BACKLINKS=["not", "a", "dict"])
def test_non_dict_is_e002():
    assert ids() == ["backlinks_django.E002"]


@override_settings(BACKLINKS={"AKISMET_API_KEY": "k"})
def test_akismet_key_without_the_library_is_e006(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "akismet" else real(name, *a)
    )

    assert ids() == ["backlinks_django.E006"]


@override_settings(BACKLINKS={"AKISMET_API_KEY": "k"})
def test_akismet_key_with_the_library_passes():
    assert ids() == []


@override_settings(BACKLINKS={"MAX_URL_LENGTH": 5000})
def test_url_length_beyond_the_columns_is_e007():
    assert ids() == ["backlinks_django.E007"]


# --- the tasks framework: Django 6, or the backport ---------------------------------------------


def test_without_any_tasks_framework_start_up_names_the_package(monkeypatch):
    import importlib
    import importlib.util
    import sys

    from django.core.exceptions import ImproperlyConfigured

    from backlinks_django import compat

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            None if name.startswith(("django.tasks", "django_tasks")) else real(name, *a)
        ),
    )
    monkeypatch.setitem(sys.modules, "django_tasks", None)  # `import django_tasks` fails
    try:
        with pytest.raises(
            ImproperlyConfigured, match=r'pip install "backlinks_django\[django52\]"'
        ):
            importlib.reload(compat)
    finally:
        monkeypatch.undo()
        importlib.reload(compat)


def test_the_backport_is_a_dependency_on_python_311_only():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    (backport,) = [
        Requirement(r)
        for r in pyproject["project"]["dependencies"]
        if Requirement(r).name == "django-tasks"
    ]
    assert backport.marker is not None
    assert backport.marker.evaluate({"python_version": "3.11"})
    assert not backport.marker.evaluate({"python_version": "3.12"})
