"""The policy package is pure: no web framework, no database (:mod:`idp.policy`)."""

import subprocess
import sys

from tests.unit.support import ROOT

PROBE = """
import sys
import idp.policy.engine, idp.policy.loader, idp.policy.scenarios
print("loaded:", *sorted(m for m in ("flask", "sqlalchemy", "werkzeug") if m in sys.modules))
"""


def test_importing_the_policy_loads_neither_flask_nor_sqlalchemy_nor_werkzeug():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded:"
