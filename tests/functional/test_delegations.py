"""Delegations (issue 7): establishment A offers an agent of establishment B some of its
services; the agent accepts; at login the agent chooses whom they act for (or the relying
party names it with peps_siret), and the peps_* claims say which."""

import pytest

from tests.helpers import Actors, page_text, pkce_pair, query_of


def _console(person: Actors, path: str, identifier: str):
    """Open a console page in this person's browser, logging in first if needed."""
    response = person.browser.get(path)
    if response.status_code == 302 and response.headers["Location"].startswith("/authorize"):
        to_login = person.browser.get(response.headers["Location"])
        done = person.finish_login(person.submit_login(to_login, identifier))
        back = person.browser.get(done.headers["Location"])  # the console's callback
        response = person.browser.get(back.headers["Location"])
    assert response.status_code == 200, response.status_code
    return response


@pytest.fixture
def world(actors, app):
    siret_a, siret_b = actors.establishment(), actors.establishment()
    admin_a = actors.account(siret_a, profile="administrator", email="anne.martin@a.example", services=())
    actors.account(siret_a, profile="administrator", email="bruno.petit@a.example", services=())
    bea = actors.account(siret_b, email="bea.durand@b.example", services=("pensions",))
    actors.service("ircantec")
    ircantec = actors.client(service="ircantec")
    pensions = actors.client(service="pensions")
    agent = Actors(app, app.test_client())
    return {"a": siret_a, "b": siret_b, "admin": admin_a, "bea": bea, "ircantec": ircantec, "pensions": pensions,
            "agent": agent}


def _offer(actors, world, identifier, services=("ircantec",)):
    page = _console(actors, "/admin/delegations", world["admin"])
    return actors.post_form("/admin/delegations", {"identifier": identifier, "service": list(services)}, page=page)


def test_an_accepted_delegation_is_chosen_at_login_and_stated_in_the_claims(actors, world):
    assert _offer(actors, world, world["bea"]).status_code == 303
    agent = world["agent"]
    page = _console(agent, "/account/delegations", world["bea"])
    assert "ircantec" in page_text(page) and "en attente" in page_text(page)
    assert agent.post_form("/account/delegations", {"answer": "accept"}, page=page).status_code == 303

    # A new login for the ircantec application: choose establishment A.
    verifier, challenge = pkce_pair()
    start = agent.authorize(world["ircantec"][0], challenge, prompt="login")
    response = agent.submit_login(start, world["bea"])  # a trusted workstation: no code
    # The login's end asks for the establishment before it answers the application.
    assert response.headers["Location"].startswith("/authorize/resume")
    step = agent.browser.get(response.headers["Location"]).headers["Location"]
    assert step.startswith("/login/establishment")
    choice = agent.browser.get(step)
    assert world["a"] in page_text(choice) and world["b"] in page_text(choice)
    done = agent.follow(agent.post_form(step, {"siret": world["a"]}, page=choice))
    code = query_of(done.headers["Location"])["code"]
    tokens = agent.exchange(world["ircantec"][0], world["ircantec"][1], code, verifier).get_json()
    claims = agent.browser.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert (claims["peps_siret"], claims["peps_services"], claims["peps_profile"]) == (world["a"], ["ircantec"], "user")

    # The pensions application names establishment B: no choice asked, B's claims.
    verifier, challenge = pkce_pair()
    named = agent.authorize(world["pensions"][0], challenge, peps_siret=world["b"])
    code = query_of(named.headers["Location"])["code"]
    tokens = agent.exchange(world["pensions"][0], world["pensions"][1], code, verifier).get_json()
    claims = agent.browser.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert (claims["peps_siret"], claims["peps_services"]) == (world["b"], ["pensions"])
    # ircantec for establishment B: B gave no such right.
    _, challenge = pkce_pair()
    refused = agent.authorize(world["ircantec"][0], challenge, peps_siret=world["b"])
    assert query_of(refused.headers["Location"])["error"] == "access_denied"
    # An establishment the account has nothing to do with.
    _, challenge = pkce_pair()
    stranger = agent.authorize(world["pensions"][0], challenge, peps_siret="21330063500033")
    assert query_of(stranger.headers["Location"])["error"] == "access_denied"


def test_a_new_login_for_an_establishment_not_the_account_s_is_refused_without_a_choice(actors, world):
    """As with a session, and as for an account of one establishment: the relying party's
    peps_siret is answered for, never swapped for another establishment."""
    assert _offer(actors, world, world["bea"]).status_code == 303
    agent = world["agent"]
    page = _console(agent, "/account/delegations", world["bea"])
    assert agent.post_form("/account/delegations", {"answer": "accept"}, page=page).status_code == 303

    _, challenge = pkce_pair()
    start = agent.authorize(world["pensions"][0], challenge, prompt="login", peps_siret="21330063500033")
    done = agent.follow(agent.submit_login(start, world["bea"]))  # a trusted workstation
    assert query_of(done.headers["Location"])["error"] == "access_denied"
    # Named and the account's: no choice either, that one's claims.
    verifier, challenge = pkce_pair()
    start = agent.authorize(world["ircantec"][0], challenge, prompt="login", peps_siret=world["a"])
    done = agent.follow(agent.submit_login(start, world["bea"]))
    tokens = agent.exchange(world["ircantec"][0], world["ircantec"][1], query_of(done.headers["Location"])["code"],
                            verifier).get_json()
    claims = agent.browser.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert claims["peps_siret"] == world["a"]


def test_a_refused_offer_changes_nothing_and_rules_are_checked(actors, world):
    assert _offer(actors, world, world["bea"]).status_code == 303
    own = actors.account(world["a"], email="colin.roux@a.example")
    refused = _offer(actors, world, own)
    assert refused.status_code == 400 and "your establishment" in page_text(refused)
    assert _offer(actors, world, world["bea"], services=()).status_code == 400
    agent = world["agent"]
    page = _console(agent, "/account/delegations", world["bea"])
    assert agent.post_form("/account/delegations", {"answer": "refuse"}, page=page).status_code == 303
    assert "Aucune délégation" in page_text(agent.browser.get("/account/delegations"))
    # Without an accepted delegation there is nothing to choose, and no right to ircantec.
    _, challenge = pkce_pair()
    start = agent.authorize(world["ircantec"][0], challenge)
    assert query_of(start.headers["Location"])["error"] == "access_denied"


def test_a_user_cannot_offer_and_an_administrator_can_withdraw(actors, world):
    agent = world["agent"]
    assert agent.browser.get("/admin/delegations").status_code == 302  # a login first
    _console(agent, "/account", world["bea"])
    assert agent.browser.get("/admin/delegations").status_code == 403
    _offer(actors, world, world["bea"])
    page = actors.browser.get("/admin/delegations")
    assert world["bea"] in page_text(page)
    assert actors.post_form("/admin/delegations", {"revoke": "1"}, form_index=1, page=page).status_code == 303
    assert world["bea"] not in page_text(actors.browser.get("/admin/delegations"))


def test_more_services_for_an_accepted_delegation_are_asked_again(actors, world):
    _offer(actors, world, world["bea"])
    agent = world["agent"]
    page = _console(agent, "/account/delegations", world["bea"])
    agent.post_form("/account/delegations", {"answer": "accept"}, page=page)
    _offer(actors, world, world["bea"], services=("ircantec", "pensions"))
    assert "en attente" in page_text(agent.browser.get("/account/delegations"))
    _offer(actors, world, world["bea"], services=("ircantec",))  # fewer: nothing to ask
    page = actors.browser.get("/admin/delegations")
    assert actors.post_form("/admin/delegations", {"revoke": "²"}, form_index=1, page=page).status_code == 400
