"""Signing keys from the shell."""

from __future__ import annotations

from ..extensions import db
from . import emit, json_option, main, with_app


@main.group("keys")
def keys_group() -> None:
    """Signing keys."""


@keys_group.command("rotate")
@json_option
@with_app
def keys_rotate(as_json: bool) -> None:
    """Publish a new key (it signs twice the JWKS refresh time later: 2 minutes by default);
    the old one stays published until its tokens expire."""
    from flask import current_app

    from .. import keys

    settings = current_app.config["IDP"].oidc
    # The old key stays published as long as anything it signed may be presented: ID
    # tokens, and JWT access tokens, which resource servers and introspection verify.
    key = keys.rotate(settings.signing_alg, settings.rsa_key_size,
                      max(settings.id_token_lifetime, settings.access_token_lifetime))
    db.session.flush()
    start = keys.signs_from(key)
    emit(as_json, {"kid": key.kid, "alg": key.alg, "signs_from": start.isoformat()},
         f"Published {key.kid} ({key.alg}); it signs from {start.isoformat(timespec='seconds')} UTC, "
         "when every worker serves it.")


@keys_group.command("list")
@json_option
@with_app
def keys_list(as_json: bool) -> None:
    from .. import keys
    from ..models import SigningKey

    published = {k.kid for k in keys.published_keys()}
    current = keys.current_key()
    rows = [
        {
            "kid": k.kid,
            "alg": k.alg,
            "created_at": k.created_at.isoformat(),
            "signing": current is not None and k.kid == current.kid,
            "published": k.kid in published,
            "publish_until": k.publish_until.isoformat() if k.publish_until else None,
        }
        for k in db.session.execute(db.select(SigningKey).order_by(SigningKey.created_at)).scalars()
    ]
    text = "\n".join(
        f"{r['kid']}  {r['alg']}  {'signing' if r['signing'] else 'retired'}"
        f"{'' if r['published'] else ' (unpublished)'}"
        for r in rows
    )
    emit(as_json, rows, text or "No keys.")
