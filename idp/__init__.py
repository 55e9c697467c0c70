"""A standalone OpenID Connect identity provider with phone-based MFA.

Importing a subpackage (``idp.policy`` above all) must not load Flask: the application
factory lives in :mod:`idp.app` and is only imported when ``create_app`` is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'idp' has no attribute {name!r}")
