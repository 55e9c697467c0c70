"""Storing and finding tokens by digest; revoking a whole family on replay."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from authlib.oauth2.rfc6749 import OAuth2Request
from flask import current_app
from sqlalchemy import CursorResult, update
from sqlalchemy.orm import InstrumentedAttribute

from .. import audit
from ..clock import now
from ..config import OIDCConfig
from ..digests import digest
from ..extensions import db
from ..models import AuthorizationCode, Token


def new_family() -> str:
    return str(uuid.uuid4())


def save_token(token: dict[str, Any], request: OAuth2Request) -> Token:
    """Authlib's ``save_token``: store digests, never the tokens themselves."""
    settings: OIDCConfig = current_app.config["IDP"].oidc
    moment = now()
    code: AuthorizationCode | None = request.authorization_code
    parent: Token | None = request.refresh_token
    source = code or parent
    record = Token(
        family_id=source.family_id if source else new_family(),
        client_id=request.client.client_id,
        account_id=request.user.id if request.user is not None else None,
        access_digest=digest(token["access_token"]),
        scope=token.get("scope", ""),
        issued_at=moment,
        access_expires_at=moment + settings.access_token_lifetime,
    )
    record.provenance = source.provenance if source else None
    if token.get("refresh_token"):
        record.refresh_digest = digest(token["refresh_token"])
        # Rotation keeps the family's original deadline: refreshing never extends it.
        record.refresh_expires_at = (
            parent.refresh_expires_at if parent else moment + settings.refresh_token_lifetime
        )
    db.session.add(record)
    db.session.flush()
    request.saved_token = record
    return record


def find_by_access_token(value: str) -> Token | None:
    return db.session.execute(
        db.select(Token).filter_by(access_digest=digest(value))
    ).scalar_one_or_none()


def find_by_refresh_token(value: str) -> Token | None:
    return db.session.execute(
        db.select(Token).filter_by(refresh_digest=digest(value))
    ).scalar_one_or_none()


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
