"""``private_key_jwt`` client authentication (OIDC Core 9, RFC 7523 2.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app, url_for
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jwt import Claims
from sqlalchemy.exc import IntegrityError

from ..clock import now
from ..extensions import db
from ..models import Client, ClientAssertionJti


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=30)

    def get_audiences(self) -> list[str]:
        issuer = current_app.config["IDP"].issuer
        return [issuer, issuer + url_for("oidc.token")]

    def resolve_client_public_key(self, client: Client) -> KeySet:
        if not client.jwks:
            raise InvalidClientError(description="The client has no registered keys.")
        # Registration validates the stored JWKS (idp.clients): its type is only ``dict`` here.
        return KeySet.import_key_set(cast(KeySetSerialization, client.jwks))

    def verify_claims(self, claims: Claims) -> None:
        super().verify_claims(claims)
        # Bound the assertion's lifetime so that the jti store stays small.
        limit = current_app.config["IDP"].oidc.client_assertion_max_lifetime
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC).replace(tzinfo=None)
        if expires - now() > limit:
            raise InvalidClientError(description="The client assertion lives too long.")

    def validate_jti(self, claims: Claims, jti: object) -> bool:
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC).replace(tzinfo=None)
        db.session.execute(
            db.delete(ClientAssertionJti).where(ClientAssertionJti.expires_at < now() - timedelta(minutes=1))
        )
        try:
            with db.session.begin_nested():
                db.session.add(ClientAssertionJti(client_id=claims["sub"], jti=str(jti), expires_at=expires))
        except IntegrityError:
            return False
        return True
