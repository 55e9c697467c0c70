"""`idp keys`: signing keys rotated and listed from the shell (:mod:`idp.cli.keys`)."""

from tests.unit.support import json_output as _json


def test_keys_rotate_and_list(idp):
    before = _json(idp("keys", "list", "--json"))
    assert len(before) == 1 and before[0]["signing"]
    rotated = _json(idp("keys", "rotate", "--json"))
    assert rotated["signs_from"] > before[0]["created_at"]
    after = {k["kid"]: k for k in _json(idp("keys", "list", "--json"))}
    # Published at once, signing once every worker serves it; the old key signs until then.
    assert after[rotated["kid"]]["published"] and not after[rotated["kid"]]["signing"]
    old = after[before[0]["kid"]]
    assert old["signing"] and old["published"] and old["publish_until"]


def test_the_old_key_stays_published_while_the_access_tokens_it_signed_live(idp, tmp_path):
    """JWT access tokens may outlive ID tokens: resource servers and introspection verify
    them with the published keys until they expire."""
    from datetime import datetime, timedelta
    with (tmp_path / "cli.yaml").open("a", encoding="utf-8") as overlay:
        overlay.write("oidc:\n  access_token_lifetime: 1h\n  id_token_lifetime: 5m\n")
    before = _json(idp("keys", "list", "--json"))
    rotated = _json(idp("keys", "rotate", "--json"))
    old = {k["kid"]: k for k in _json(idp("keys", "list", "--json"))}[before[0]["kid"]]
    hand_over = datetime.fromisoformat(rotated["signs_from"])
    assert datetime.fromisoformat(old["publish_until"]) - hand_over >= timedelta(hours=1)
