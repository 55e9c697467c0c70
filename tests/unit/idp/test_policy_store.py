"""The policy in force for the running application (:mod:`idp.policy_store`)."""

from idp.policy_store import PolicyStore
from tests.unit.support import DEFAULT_POLICY as DEFAULT


def test_edits_are_picked_up_and_a_bad_edit_never_weakens_the_policy(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    store = PolicyStore(path)
    assert store.current().lockout.local.max_failures == 5

    path.write_text(path.read_text().replace("max_failures: 5      # password", "max_failures: 3      # password"))
    assert store.current().lockout.local.max_failures == 3

    path.write_text(path.read_text().replace("max_failures: 3      # password", "max_failures: none   # password"))
    assert store.current().lockout.local.max_failures == 3  # the last valid policy holds
    assert store.last_error is not None and store.last_error.key == "lockout.local.max_failures"

    path.unlink()
    assert store.current().lockout.local.max_failures == 3
