"""Every reached limit answers the same way: 429, ``Retry-After``, and the page says from
when to try again (idp.limits); the federated wait holds on every step."""

from dataclasses import replace
from datetime import timedelta

import pytest

from idp.clock import travel
from idp.extensions import db
from idp.models import LoginSession, OneTimeCode, RateLimitHit
from tests.helpers import page_text, pkce_pair


@pytest.fixture
def rp(actors):
    return actors.client()


def _to_code_page(actors, rp, identifier, **params):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge, **params))
    response = actors.submit_login(login_url, identifier)
    assert response.headers["Location"].startswith("/login/code"), response.headers["Location"]
    return response.headers["Location"], actors.browser.get(response.headers["Location"])


def _retry_after(response) -> int:
    assert response.status_code == 429
    return int(response.headers["Retry-After"])


def test_a_resend_too_soon_says_when_and_keeps_the_code_form(actors, rp):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    too_soon = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
    assert 55 <= _retry_after(too_soon) <= 60  # the policy's resend delay
    text = page_text(too_soon)
    assert "possible à partir de" in text and 'autocomplete="one-time-code"' in text
    # The code already sent still works from that page.
    final = actors.finish_login(actors.post_form(code_url, {"code": actors.last_code()}, page=too_soon))
    assert "code=" in final.headers["Location"]


def test_the_send_limit_says_when_the_oldest_send_leaves_the_window(actors, app, rp):
    actors.edit_policy("per_account: {count: 5, window: 1h}", "per_account: {count: 1, window: 1h}")
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    with app.app_context():
        record = db.session.execute(db.select(OneTimeCode)).scalar_one()
        record.created_at -= timedelta(minutes=2)  # past the resend delay
        for hit in db.session.execute(db.select(RateLimitHit)).scalars():
            hit.at -= timedelta(minutes=20)  # the first send was 20 minutes ago
        db.session.commit()
    limited = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
    assert 39 * 60 <= _retry_after(limited) <= 40 * 60
    assert "Réessayez à partir de" in page_text(limited)
    assert len(actors.outbox()) == 1


def test_the_federated_wait_stops_the_flow_that_reached_it(actors, app, rp):
    actors.edit_policy("    max_failures: 5      # never locks", "    max_failures: 2      # never locks")
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    actors.tokens_for(rp[0], rp[1], identifier, prompt="login")  # trusted device: one factor
    with app.app_context():
        session = db.session.execute(db.select(LoginSession).filter_by(ended_at=None)).scalar_one()
        session.provenance = replace(session.provenance, login_method="federated")
        db.session.commit()
    strict_id, _ = actors.client(default_acr="urn:peps:acr:mfa")
    _, challenge = pkce_pair()
    code_url = actors.at(actors.authorize(strict_id, challenge))
    page = actors.browser.get(code_url)
    right = actors.last_code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    assert actors.post_form(code_url, {"code": wrong}, page=page).status_code == 401
    waited = actors.post_form(code_url, {"code": wrong}, page=page)
    assert 4 * 60 <= _retry_after(waited) <= 5 * 60
    assert "à partir de" in page_text(waited)
    # The code is still live, yet the flow that reached the wait cannot use it ...
    again = actors.post_form(code_url, {"code": right}, page=page)
    assert _retry_after(again) > 0 and "code=" not in again.headers.get("Location", "")
    assert actors.browser.get(code_url).status_code == 429
    # ... until the wait is over.
    with travel(timedelta(minutes=6)):
        assert actors.browser.get(code_url).status_code == 200


def test_guessing_one_identifier_does_not_block_the_other_agents_behind_the_address(actors, rp):
    victim = actors.account(email="victim@mairie.example")
    colleague = actors.account(email="colleague@mairie.example")
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    for _ in range(10):  # lockout.per_ip_and_identifier
        assert actors.submit_login(login_url, "ZZZ999999", "guess").status_code == 401
    assert _retry_after(actors.submit_login(login_url, "ZZZ999999", "guess")) > 0
    # Same address, another identifier: the agents of the town hall keep working.
    response = actors.submit_login(login_url, colleague)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/code")
    assert victim != colleague


def _first_code_for_a_new_agent(actors, rp, n, siret):
    identifier = actors.account(siret, email=f"agent{n}@mairie.example")
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    code_url = actors.submit_login(login_url, identifier).headers["Location"]
    return actors.browser.get(code_url)


def test_a_trusted_network_has_its_own_ceilings(actors, rp):
    actors.edit_policy("per_ip: {count: 200, window: 1h}", "per_ip: {count: 2, window: 1h}")
    siret = actors.establishment()
    for n in range(2):
        assert _first_code_for_a_new_agent(actors, rp, n, siret).status_code == 200
    assert _retry_after(_first_code_for_a_new_agent(actors, rp, 2, siret)) > 0  # the general ceiling
    actors.edit_policy("trusted_networks: []", """trusted_networks:
  - name: the test town hall
    networks: [127.0.0.0/8]
    failed_logins: {count: 1000, window: 15m}
    code_sends: {count: 1000, window: 1h}""")
    assert _first_code_for_a_new_agent(actors, rp, 3, siret).status_code == 200
