"""What each hop sends (fetch.hops): headers, method and body, and how redirects change them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

import backlinks_django
from backlinks_django.exceptions import AddressNotAllowed, InvalidURL, TooManyRedirects
from backlinks_django.fetch import fetch
from tests.fetch.rawserver import RawServer

# --- Request headers and body --------------------------------------------------------------------


def test_default_user_agent_and_accept_are_sent(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")

    fetch(server.url_for("/"))

    request, _ = server.log[0]
    assert request.headers["User-Agent"] == f"backlinks_django/{backlinks_django.__version__}"
    assert request.headers["Accept"] == "*/*"


def test_caller_headers_override_defaults_and_add_new_ones(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")

    fetch(
        server.url_for("/"),
        headers={"user-agent": "Site/1.0 (verifying pingback from 192.0.2.7)", "X-Extra": "1"},
    )

    request, _ = server.log[0]
    assert request.headers["User-Agent"] == "Site/1.0 (verifying pingback from 192.0.2.7)"
    assert request.headers["X-Extra"] == "1"


def test_post_sends_method_body_and_content_type(server: HTTPServer) -> None:
    server.expect_request("/rpc", method="POST").respond_with_data("<ok/>")

    response = fetch(
        server.url_for("/rpc"),
        method="POST",
        data=b"<methodCall/>",
        headers={"Content-Type": "text/xml"},
    )

    request, _ = server.log[0]
    assert response.content == b"<ok/>"
    assert request.get_data() == b"<methodCall/>"
    assert request.headers["Content-Type"] == "text/xml"


# --- Redirects -----------------------------------------------------------------------------------


def test_redirect_is_followed_to_the_final_url(server: HTTPServer) -> None:
    target = server.url_for("/new")
    server.expect_request("/old").respond_with_data("", status=302, headers={"Location": target})
    server.expect_request("/new").respond_with_data("moved here")

    response = fetch(server.url_for("/old"))

    assert (response.status, response.content, response.url) == (200, b"moved here", target)


def test_relative_location_is_resolved_against_the_current_url(server: HTTPServer) -> None:
    server.expect_request("/a/b/c").respond_with_data(
        "", status=301, headers={"Location": "../d?x=1"}
    )
    server.expect_request("/a/d", query_string="x=1").respond_with_data("relative")

    response = fetch(server.url_for("/a/b/c"))

    assert response.content == b"relative"
    assert response.url == server.url_for("/a/d?x=1")


def test_redirects_up_to_the_limit_are_followed(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    configure(FETCH_MAX_REDIRECTS=2)
    server.expect_request("/0").respond_with_data("", status=302, headers={"Location": "/1"})
    server.expect_request("/1").respond_with_data("", status=302, headers={"Location": "/2"})
    server.expect_request("/2").respond_with_data("end")

    assert fetch(server.url_for("/0")).content == b"end"


def test_more_redirects_than_the_limit_raise(
    server: HTTPServer, configure: Callable[..., None]
) -> None:
    configure(FETCH_MAX_REDIRECTS=2)
    for hop in range(3):
        server.expect_request(f"/{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/{hop + 1}"}
        )
    server.expect_request("/3").respond_with_data("never")

    with pytest.raises(TooManyRedirects):
        fetch(server.url_for("/0"))

    assert [request.path for request, _ in server.log] == ["/0", "/1", "/2"]


def test_redirect_to_a_refused_address_is_refused_without_connecting(
    server: HTTPServer, configure: Callable[..., None], raw_server: Callable[..., RawServer]
) -> None:
    configure(ALLOWED_NETWORKS=["127.0.0.1/32"])
    other = raw_server(host="127.0.0.2")
    server.expect_request("/").respond_with_data("", status=302, headers={"Location": other.url()})

    with pytest.raises(AddressNotAllowed):
        fetch(server.url_for("/"))

    assert other.connections_so_far() == 0


def test_redirect_to_an_invalid_url_is_invalid(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )

    with pytest.raises(InvalidURL):
        fetch(server.url_for("/"))


def test_follow_redirects_false_returns_the_redirect(server: HTTPServer) -> None:
    server.expect_request("/old").respond_with_data(
        "see elsewhere", status=302, headers={"Location": "/new"}
    )

    response = fetch(server.url_for("/old"), follow_redirects=False)

    assert response.status == 302
    assert response.headers["Location"] == "/new"
    assert response.content == b"see elsewhere"
    assert [request.path for request, _ in server.log] == ["/old"]


def test_redirect_without_location_is_returned(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("nowhere", status=302)

    assert fetch(server.url_for("/")).status == 302


def test_authorization_is_not_sent_to_another_origin(
    server: HTTPServer, httpserver_ipv6: HTTPServer
) -> None:
    elsewhere = f"http://[::1]:{httpserver_ipv6.port}/"
    server.expect_request("/").respond_with_data("", status=302, headers={"Location": elsewhere})
    httpserver_ipv6.expect_request("/").respond_with_data("ok")

    fetch(server.url_for("/"), headers={"Authorization": "Bearer secret"})

    assert "Authorization" in server.log[0][0].headers
    assert "Authorization" not in httpserver_ipv6.log[0][0].headers


# --- Method changes on redirect ------------------------------------------------------------------


def test_303_after_post_becomes_get_without_body(server: HTTPServer) -> None:
    server.expect_request("/form", method="POST").respond_with_data(
        "", status=303, headers={"Location": "/done"}
    )
    server.expect_request("/done", method="GET").respond_with_data("done")

    response = fetch(
        server.url_for("/form"),
        method="POST",
        data=b"a=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    second, _ = server.log[1]
    assert response.content == b"done"
    assert second.method == "GET"
    assert second.get_data() == b""
    assert "Content-Type" not in second.headers


def test_302_after_post_becomes_get(server: HTTPServer) -> None:
    server.expect_request("/form", method="POST").respond_with_data(
        "", status=302, headers={"Location": "/done"}
    )
    server.expect_request("/done", method="GET").respond_with_data("done")

    assert fetch(server.url_for("/form"), method="POST", data=b"a=1").content == b"done"


@pytest.mark.parametrize("status", [307, 308])
def test_307_and_308_keep_method_and_body(server: HTTPServer, status: int) -> None:
    server.expect_request("/rpc", method="POST").respond_with_data(
        "", status=status, headers={"Location": "/rpc2"}
    )
    server.expect_request("/rpc2", method="POST").respond_with_data("again")

    response = fetch(server.url_for("/rpc"), method="POST", data=b"<call/>")

    second, _ = server.log[1]
    assert response.content == b"again"
    assert second.get_data() == b"<call/>"
