"""Codes go only where the policy allows (issue 8.3): France and its overseas territories
by default; voice only to French numbers; a narrowed policy stops sends to numbers
stored before."""

import pytest

from idp.extensions import db
from idp.models import Account
from tests.helpers import page_text, pkce_pair


@pytest.fixture
def rp(actors):
    return actors.client()


def _phone_page(actors, rp, identifier):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    response = actors.submit_login(login_url, identifier)
    assert response.headers["Location"].startswith("/login/phone")
    return response.headers["Location"]


@pytest.mark.parametrize("number", ["+7 916 123 45 67", "+1 268 464 1234", "+234 802 123 4567"])
def test_a_number_abroad_is_refused_at_first_login_and_nothing_is_sent(actors, rp, number):
    identifier = actors.account(phone=None)
    phone_url = _phone_page(actors, rp, identifier)
    refused = actors.post_form(phone_url, {"phone": number})
    assert refused.status_code == 400
    assert "qu'aux numéros de France et des outre-mer" in page_text(refused)
    assert actors.outbox() == []
    accepted = actors.post_form(phone_url, {"phone": "0692 12 34 56"}, page=refused)
    assert accepted.headers["Location"].startswith("/login/code")
    actors.browser.get(accepted.headers["Location"])
    assert actors.outbox()[-1]["to"] == "+262692123456"  # La Réunion, not +33


def test_a_narrowed_policy_stops_sends_to_a_number_stored_before(actors, app, rp):
    identifier = actors.account(phone="0692 12 34 56")
    actors.edit_policy("allowed_regions: [FR, GP, BL, MF, MQ, GF, RE, YT, PM, WF, PF, NC]",
                       "allowed_regions: [FR]")
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    code_url = actors.submit_login(login_url, identifier).headers["Location"]
    page = actors.browser.get(code_url)
    assert page.status_code == 503 and "n'a pas pu être envoyé" in page_text(page)
    assert actors.outbox() == []
    with app.app_context():
        assert db.session.execute(db.select(Account.phone)).scalar_one() == "+262692123456"
