"""The upstream interface: ``start`` sends the user away, ``finish`` turns the answer
into an :class:`UpstreamIdentity` or raises :class:`UpstreamError`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class UpstreamIdentity:
    """Who the upstream says logged in. The pair (issuer, subject) names the identity."""

    issuer: str
    subject: str
    siret: str | None = None
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    amr: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class UpstreamRequest:
    """What one login needs to remember between ``start`` and ``finish``."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


class UpstreamError(Exception):
    """The upstream login failed. ``reason`` is for the audit trail, never for the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Upstream(Protocol):
    id: str
    label: str
    issuer: str

    def start(self, request: UpstreamRequest) -> str:
        """The URL to send the browser to."""

    def finish(self, params: dict[str, str], request: UpstreamRequest) -> UpstreamIdentity:
        """Validate the upstream's answer (the callback's query parameters)."""
