"""The MFA policy: YAML reviewed by a security team, a pure engine that applies it.

Nothing under this package imports Flask, SQLAlchemy or reads anything but the file it
is given: the running application holds the policy in force (:mod:`idp.policy_store`).
"""

from .engine import Context, Decision, evaluate
from .loader import PolicyError, load_policy
from .model import Policy

__all__ = ["Context", "Decision", "Policy", "PolicyError", "evaluate", "load_policy"]
