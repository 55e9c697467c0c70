"""Storing and finding tokens by digest; revoking a whole family on replay.

A token request costs one read of the client (with its service), one INSERT of the token
and, for a refresh, one read of the token with its account and rights and one UPDATE
that consumes it; the signing key comes from the process's copy (:mod:`idp.keys`). A
plain client_credentials or refresh request never gets here: :mod:`.fast_tokens` answers it
in two or three statements outside a transaction.

Durability: every token is committed synchronously (PostgreSQL's default). Decided with
figures (2026-11-28, the 2-core machine, gunicorn with 4 workers on PostgreSQL 15, wrk
16 connections, 3 interleaved 5 s rounds, medians): ``SET LOCAL synchronous_commit = off``
on the token transaction gave 235 against 233 client_credentials/s and 150 against 139
refreshes/s, within the spread of the rounds, because the two cores are the limit and
PostgreSQL already flushes concurrent commits together; one commit alone took 0.18-0.30 ms
against 0.33-0.38 ms (0.3 against 4 ms while another job kept the disk busy). What it
would risk: PostgreSQL crashing within about 0.6 s (3 x ``wal_writer_delay``) of the answer
loses the transaction. For client_credentials that only makes the client ask again, but a
lost refresh rotation brings the consumed refresh token back and loses the new one (the
client is logged out, and a stolen copy of the old token is accepted once instead of
revoking the family), and a lost code redemption makes the code redeemable again. A
fraction of a millisecond is not worth either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from authlib.oauth2.rfc6749 import OAuth2Request
from flask import current_app
from sqlalchemy import CursorResult, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from .. import audit, keys, metrics
from ..clock import epoch, now
from ..config import Settings
from ..digests import digest
from ..extensions import db
from ..models import Account, AuthorizationCode, Client, RevokedAccessToken, Token
from ..models.oauth import AccessTokenMethods
from . import access_tokens

# Statements built once: each request only binds its values.
_INSERT = insert(Token)
_BY_ACCESS_DIGEST = (
    db.select(Token).options(joinedload(Token.account)).where(Token.access_digest == bindparam("digest"))
)
_BY_REFRESH_DIGEST = (
    db.select(Token)
    .options(joinedload(Token.account).joinedload(Account.rights))
    .where(Token.refresh_digest == bindparam("digest"))
)


def new_family() -> str:
    return str(uuid.uuid4())


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    """Authlib's ``save_token``: store digests, never the tokens themselves.

    A JWT access token (:mod:`.access_tokens`) replaces the random one here, before the
    response and the ID token's ``at_hash`` are made from ``token``. One INSERT, without
    the ORM's unit of work: nothing reads the row back in this request. A client's own
    token (client_credentials) is stored nowhere (:func:`.access_tokens.for_itself`)."""
    settings: Settings = current_app.config["IDP"]
    moment = now()
    code: AuthorizationCode | None = request.authorization_code
    parent: Token | None = request.refresh_token
    source = code or parent
    client: Client = request.client
    account: Account | None = request.user
    expires = moment + settings.oidc.access_token_lifetime
    scope = token.get("scope") or ""
    if account is None and not token.get("refresh_token"):
        token["access_token"] = access_tokens.for_itself(client.access_token_format, client_id=client.client_id,
                                                         scope=scope, issued=moment)
        metrics.count_token(request.payload.grant_type)
        return
    signed = access_tokens.for_client(
        client.access_token_format, client_id=client.client_id,
        subject=account.subject if account is not None else client.client_id, scope=scope, issued=moment,
        provenance=source.provenance if source else None,
    )
    if signed is not None:
        token["access_token"] = signed
    values: dict[str, Any] = {
        "family_id": source.family_id if source else new_family(),
        "client_id": client.client_id,
        "account_id": account.id if account is not None else None,
        "access_digest": digest(token["access_token"]),
        "scope": scope,
        "issued_at": moment,
        "access_expires_at": expires,
        "provenance_json": source.provenance_json if source else None,
    }
    if token.get("refresh_token"):
        values["refresh_digest"] = digest(token["refresh_token"])
        # Rotation keeps the family's original deadline: refreshing never extends it.
        values["refresh_expires_at"] = (
            parent.refresh_expires_at if parent else moment + settings.oidc.refresh_token_lifetime
        )
    db.session.execute(_INSERT, [values])
    metrics.count_token(request.payload.grant_type)


@dataclass
class OwnToken(AccessTokenMethods):
    """A client's own access token, JWT or sealed, read from itself (it has no row: see
    :mod:`.access_tokens`), with what introspection, revocation and UserInfo ask of a
    :class:`~idp.models.Token`."""

    jti: str
    client_id: str
    scope: str
    issued_at: datetime
    access_expires_at: datetime
    revoked_at: datetime | None
    account: None = None
    provenance: None = None
    refresh_expires_at: None = None
    matched_as: str = "access_token"

    def get_user(self) -> None:
        return None

    def refresh_is_usable(self) -> bool:
        return False

    def revoke(self) -> None:
        """Remembered until the token would have expired (``idp purge`` drops it a day
        later). Two revocations at once both succeed: the second inserts nothing."""
        if self.revoked_at is not None:
            return
        self.revoked_at = now()
        dialect = db.session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(RevokedAccessToken)
        db.session.execute(statement.values(
            jti=self.jti, client_id=self.client_id, expires_at=self.access_expires_at, revoked_at=self.revoked_at,
        ).on_conflict_do_nothing(index_elements=["jti"]))


def find_by_access_token(value: str) -> Token | OwnToken | None:
    """The token and its account in one query (UserInfo and introspection read both); a
    client's own token, which has no row, read from itself and checked in one query."""
    if access_tokens.SEALED not in value:  # a sealed token has no row to look for
        found: Token | None = db.session.execute(_BY_ACCESS_DIGEST, {"digest": digest(value)}).scalar_one_or_none()
        if found is not None:
            return found
    return _own_token(value)


# A client's own token is good while its client is registered and it is not revoked,
# alone or with all the client's tokens (`idp clients revoke-tokens`).
_CLIENT_AND_REVOCATION = (
    db.select(Client.tokens_revoked_at, RevokedAccessToken.revoked_at)
    .select_from(Client)
    .outerjoin(RevokedAccessToken, RevokedAccessToken.jti == bindparam("jti"))
    .where(Client.client_id == bindparam("client_id"))
)


def _own_token(value: str) -> OwnToken | None:
    settings: Settings = current_app.config["IDP"]
    claims = access_tokens.read_own(value, keys.published_signers(), settings.issuer, now())
    if claims is None:
        return None
    client_id = claims["client_id"]
    client = db.session.execute(_CLIENT_AND_REVOCATION, {"jti": claims["jti"], "client_id": client_id}).first()
    if client is None:
        return None  # its client is gone
    revoked_at = client.revoked_at
    if client.tokens_revoked_at is not None and claims["iat"] <= epoch(client.tokens_revoked_at):
        revoked_at = revoked_at or client.tokens_revoked_at  # issued up to that second
    return OwnToken(jti=claims["jti"], client_id=client_id, scope=claims.get("scope", ""),
                    issued_at=datetime.fromtimestamp(claims["iat"], UTC).replace(tzinfo=None),
                    access_expires_at=datetime.fromtimestamp(claims["exp"], UTC).replace(tzinfo=None),
                    revoked_at=revoked_at)


def find_by_refresh_token(value: str) -> Token | None:
    """The token, its account and the account's rights in one query: a refresh checks
    that the account is still usable and entitled to the client's service."""
    return db.session.execute(_BY_REFRESH_DIGEST, {"digest": digest(value)}).unique().scalar_one_or_none()


def revoke_family(family_id: str, reason: str, client_id: str | None = None) -> int:
    """Revoke every token of a family; commit so the revocation survives the error."""
    moment = now()
    # An UPDATE gives a CursorResult, which has the row count: Session.execute says Result.
    result = cast(CursorResult[Any], db.session.execute(
        update(Token)
        .where(Token.family_id == family_id, Token.revoked_at.is_(None))
        .values(revoked_at=moment)
    ))
    audit.record("token.family_revoked", client_id=client_id, family=family_id, reason=reason)
    db.session.commit()
    return result.rowcount


def claim_once(
    column: InstrumentedAttribute[datetime | None], row_id: int, model: type[AuthorizationCode] | type[Token]
) -> bool:
    """Atomically set ``column`` to now on row ``row_id`` if it is still empty.

    Returns False when another request got there first: exact under concurrency."""
    result = cast(CursorResult[Any], db.session.execute(
        update(model).where(model.id == row_id, column.is_(None)).values({column: now()})
    ))
    return result.rowcount == 1
