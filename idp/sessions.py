"""Single sign-on sessions, kept server-side and named by a ``__Host-`` cookie."""

from __future__ import annotations

from flask import Response, current_app, g

from . import audit
from .clock import epoch, now
from .digests import digest, new_secret
from .extensions import db
from .models import Account, LoginSession
from .provenance import LoginMethod, Provenance
from .web import SESSION_COOKIE, clear_cookie, read_cookie, set_cookie


def current_session() -> LoginSession | None:
    """The active session of this browser, if any (cached for the request)."""
    if "login_session" not in g:
        g.login_session = None
        value = read_cookie(SESSION_COOKIE)
        if value:
            found = db.session.execute(
                db.select(LoginSession).filter_by(digest=digest(value))
            ).scalar_one_or_none()
            if found is not None and found.is_active():
                g.login_session = found
    return g.login_session


def start_session(account: Account, *, acr: str, amr: list[str], login_method: LoginMethod,
                  establishment: str | None = None, client_id: str | None = None) -> LoginSession:
    """Open a new session for ``account`` with the provenance of this login. Any previous
    session of this browser ends: the session id is always rotated at login."""
    previous = current_session()
    if previous is not None:
        previous.ended_at = now()
    value = new_secret()
    moment = now()
    session = LoginSession(
        digest=digest(value),
        sid=new_secret(16),
        account=account,
        created_at=moment,
        expires_at=moment + current_app.config["IDP"].session.lifetime,
    )
    session.provenance = Provenance(auth_time=epoch(moment), acr=acr, amr=tuple(amr),
                                    login_method=login_method, sid=session.sid, establishment=establishment)
    db.session.add(session)
    account.last_login_at = moment
    audit.record("session.start", account_id=account.id, client_id=client_id, amr=amr, acr=acr)
    g.login_session = session
    g.new_session_cookie = value
    return session


def end_session(session: LoginSession | None) -> None:
    if session is not None and session.ended_at is None:
        session.ended_at = now()
        audit.record("session.end", account_id=session.account_id, sid=session.sid)
    g.login_session = None
    g.clear_session_cookie = True


def write_cookie(response: Response) -> Response:
    if g.get("new_session_cookie"):
        lifetime = current_app.config["IDP"].session.lifetime
        set_cookie(response, SESSION_COOKIE, g.new_session_cookie, int(lifetime.total_seconds()))
    elif g.get("clear_session_cookie"):
        clear_cookie(response, SESSION_COOKIE)
    return response
