"""`idp clients create|update --access-token-format` and what `idp clients list` shows."""

import json


def _clients(idp) -> dict[str, dict]:
    return {c["client_id"]: c for c in json.loads(idp("clients", "list", "--json").output)}


def test_a_clients_access_token_format_is_set_changed_and_reset(idp):
    idp("clients", "create", "--name", "API", "--client-id", "api", "--redirect-uri", "https://rp.example/cb",
        "--access-token-format", "jwt")
    idp("clients", "create", "--name", "RP", "--client-id", "rp", "--redirect-uri", "https://rp.example/cb")
    listed = _clients(idp)
    assert listed["api"]["access_token_format"] == "jwt"
    assert listed["rp"]["access_token_format"] == "default"
    assert "jwt access tokens" in idp("clients", "list").output

    idp("clients", "update", "api", "--access-token-format", "opaque")
    idp("clients", "update", "rp", "--access-token-format", "jwt")
    listed = _clients(idp)
    assert (listed["api"]["access_token_format"], listed["rp"]["access_token_format"]) == ("opaque", "jwt")

    idp("clients", "update", "rp", "--access-token-format", "default")
    assert _clients(idp)["rp"]["access_token_format"] == "default"


def test_an_unknown_client_or_format_is_refused(idp):
    assert "no client 'nope'" in idp("clients", "update", "nope", "--access-token-format", "jwt", ok=False).output
    idp("clients", "create", "--name", "RP", "--client-id", "rp", "--redirect-uri", "https://rp.example/cb")
    refused = idp("clients", "update", "rp", "--access-token-format", "paseto", ok=False)
    assert "paseto" in refused.output


def test_revoke_tokens_says_what_it_ended_and_refuses_an_unknown_client(idp):
    idp("clients", "create", "--name", "API", "--client-id", "api", "--grant-type", "client_credentials")
    done = json.loads(idp("clients", "revoke-tokens", "api", "--json").output)
    assert done == {"client_id": "api", "tokens": 0, "codes": 0}
    assert "its own tokens issued until now are inactive" in idp("clients", "revoke-tokens", "api").output
    assert "no client 'nope'" in idp("clients", "revoke-tokens", "nope", ok=False).output
