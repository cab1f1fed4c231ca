"""fetch() as its callers see it: statuses, headers, body and final URL of a plain request."""

from __future__ import annotations

import socket

from pytest_httpserver import HTTPServer

from backlinks_django.fetch import fetch


def test_get_returns_status_headers_body_and_final_url(server: HTTPServer) -> None:
    server.expect_request("/page").respond_with_data(
        b"hello", status=203, headers={"X-Custom": "yes"}, content_type="text/plain"
    )
    url = server.url_for("/page")

    response = fetch(url)

    assert response.status == 203
    assert response.content == b"hello"
    assert response.url == url
    assert response.headers["x-custom"] == "yes"
    assert response.content_type == "text/plain"
    assert response.truncated is False


def test_non_2xx_status_is_returned_not_raised(server: HTTPServer) -> None:
    server.expect_request("/gone").respond_with_data("gone", status=410)

    response = fetch(server.url_for("/gone"))

    assert (response.status, response.content) == (410, b"gone")


def test_query_string_reaches_the_server(server: HTTPServer) -> None:
    server.expect_request("/search", query_string="q=a+b&x=1").respond_with_data("found")

    assert fetch(server.url_for("/search?q=a+b&x=1")).content == b"found"


def test_fetch_leaves_the_default_socket_timeout_alone(server: HTTPServer) -> None:
    server.expect_request("/").respond_with_data("ok")
    before = socket.getdefaulttimeout()

    fetch(server.url_for("/"))

    assert socket.getdefaulttimeout() == before
