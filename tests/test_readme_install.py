"""The README's install snippets stay machine-applicable: scripts/test-install applies them
(slowly, in fresh venvs); this checks in a second that they are there and apply."""

from __future__ import annotations

import importlib.util
import runpy
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location(
    "_readme_install", ROOT / "scripts/_readme_install.py"
)
assert _spec is not None and _spec.loader is not None
readme_install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_install)


def test_every_snippet_the_install_test_follows_is_marked():
    assert set(readme_install.snippets()) == {
        "pip",
        "settings",
        "urls",
        "migrate",
        "domain",
        "local",
        "register",
    }
    assert readme_install.snippet("pip").strip() == "pip install backlinks_django"
    assert "'blog.example.org'" in readme_install.snippet("domain")


def test_the_snippets_apply_to_a_startproject_site(tmp_path):
    call_command("startproject", "mysite", str(tmp_path))
    settings_py = tmp_path / "mysite/settings.py"
    urls_py = tmp_path / "mysite/urls.py"

    readme_install.apply(settings_py, ["settings", "local"])
    readme_install.apply(urls_py, ["urls"])

    settings = runpy.run_path(str(settings_py))
    apps = settings["INSTALLED_APPS"]
    assert apps.count("django.contrib.contenttypes") == 1  # startproject's, kept once
    assert apps[-2:] == ["django.contrib.sites", "backlinks_django"]
    assert settings["MIDDLEWARE"][-1] == "backlinks_django.middleware.PingbackHeaderMiddleware"
    assert settings["SITE_ID"] == 1
    assert settings["BACKLINKS"] == {"LOCAL_DEVELOPMENT": True}
    patterns = runpy.run_path(str(urls_py))["urlpatterns"]
    assert [str(p.pattern) for p in patterns] == ["admin/", "backlinks/"]
