"""Discovery and the JWKS answered before Flask from the bytes a process holds
(idp.oidc.documents): the same answer as Flask's, and Flask again whenever the document
must be rebuilt."""

from datetime import timedelta

import pytest
from flask import request_started

from idp.clock import travel
from idp.oidc.metadata import REFRESH
from tests.functional.test_metrics import scrape, value

PATHS = ["/.well-known/openid-configuration", "/jwks.json"]


@pytest.fixture
def through_flask(app):
    """How many requests reached Flask's request handling."""
    seen = []

    def count(sender, **extra):
        seen.append(1)

    request_started.connect(count, app)
    yield seen
    request_started.disconnect(count, app)


def _comparable(response):
    headers = {k: v for k, v in response.headers.items() if k != "X-Request-Id"}
    return response.status_code, headers, response.get_data()


@pytest.mark.parametrize("path", PATHS)
def test_a_held_document_is_answered_as_flask_answers_it_without_flask(browser, through_flask, path):
    first = browser.get(path)  # built by Flask
    assert len(through_flask) == 1
    second = browser.get(path)
    assert len(through_flask) == 1  # answered before Flask
    assert _comparable(second) == _comparable(first)
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert len(second.headers["X-Request-Id"]) == 32
    unchanged = browser.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["ETag"] == first.headers["ETag"]
    assert unchanged.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    for method in ("head", "post"):  # only GET is answered early
        getattr(browser, method)(path)
    assert len(through_flask) == 3


def test_a_policy_edit_or_the_refresh_time_sends_the_next_request_through_flask(actors, browser, through_flask):
    browser.get(PATHS[0])
    actors.edit_policy("multi_factor: urn:peps:acr:mfa", "multi_factor: urn:peps:acr:mfa2")
    edited = browser.get(PATHS[0])
    assert len(through_flask) == 2 and "urn:peps:acr:mfa2" in edited.get_data(as_text=True)
    browser.get(PATHS[0])
    assert len(through_flask) == 2
    with travel(REFRESH + timedelta(seconds=1)):
        browser.get(PATHS[0])
    assert len(through_flask) == 3


def test_early_answers_are_counted_in_the_latency_histogram(browser):
    browser.get("/jwks.json")
    before = value(scrape(browser), "idp_request_duration_seconds_count", endpoint="oidc.jwks", status="2xx")
    for _ in range(3):
        browser.get("/jwks.json")
    after = value(scrape(browser), "idp_request_duration_seconds_count", endpoint="oidc.jwks", status="2xx")
    assert after - before == 3
