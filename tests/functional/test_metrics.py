"""``/metrics``: what happens is counted, and only a scraper may read it (idp.metrics).

Counters belong to the process and every test adds to them: each test reads them before
and after what it does and compares the difference.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import PASSWORD, pkce_pair

TOKEN = "metrics-scraper-token-0123456789abcdef"
OUTSIDER = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "metrics": {"token": TOKEN}}


@pytest.fixture
def rp(actors):
    return actors.client()


def scrape(browser) -> dict[tuple[str, frozenset], float]:
    response = browser.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_failed_then_a_successful_login_move_their_counters(actors, rp):
    identifier = actors.account()
    before = scrape(actors.browser)
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    assert actors.submit_login(login_url, identifier, "wrong password!").status_code == 401
    middle = scrape(actors.browser)
    assert delta(before, middle, "idp_logins_total", method="password", result="failure") == 1
    assert delta(before, middle, "idp_logins_total", method="password", result="success") == 0

    done = actors.finish_login(actors.submit_login(login_url, identifier, PASSWORD))
    assert "code=" in done.headers["Location"]
    after = scrape(actors.browser)
    assert delta(middle, after, "idp_logins_total", method="password", result="success") == 1
    assert delta(middle, after, "idp_logins_total", method="password", result="failure") == 0
    assert delta(middle, after, "idp_codes_sent_total", channel="sms", result="sent") == 1
    assert delta(middle, after, "idp_code_checks_total", result="ok") == 1


def test_tokens_are_counted_by_grant_type(actors, rp):
    identifier = actors.account()
    before = scrape(actors.browser)
    tokens = actors.tokens_for(*rp, identifier)
    refreshed = actors.token(*rp, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200
    machine_id, machine_secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    for _ in range(3):
        assert actors.token(machine_id, machine_secret, grant_type="client_credentials").status_code == 200
    assert actors.token(machine_id, "wrong secret", grant_type="client_credentials").status_code == 401
    after = scrape(actors.browser)
    assert delta(before, after, "idp_tokens_issued_total", grant_type="authorization_code") == 1
    assert delta(before, after, "idp_tokens_issued_total", grant_type="refresh_token") == 1
    assert delta(before, after, "idp_tokens_issued_total", grant_type="client_credentials") == 3


def test_locks_and_throttles_are_counted(actors, app, rp):
    identifier = actors.account()
    before = scrape(actors.browser)
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    for _ in range(5):  # the policy's lockout.local.max_failures
        assert actors.submit_login(login_url, identifier, "wrong password!").status_code == 401
    locked = actors.submit_login(login_url, identifier, PASSWORD)
    assert locked.status_code == 403
    middle = scrape(actors.browser)
    assert delta(before, middle, "idp_account_locks_total") == 1
    assert delta(before, middle, "idp_logins_total", method="password", result="failure") == 5
    assert delta(before, middle, "idp_logins_total", method="password", result="locked") == 1

    # A second code asked for too soon: a 429, counted under the limit that refused it.
    other = actors.account(email="bob.martin@mairie.example", last_name="Martin", first_name="Bob")
    _, challenge = pkce_pair()
    code_url = actors.submit_login(actors.at(actors.authorize(rp[0], challenge)), other).headers["Location"]
    assert code_url.startswith("/login/code")
    page = actors.browser.get(code_url)
    assert actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page).status_code == 429
    after = scrape(actors.browser)
    assert delta(middle, after, "idp_throttles_total", limit="code.too_soon") == 1


def test_a_password_step_refused_for_its_address_is_a_throttled_login(actors, rp):
    before = scrape(actors.browser)
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    for _ in range(10):  # the policy's lockout.per_ip_and_identifier count
        assert actors.submit_login(login_url, "ZZZ999999", "wrong password!").status_code == 401
    assert actors.submit_login(login_url, "ZZZ999999", "wrong password!").status_code == 429
    after = scrape(actors.browser)
    assert delta(before, after, "idp_logins_total", method="password", result="failure") == 10
    assert delta(before, after, "idp_logins_total", method="password", result="throttled") == 1
    assert delta(before, after, "idp_throttles_total", limit="login.address_blocked:ip_identifier") == 1


def test_request_latency_is_labelled_by_endpoint_never_by_path(actors):
    before = scrape(actors.browser)
    assert actors.browser.get("/healthz").status_code == 200
    for path in ("/no/such/page", "/another/unknown-path?x=1"):
        assert actors.browser.get(path).status_code == 404
    after = scrape(actors.browser)
    assert delta(before, after, "idp_request_duration_seconds_count", endpoint="health.healthz", status="2xx") == 1
    assert delta(before, after, "idp_request_duration_seconds_count", endpoint="none", status="4xx") == 2
    assert value(after, "idp_request_duration_seconds_bucket", endpoint="health.healthz", status="2xx", le="+Inf") >= 1
    labels = {dict(key[1]).get("endpoint") for key in after if key[0].startswith("idp_request_duration")}
    assert not any(label and "/" in label for label in labels)


def test_metrics_are_hidden_from_other_addresses_unless_they_bear_the_token(actors):
    browser = actors.browser
    assert browser.get("/metrics").status_code == 200  # loopback: the test client's 127.0.0.1
    assert browser.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert browser.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200
    hidden = browser.get("/metrics", environ_base=OUTSIDER)
    assert hidden.status_code == 404
    assert hidden.get_data() == browser.get("/no-such-page", environ_base=OUTSIDER).get_data()  # nothing tells
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", "Bearer é€"):
        assert browser.get("/metrics", environ_base=OUTSIDER, headers={"Authorization": header}).status_code == 404
    allowed = browser.get("/metrics", environ_base=OUTSIDER, headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200 and b"idp_logins_total" in allowed.get_data()


def test_a_forwarded_request_never_passes_as_loopback(actors):
    """A reverse proxy on the same host connects from 127.0.0.1: what it forwards from the
    Internet is refused, whatever the forwarding header says."""
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        assert actors.browser.get("/metrics", headers={header: "203.0.113.7"}).status_code == 404
        assert actors.browser.get("/metrics", headers={header: "127.0.0.1"}).status_code == 404
    forwarded = actors.browser.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7",
                                                        "Authorization": f"Bearer {TOKEN}"})
    assert forwarded.status_code == 200  # a scraper going through the proxy uses the token


def test_behind_trusted_proxies_a_forged_loopback_address_is_refused(settings_overrides):
    from idp import create_app

    app = create_app({**settings_overrides, "trusted_proxies": 1})
    client = app.test_client()
    # The proxy (203.0.113.1) says the client is 127.0.0.1: ProxyFix believes it, /metrics does not.
    forged = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.1"},
                        headers={"X-Forwarded-For": "127.0.0.1"})
    assert forged.status_code == 404
    assert client.get("/metrics").status_code == 200  # a direct scraper on the node itself


def test_metrics_can_be_turned_off(settings_overrides):
    from idp import create_app

    app = create_app({**settings_overrides, "metrics": {"enabled": False, "token": TOKEN}})
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
