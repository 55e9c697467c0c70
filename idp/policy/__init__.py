"""The MFA policy: loaded from YAML, validated, and kept out of the code."""

from flask import current_app

from .loader import Policy, PolicyError, load_policy

__all__ = ["Policy", "PolicyError", "current_policy", "load_policy"]


def current_policy() -> Policy:
    """The policy in force for this application."""
    return current_app.extensions["idp.policy"]
