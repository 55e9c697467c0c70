"""The first login's confirmation page says whom to ask when the details are wrong."""

import pytest

from tests.helpers import page_text, pkce_pair


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "site": {"support": "support@peps.example"}}


def _confirmation_page(actors, identifier):
    client_id, _ = actors.client()
    _, challenge = pkce_pair()
    response = actors.submit_login(actors.at(actors.authorize(client_id, challenge)), identifier)
    while not response.headers["Location"].startswith("/login/confirm"):
        location = response.headers["Location"]
        page = actors.browser.get(location)
        response = actors.post_form(location, {"code": actors.last_code()}, page=page)
    return actors.browser.get(response.headers["Location"])


def test_the_establishment_administrators_and_the_support_are_named(actors):
    siret = actors.establishment()
    actors.account(siret=siret, profile="administrator", first_name="Bruno", last_name="Martin",
                   email="bruno.martin@mairie.example")
    elsewhere = actors.establishment()
    actors.account(siret=elsewhere, profile="administrator", first_name="Chloé", last_name="Petit",
                   email="chloe.petit@autre.example")
    identifier = actors.account(siret=siret)
    page = _confirmation_page(actors, identifier)
    text = page_text(page)
    assert "Ces informations sont inexactes\u00a0?" in text  # a no-break space: "?" never starts a line
    assert "Bruno Martin" in text and 'href="mailto:bruno.martin@mairie.example"' in text
    assert "Chloé" not in text  # another establishment's administrator is not named
    assert 'href="mailto:support@peps.example"' in text


def test_an_administrator_confirming_is_not_sent_to_themselves(actors):
    siret = actors.establishment()
    identifier = actors.account(siret=siret, profile="administrator", first_name="Bruno", last_name="Martin",
                                email="bruno.martin@mairie.example")
    text = page_text(_confirmation_page(actors, identifier))
    assert "mailto:bruno.martin@mairie.example" not in text
    assert 'href="mailto:support@peps.example"' in text
