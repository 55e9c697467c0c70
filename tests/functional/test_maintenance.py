"""``idp purge`` removes what expired long ago and keeps what is still alive."""

from datetime import timedelta

from idp import maintenance
from idp.clock import now
from idp.extensions import db
from idp.models import AuditEvent, LoginFlow, LoginSession, OneTimeCode, RateLimitHit, Token
from idp.policy_store import current_policy


def test_purge_keeps_live_rows_and_removes_old_ones(actors, app):
    identifier = actors.account()
    client_id, secret = actors.client()
    actors.tokens_for(client_id, secret, identifier)
    with app.app_context():
        live = {model.__tablename__: db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()
                for model in (Token, LoginSession, RateLimitHit)}
        assert all(live.values())
        counts = maintenance.purge(current_policy())
        assert counts["tokens"] == 0 and counts["login_sessions"] == 0 and counts["rate_limit_hits"] == 0

        long_ago = now() - timedelta(days=3)
        for token in db.session.execute(db.select(Token)).scalars():
            token.access_expires_at = token.refresh_expires_at = long_ago
        for session in db.session.execute(db.select(LoginSession)).scalars():
            session.expires_at = long_ago
        for event in db.session.execute(db.select(RateLimitHit)).scalars():
            event.at = long_ago
        for code in db.session.execute(db.select(OneTimeCode)).scalars():
            code.expires_at = long_ago
        for flow in db.session.execute(db.select(LoginFlow)).scalars():
            flow.expires_at = long_ago
        db.session.commit()
        counts = maintenance.purge(current_policy())
        assert counts["tokens"] == live["tokens"]
        assert counts["login_sessions"] == live["login_sessions"]
        assert counts["rate_limit_hits"] == live["rate_limit_hits"]
        assert db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar_one() > 0


def test_purge_forgets_a_revoked_client_jwt_a_day_after_it_would_have_expired(app):
    from idp.models import RevokedAccessToken
    with app.app_context():
        db.session.add_all([
            RevokedAccessToken(jti="expired", client_id="c", expires_at=now() - timedelta(days=1, seconds=1)),
            RevokedAccessToken(jti="lately", client_id="c", expires_at=now() - timedelta(seconds=1)),
            RevokedAccessToken(jti="alive", client_id="c", expires_at=now() + timedelta(minutes=5)),
        ])
        db.session.commit()
        assert maintenance.purge(current_policy())["revoked_access_tokens"] == 1
        assert sorted(db.session.execute(db.select(RevokedAccessToken.jti)).scalars()) == ["alive", "lately"]
