"""The Site's domain decides which targets are this site's: fault 33 names it in the log, and
a domain changed by another process counts at once (no restart)."""

from __future__ import annotations

import logging
import xmlrpc.client

import pytest
from django.contrib.sites.models import Site

from backlinks_django.models import Backlink
from tests.conftest import page_linking_to

pytestmark = pytest.mark.django_db


def test_fault_33_logs_the_domain_the_site_expects(
    xmlrpc_call, serve_source, site, article, caplog
):
    url = f"http://blog.example.org{article.get_absolute_url()}"
    source = serve_source(page_linking_to(url))

    with caplog.at_level(logging.WARNING, logger="backlinks_django.admission"):
        with pytest.raises(xmlrpc.client.Fault) as fault:
            xmlrpc_call("pingback.ping", source, url)

    assert fault.value.faultCode == 33
    (record,) = caplog.records
    assert url in record.getMessage()
    assert "this site's domain 'testserver' (Site 1)" in record.getMessage()


def test_a_domain_set_by_another_process_counts_without_a_restart(
    xmlrpc_call, serve_source, site, article, article_url
):
    # This process has the Site cached (as a server does after its first request) ...
    Site.objects.filter(pk=site.pk).update(domain="example.com")
    Site.objects.clear_cache()
    assert Site.objects.get_current().domain == "example.com"
    # ... when another process (manage.py shell) sets the domain: no signal reaches this one.
    Site.objects.filter(pk=site.pk).update(domain="testserver")
    assert Site.objects.get_current().domain == "example.com"  # still cached
    source = serve_source(page_linking_to(article_url))

    answer = xmlrpc_call("pingback.ping", source, article_url)

    assert "registered" in answer
    assert Backlink.objects.get().target == article
    assert Site.objects.get_current().domain == "testserver"  # the cache follows


def test_a_foreign_target_with_an_unchanged_site_costs_one_query(
    xmlrpc_call, site, article, django_assert_max_num_queries
):
    Site.objects.get_current()  # cached, as in a running server
    url = f"http://elsewhere.example{article.get_absolute_url()}"

    with django_assert_max_num_queries(1), pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc_call("pingback.ping", "http://peer.example/post", url)

    assert fault.value.faultCode == 33
