"""OAuth 2.0 / OpenID Connect records: clients, codes, tokens, signing keys.

Codes, tokens and client secrets are stored as SHA-256 digests only (see ``idp.digests``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..digests import matches
from ..extensions import db
from .accounts import Account, Service
from .provenance import CarriesProvenance

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
ACCESS_TOKEN_FORMATS = ("opaque", "jwt")  # jwt: RFC 9068, signed like ID tokens


def allowed_scope(registered: str, requested: str | None) -> str:
    """The requested scopes the client is registered for, in the request's order, once
    each; nothing when nothing was asked."""
    if not requested:
        return ""
    allowed = set(registered.split())
    return " ".join(s for s in dict.fromkeys(requested.split()) if s in allowed)


class Client(db.Model):
    """A relying application, implementing Authlib's client interface."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="openid")
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    default_acr: Mapped[str | None] = mapped_column(String(128))
    # "opaque" or "jwt" for this client; None follows oidc.access_token_format.
    access_token_format: Mapped[str | None] = mapped_column(String(8))
    # `idp clients revoke-tokens`: its own tokens (stored nowhere) issued up to then are void.
    tokens_revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    service: Mapped[Service | None] = relationship()

    # Authlib ClientMixin
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Exact matching: a request without redirect_uri is accepted only when a single
        # URI is registered (OIDC Core 3.1.2.1 requires redirect_uri anyway).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return allowed_scope(self.scope, scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return matches(client_secret, self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(CarriesProvenance, db.Model):
    """A code, its PKCE challenge and the provenance of the session that issued it."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account] = relationship()

    # Authlib AuthorizationCodeMixin
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope



class _AccessToken(Protocol):
    client_id: str
    scope: str
    access_expires_at: datetime
    revoked_at: datetime | None


class AccessTokenMethods:
    """What Authlib's TokenMixin asks of an access token, for a stored :class:`Token` and
    for a client's own token read from itself (:class:`idp.oidc.tokens.OwnToken`)."""

    def check_client(self: _AccessToken, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self: _AccessToken) -> str:
        return self.scope

    def get_expires_in(self: _AccessToken) -> int:
        return max(0, int((self.access_expires_at - now()).total_seconds()))

    def is_expired(self: _AccessToken) -> bool:
        return self.access_expires_at <= now()

    def is_revoked(self: _AccessToken) -> bool:
        return self.revoked_at is not None


class Token(AccessTokenMethods, CarriesProvenance, db.Model):
    """An access token and, optionally, its refresh token.

    Tokens descending from one authorization code share a ``family_id``: replaying a code
    or a rotated refresh token revokes the whole family. A user's tokens carry the
    provenance of their code; client_credentials tokens carry none.
    """

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    access_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    access_expires_at: Mapped[datetime] = mapped_column(DateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    refresh_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account | None] = relationship()

    def get_user(self) -> Account | None:
        return self.account

    def get_client(self) -> Client | None:
        return db.session.execute(
            db.select(Client).filter_by(client_id=self.client_id)
        ).scalar_one_or_none()

    def refresh_is_usable(self) -> bool:
        return (
            self.refresh_digest is not None
            and self.revoked_at is None
            and self.refresh_used_at is None
            and self.refresh_expires_at is not None
            and self.refresh_expires_at > now()
        )


class SigningKey(db.Model):
    """A private signing key. The newest key not retired signs; retired keys stay
    published in the JWKS until ``publish_until`` so that what they signed still verifies."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime)
    publish_until: Mapped[datetime | None] = mapped_column(DateTime)


class RevokedAccessToken(db.Model):
    """A client's own access token (client_credentials), JWT or sealed, revoked before it
    expired.

    Such a token is stored nowhere else: what it carries, signed or sealed, is all that
    introspection needs (:mod:`idp.oidc.access_tokens`), and only a revocation must be
    remembered, until the token would have expired anyway."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime, default=now)


class ClientAssertionJti(db.Model):
    """Seen ``jti`` values of client assertions, for replay protection (RFC 7523 3)."""

    __tablename__ = "client_assertion_jtis"
    __table_args__ = (UniqueConstraint("client_id", "jti"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
