"""`idp keys`: signing keys rotated and listed from the shell (:mod:`idp.cli.keys`)."""

from tests.unit.support import json_output as _json


def test_keys_rotate_and_list(idp):
    before = _json(idp("keys", "list", "--json"))
    assert len(before) == 1 and before[0]["signing"]
    rotated = _json(idp("keys", "rotate", "--json"))
    after = {k["kid"]: k for k in _json(idp("keys", "list", "--json"))}
    assert after[rotated["kid"]]["signing"]
    old = after[before[0]["kid"]]
    assert not old["signing"] and old["published"] and old["publish_until"]
