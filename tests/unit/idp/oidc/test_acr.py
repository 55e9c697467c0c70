"""What a relying party demands of the authentication level (:mod:`idp.oidc.acr`)."""

import pytest

from idp.models import Client
from idp.oidc.acr import Requirement, requirement

PWD, MFA = "urn:peps:acr:pwd", "urn:peps:acr:mfa"
LEVELS = [PWD, MFA]
UNKNOWN = "urn:other:acr:loa3"


def _client(default_acr=None):
    return Client(client_id="rp", default_acr=default_acr)


def test_no_demand_at_all():
    assert requirement(LEVELS, _client(), None, []) == Requirement(None, True)
    assert requirement(LEVELS, _client(), "", []) == Requirement(None, True)


def test_the_client_minimum_holds_by_itself():
    assert requirement(LEVELS, _client(MFA), None, []) == Requirement(MFA)


@pytest.mark.parametrize("acr_values, wanted", [
    (MFA, MFA),
    (f"{MFA} {PWD}", None),        # the weakest named is what the request accepts
    (f"{PWD} {MFA}", None),
    (f"{UNKNOWN} {MFA}", MFA),     # unknown values are skipped
    (UNKNOWN, None),
    (PWD, None),                   # the weakest level is no demand at all
])
def test_acr_values_asks_for_the_weakest_level_it_names(acr_values, wanted):
    assert requirement(LEVELS, _client(), acr_values, []) == Requirement(wanted)


def test_a_request_cannot_lower_the_client_minimum():
    assert requirement(LEVELS, _client(MFA), PWD, []) == Requirement(MFA)
    assert requirement(LEVELS, _client(MFA), None, [PWD]) == Requirement(MFA)


def test_the_strongest_of_the_demands_wins():
    assert requirement(LEVELS, _client(PWD), MFA, []) == Requirement(MFA)
    assert requirement(LEVELS, _client(), PWD, [MFA]) == Requirement(MFA)
    assert requirement(LEVELS, _client(), MFA, [PWD]) == Requirement(MFA)


@pytest.mark.parametrize("essential, wanted", [
    ([MFA], MFA),
    ([PWD], None),
    ([PWD, MFA], None),           # either will do: the weakest
    ([UNKNOWN, MFA], MFA),
])
def test_an_essential_acr_asks_for_the_weakest_known_level_it_names(essential, wanted):
    assert requirement(LEVELS, _client(), None, essential) == Requirement(wanted)


@pytest.mark.parametrize("client_acr, acr_values", [(None, None), (MFA, MFA), (PWD, PWD)])
def test_an_essential_acr_naming_no_known_level_cannot_be_met(client_acr, acr_values):
    assert requirement(LEVELS, _client(client_acr), acr_values, [UNKNOWN]) == Requirement(None, satisfiable=False)
    assert not requirement(LEVELS, _client(client_acr), acr_values, [UNKNOWN, "urn:x"]).satisfiable


def test_levels_come_from_the_policy():
    three = ["low", "substantial", "high"]
    assert requirement(three, _client("substantial"), "high low", []) == Requirement("substantial")
    assert requirement(three, _client(), "high", []) == Requirement("high")
    assert requirement(three, _client(), "low", ["low"]) == Requirement(None)


def test_a_registered_minimum_the_policy_no_longer_names_cannot_be_met():
    needed = requirement(LEVELS, _client(default_acr="urn:old:acr:strong"), None, [])
    assert needed.satisfiable is False
