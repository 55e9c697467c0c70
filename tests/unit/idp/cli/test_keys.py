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
