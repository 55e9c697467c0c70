"""Grants: authorization code (+ PKCE S256 for every client), refresh token with
rotation and replay detection (RFC 9700 2.2.2, 4.14), client credentials."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy.orm import joinedload

from .. import audit
from ..clock import now
from ..delegations import has_right
from ..digests import digest
from ..extensions import db
from ..models import Account, AuthorizationCode, Client, Token
from ..provenance import Provenance
from . import id_token, tokens

CONFIDENTIAL_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
ALL_METHODS = [*CONFIDENTIAL_METHODS, "none"]

# What Authlib's grants answer at the token endpoint: status, body, headers.
TokenResponse = tuple[int, dict[str, Any], list[tuple[str, str]]]


class S256Required(CodeChallenge):
    """PKCE for every client, public or confidential (RFC 9700 2.1.1), S256 only."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: str | None) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge' with method S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only 'code_challenge_method=S256' is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: grants.AuthorizationCodeGrant, result: object) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


def _usable_account(account: Account | None, client: Client, provenance: Provenance | None) -> Account | None:
    """The account, if it may still log in and still has the right to the client's service
    in the establishment it acts for (its own, or one that delegated to it).

    ``account`` comes from the code's or the token's relationship, so that the second
    check of a request (Authlib asks twice) finds it, and its rights, already loaded."""
    if account is None or not account.is_usable(now().date()):
        return None
    establishment = provenance.establishment if provenance is not None else None
    return account if has_right(account, client.service, establishment) else None


# The code, its account and the account's rights in one query (authenticate_user reads
# them), built once.
_CODE_BY_DIGEST = (
    db.select(AuthorizationCode)
    .options(joinedload(AuthorizationCode.account).joinedload(Account.rights))
    .where(AuthorizationCode.code_digest == bindparam("digest"))
)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> AuthorizationCode:
        data = request.payload.data
        issued = now()
        record = AuthorizationCode(
            code_digest=digest(code),
            family_id=tokens.new_family(),
            client_id=request.client.client_id,
            account_id=request.user.id,
            redirect_uri=request.payload.redirect_uri or request.client.get_default_redirect_uri(),
            scope=request.scope,
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            issued_at=issued,
            expires_at=issued + current_app.config["IDP"].oidc.authorization_code_lifetime,
        )
        record.provenance = request.provenance
        db.session.add(record)
        return record

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        record: AuthorizationCode | None = db.session.execute(
            _CODE_BY_DIGEST, {"digest": digest(code)}
        ).unique().scalar_one_or_none()
        if record is None or record.client_id != client.client_id:
            return None
        if record.used_at is not None:
            # RFC 6749 4.1.2: a code used twice revokes what it issued.
            audit.record("code.replayed", account_id=record.account_id, client_id=client.client_id)
            tokens.revoke_family(record.family_id, "authorization code replayed", client.client_id)
            return None
        if record.expires_at <= now():
            return None
        return record

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        if not tokens.claim_once(AuthorizationCode.used_at, authorization_code.id, AuthorizationCode):
            # Another request redeemed this code at the same moment: treat as a replay.
            db.session.rollback()
            tokens.revoke_family(authorization_code.family_id, "concurrent code redemption")
            raise InvalidGrantError("Invalid 'code' in request.")

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return _usable_account(authorization_code.account, self.request.client, authorization_code.provenance)


class OpenIDConnectCode(OpenIDCode):
    """ID tokens from this IdP's own builder, so that refresh can issue the same."""

    def __init__(self) -> None:
        super().__init__(require_nonce=False)

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        # Nonces are the client's replay protection; each is bound to one code.
        return False

    def process_token(self, grant: AuthorizationCodeGrant, response: TokenResponse) -> dict[str, Any]:
        _, token, _ = response
        code: AuthorizationCode = grant.request.authorization_code
        id_token.add_to_response(token, grant.request, code.provenance, nonce=code.nonce)
        return token


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        record = tokens.find_by_refresh_token(refresh_token)
        if record is None:
            return None
        if record.refresh_used_at is not None and record.revoked_at is None:
            # A rotated refresh token came back: someone holds a stolen copy.
            audit.record("refresh.replayed", account_id=record.account_id, client_id=record.client_id)
            tokens.revoke_family(record.family_id, "refresh token replayed", record.client_id)
            return None
        if not record.refresh_is_usable():
            return None
        # A locked, expired or no longer entitled account makes the grant invalid.
        if _usable_account(record.account, self.request.client, record.provenance) is None:
            return None
        return record

    def authenticate_user(self, refresh_token: Token) -> Account | None:
        return _usable_account(refresh_token.account, self.request.client, refresh_token.provenance)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if not tokens.claim_once(Token.refresh_used_at, refresh_token.id, Token):
            db.session.rollback()
            tokens.revoke_family(refresh_token.family_id, "concurrent refresh")
            raise InvalidGrantError()

    def create_token_response(self) -> TokenResponse:
        status, token, headers = super().create_token_response()
        # OIDC Core 12.2: the new ID token keeps the original auth_time, acr and amr.
        id_token.add_to_response(token, self.request, self.request.refresh_token.provenance)
        return status, token, headers


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_METHODS
