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


# --- the Site's domain (W020, W021) -------------------------------------------------------------


def site_ids() -> list[str]:
    from backlinks_django.checks import check_site_domain

    return [m.id for m in check_site_domain()]


@pytest.mark.django_db
def test_startprojects_example_com_site_is_w020():
    from django.contrib.sites.models import Site

    assert Site.objects.get(pk=1).domain == "example.com"  # what migrate creates

    from backlinks_django.checks import check_site_domain

    (message,) = check_site_domain()
    assert message.id == "backlinks_django.W020"
    assert message.level == WARNING
    assert "fault 33" in message.msg
    assert "update_or_create" in message.hint


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("domain", "allowed_hosts", "debug"),
    [
        ("blog.example.org", ["blog.example.org"], False),
        ("blog.example.org", [".example.org"], False),
        ("blog.example.org:8000", ["blog.example.org"], False),
        ("testserver", ["*"], False),
        ("127.0.0.1:8000", [], True),  # DEBUG allows loopback and .localhost when empty
        ("blog.localhost", [], True),
    ],
)
def test_a_site_domain_that_allowed_hosts_allows_is_quiet(domain, allowed_hosts, debug):
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=1).update(domain=domain)
    with override_settings(ALLOWED_HOSTS=allowed_hosts, DEBUG=debug):
        assert site_ids() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("domain", "allowed_hosts", "debug"),
    [
        ("blog.example.org", ["www.example.org"], False),
        ("blog.example.org", [], True),
        ("127.0.0.1:8000", [], False),  # DEBUG off: nothing is allowed
        ("", ["*"], False),
    ],
)
def test_a_site_domain_that_allowed_hosts_refuses_is_w021(domain, allowed_hosts, debug):
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=1).update(domain=domain)
    with override_settings(ALLOWED_HOSTS=allowed_hosts, DEBUG=debug):
        assert site_ids() == ["backlinks_django.W021"]


@pytest.mark.django_db
@override_settings(SITE_ID=None)
def test_without_site_id_every_site_is_checked():
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=1).update(domain="blog.example.org")
    Site.objects.create(domain="example.com", name="placeholder")

    assert site_ids() == ["backlinks_django.W020"]


def test_site_check_is_quiet_without_a_database(monkeypatch):
    from django.contrib.sites.models import Site
    from django.db import OperationalError

    def no_table(*args, **kwargs):
        raise OperationalError("no such table: django_site")

    monkeypatch.setattr(type(Site.objects), "filter", no_table)
    assert site_ids() == []


# --- LOCAL_DEVELOPMENT (W022) -------------------------------------------------------------------


def local_ids() -> list[str]:
    from backlinks_django.checks import check_local_development

    return [m.id for m in check_local_development()]


@override_settings(BACKLINKS={"LOCAL_DEVELOPMENT": True}, DEBUG=False)
def test_local_development_with_debug_off_is_w022():
    assert local_ids() == ["backlinks_django.W022"]
    assert ids() == []  # a known key


@pytest.mark.parametrize(
    ("backlinks", "debug"),
    [({"LOCAL_DEVELOPMENT": True}, True), ({}, False), ({"LOCAL_DEVELOPMENT": False}, False)],
)
def test_local_development_on_with_debug_or_off_is_quiet(backlinks, debug):
    with override_settings(BACKLINKS=backlinks, DEBUG=debug):
        assert local_ids() == []


def test_local_development_is_off_by_default_and_changes_nothing_then():
    import ipaddress

    from backlinks_django.conf import app_settings

    with override_settings(BACKLINKS={}):
        assert app_settings.LOCAL_DEVELOPMENT is False
        assert app_settings.ALLOWED_NETWORKS == []
        assert app_settings.ALLOWED_PORTS == frozenset({80, 443})
        assert app_settings.SCHEME == "https"

    with override_settings(BACKLINKS={"LOCAL_DEVELOPMENT": True}):
        networks = app_settings.ALLOWED_NETWORKS
        assert app_settings.ALLOWED_PORTS is None
        assert app_settings.SCHEME == "http"

    def allowed(ip: str) -> bool:
        return any(ipaddress.ip_address(ip) in network for network in networks)

    assert all(allowed(ip) for ip in ["127.0.0.1", "::1", "10.1.2.3", "172.17.0.2", "192.168.1.9"])
    assert not allowed("169.254.169.254")  # cloud metadata stays refused
    assert not allowed("8.8.8.8")


@override_settings(
    BACKLINKS={"LOCAL_DEVELOPMENT": True, "SCHEME": "https", "ALLOWED_PORTS": [8000]}
)
def test_keys_set_beside_local_development_win():
    from backlinks_django.conf import app_settings

    assert app_settings.SCHEME == "https"
    assert app_settings.ALLOWED_PORTS == frozenset({8000})
    assert app_settings.ALLOWED_NETWORKS  # not set: LOCAL_DEVELOPMENT's


@pytest.mark.django_db
@pytest.mark.parametrize(("local", "stored"), [(True, True), (False, False)])
def test_local_development_alone_receives_a_ping_from_a_runserver_page(
    xmlrpc_call, serve_source, article_url, local, stored
):
    import xmlrpc.client

    from backlinks_django.models import Backlink
    from tests.conftest import page_linking_to

    source = serve_source(page_linking_to(article_url))  # 127.0.0.1, a random port

    with override_settings(BACKLINKS={"LOCAL_DEVELOPMENT": local}):
        try:
            xmlrpc_call("pingback.ping", source, article_url)
        except xmlrpc.client.Fault:
            pass

    assert Backlink.objects.filter(source_url=source).exists() is stored
