"""Browser-facing plumbing: cookies, CSRF protection and security headers."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, current_app, g, request
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.wrappers import Response as BaseResponse

from .digests import digest, new_secret
from .i18n import get_locale, local_date, local_time, translate
from .phones import readable

BROWSER_COOKIE = "__Host-idp-browser"
SESSION_COOKIE = "__Host-idp-session"
CSRF_FIELD = "csrf_token"


def plain_http_development(issuer: str, environment: str) -> bool:
    """Development served over plain http on an address other than loopback (a LAN).

    Browsers drop ``Secure`` cookies there (loopback and https are secure contexts), so
    every form would say it expired. Only then are cookies sent without ``Secure`` and
    without the ``__Host-`` prefix it requires; production refuses an http issuer."""
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("localhost", "::1") or (parts.hostname or "").startswith("127.")
    return environment == "development" and parts.scheme == "http" and not loopback


def _secure() -> bool:
    return not current_app.config["IDP_PLAIN_HTTP_COOKIES"]


def cookie_name(name: str) -> str:
    return name if _secure() else name.removeprefix("__Host-")


def read_cookie(name: str) -> str | None:
    return request.cookies.get(cookie_name(name))


def set_cookie(response: BaseResponse, name: str, value: str, max_age: int | None = None) -> None:
    """``__Host-`` cookies: Secure, Path=/, no Domain; HttpOnly and SameSite=Lax."""
    response.set_cookie(
        cookie_name(name), value, max_age=max_age, path="/", secure=_secure(), httponly=True, samesite="Lax"
    )


def clear_cookie(response: BaseResponse, name: str) -> None:
    response.delete_cookie(cookie_name(name), path="/", secure=_secure(), httponly=True, samesite="Lax")


def browser_id() -> str:
    """A random id for this browser, created on first use and sent back as a cookie."""
    if "browser_id" not in g:
        value = read_cookie(BROWSER_COOKIE)
        if not value or len(value) > 128:
            value = new_secret()
            g.new_browser_id = True
        g.browser_id = value
    return g.browser_id


def browser_digest() -> str:
    return digest(browser_id())


def csrf_token() -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"csrf:{browser_id()}".encode(), "sha256").hexdigest()


def check_csrf() -> None:
    # Compared as bytes: compare_digest refuses non-ASCII text, and a forged field may be anything.
    sent = request.form.get(CSRF_FIELD, "").encode("utf-8", "replace")
    if not read_cookie(BROWSER_COOKIE) or not hmac.compare_digest(sent, csrf_token().encode()):
        abort(400, description="csrf")


def allow_form_target(url: str) -> None:
    """Let this page's forms lead (through redirects) to ``url``'s origin."""
    parts = urlsplit(url)
    g.form_targets = [*g.get("form_targets", []), f"{parts.scheme}://{parts.netloc}"]


def application_home(client: Any) -> str | None:
    """Where a page sends a person back to the application that sent them here: the origin
    of its first registered redirect URI (clients register no home page). None for the
    provider's own console, or an address that is not http(s): the page then offers
    "Mon compte"."""
    uris = getattr(client, "redirect_uris", None) or []
    parts = urlsplit(uris[0]) if uris else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    issuer = urlsplit(current_app.config["IDP"].issuer)
    if (parts.scheme, parts.netloc) == (issuer.scheme, issuer.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def security_headers(issuer: str, form_targets: list[str] | None = None) -> list[tuple[str, str]]:
    """The headers every answer carries (pages add ``Cache-Control: no-store``)."""
    form_action = " ".join(["'self'", *(form_targets or [])])
    headers = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; "
                                    f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if issuer.startswith("https://"):
        headers.append(("Strict-Transport-Security", "max-age=63072000"))
    return headers


def _security_headers(response: Response) -> Response:
    for name, value in security_headers(current_app.config["IDP"].issuer, g.get("form_targets")):
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    if g.get("new_browser_id"):
        set_cookie(response, BROWSER_COOKIE, g.browser_id, max_age=400 * 86400)
    return response


class _NoCookieSession(SessionInterface):
    """The provider keeps nothing in Flask's signed-cookie session: its own cookies are
    the browser id, the session id and the trusted-device list above. Not opening one
    saves building a signer on every request, and any use of ``flask.session`` gets
    Flask's null session, which refuses to be written."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None

    def save_session(self, app: Flask, session: SessionMixin, response: BaseResponse) -> None:
        return None


def init_app(app: Flask) -> None:
    app.session_interface = _NoCookieSession()
    settings = app.config["IDP"]
    app.config["IDP_PLAIN_HTTP_COOKIES"] = plain_http_development(settings.issuer, settings.environment)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD
    app.jinja_env.globals["_"] = translate
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["application_home"] = application_home
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["phone"] = readable
