"""Revocation (RFC 7009), introspection (RFC 7662) and the UserInfo bearer check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint as _Revocation
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _Introspection
from flask import current_app

from ..clock import epoch, now
from ..delegations import membership
from ..models import Client, Token
from . import tokens
from .grants import ALL_METHODS, CONFIDENTIAL_METHODS


def _query(token_string: str, hint: str | None) -> Token | tokens.OwnToken | None:
    finders = [
        ("access_token", tokens.find_by_access_token),
        ("refresh_token", tokens.find_by_refresh_token),
    ]
    if hint == "refresh_token":
        finders.reverse()
    for kind, finder in finders:
        record = finder(token_string)
        if record is not None:
            record.matched_as = kind
            return record
    return None


class RevocationEndpoint(_Revocation):
    CLIENT_AUTH_METHODS = ALL_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | tokens.OwnToken | None:
        return _query(token_string, token_type_hint)

    def authenticate_token(self, request: OAuth2Request, client: Client) -> Token | tokens.OwnToken | None:
        # RFC 7009 2.1: a token of another client is left alone, and the answer is 200.
        self.check_params(request, client)
        record = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        return record if record is not None and record.check_client(client) else None

    def revoke_token(self, token: Token | tokens.OwnToken, request: OAuth2Request) -> None:
        if isinstance(token, tokens.OwnToken):
            token.revoke()
        elif token.matched_as == "refresh_token":
            # RFC 7009 2.1: revoking a refresh token revokes the grant's access tokens too.
            tokens.revoke_family(token.family_id, "refresh token revoked", token.client_id)
        else:
            # The access token alone ends now; the grant's refresh token stays usable.
            token.access_expires_at = min(token.access_expires_at, now())


class IntrospectionEndpoint(_Introspection):
    # Public clients cannot keep a secret, so they may not introspect.
    CLIENT_AUTH_METHODS = CONFIDENTIAL_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | tokens.OwnToken | None:
        return _query(token_string, token_type_hint)

    def check_permission(self, token: Token | tokens.OwnToken, client: Client, request: OAuth2Request) -> bool:
        # Resource servers introspect with their own credentials: any confidential client.
        return True

    def create_introspection_payload(self, token: Token | tokens.OwnToken | None) -> dict[str, Any]:
        if token is None or token.revoked_at is not None:
            return {"active": False}
        if token.matched_as == "refresh_token":
            if not token.refresh_is_usable():
                return {"active": False}
            expires_at = token.refresh_expires_at
        else:
            if token.is_expired():
                return {"active": False}
            expires_at = token.access_expires_at
        return self.introspect_token(token, expires_at)

    def introspect_token(self, token: Token | tokens.OwnToken, expires_at: datetime | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "active": True,
            "iss": current_app.config["IDP"].issuer,
            "client_id": token.client_id,
            "aud": token.client_id,
            "scope": token.scope,
            "token_type": "Bearer" if token.matched_as == "access_token" else "refresh_token",
            "iat": epoch(token.issued_at),
            "exp": epoch(expires_at or token.access_expires_at),
        }
        if token.account is not None:
            payload.update(sub=token.account.subject, username=token.account.identifier)
            if "peps" in token.scope.split():
                # The account's rights today, in the establishment it acts for: a resource
                # server checks that its own service is one of them.
                acting = membership(token.account, token.provenance.establishment if token.provenance else None)
                payload["peps_services"] = list(acting.services) if acting else []
        provenance = token.provenance
        if provenance is not None:
            payload.update(auth_time=provenance.auth_time, acr=provenance.acr, amr=list(provenance.amr))
        return payload


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> Token | tokens.OwnToken | None:
        return tokens.find_by_access_token(token_string)
