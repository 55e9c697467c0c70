"""Which key signs at a given moment, from a process's copy of the keys (:mod:`idp.keys`)."""

from datetime import datetime, timedelta

from joserfc.jwk import KeySet

from idp.keys import PUBLISH_AHEAD, Signer, _choose

T = datetime(2026, 11, 28, 12, 0, 0)


def _signer(kid, created_at, retired_at=None):
    return Signer(kid=kid, alg="RS256", created_at=created_at, retired_at=retired_at, key_set=KeySet([]),
                  scalar="")


def test_the_first_key_of_an_instance_signs_at_once():
    assert _choose((_signer("first", T),), T).kid == "first"


def test_a_rotated_key_signs_only_once_published_long_enough_and_the_old_one_stops_then():
    hand_over = T + PUBLISH_AHEAD
    keys = (_signer("new", T), _signer("old", T - timedelta(days=30), retired_at=hand_over))  # newest first
    assert _choose(keys, T).kid == "old"
    assert _choose(keys, hand_over - timedelta(seconds=1)).kid == "old"
    assert _choose(keys, hand_over).kid == "new"


def test_a_copy_read_before_the_rotation_keeps_the_old_key_which_still_signs_until_the_hand_over():
    copy = (_signer("old", T - timedelta(days=30)),)  # read before `idp keys rotate`: not retired then
    assert _choose(copy, T + PUBLISH_AHEAD / 2).kid == "old"


def test_no_key_no_signer():
    assert _choose((), T) is None
    assert _choose((_signer("gone", T - timedelta(days=1), retired_at=T),), T) is None
