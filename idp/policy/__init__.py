"""The MFA policy: YAML reviewed by a security team, a pure engine that applies it."""

from flask import current_app

from .engine import Context, Decision, evaluate
from .loader import PolicyError, load_policy
from .model import Policy
from .store import PolicyStore

__all__ = [
    "Context", "Decision", "Policy", "PolicyError", "PolicyStore", "current_policy", "evaluate",
    "load_policy",
]


def current_policy() -> Policy:
    """The policy in force for this application (reloaded when its file changes)."""
    return current_app.extensions["idp.policy"].current()
