"""Browser-facing plumbing: cookies, CSRF protection and security headers."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, request

from .digests import digest, new_secret
from .i18n import get_locale, local_time, translate

BROWSER_COOKIE = "__Host-idp-browser"
SESSION_COOKIE = "__Host-idp-session"
CSRF_FIELD = "csrf_token"


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    """``__Host-`` cookies: Secure, Path=/, no Domain; HttpOnly and SameSite=Lax."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="Lax"
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="Lax")


def browser_id() -> str:
    """A random id for this browser, created on first use and sent back as a cookie."""
    if "browser_id" not in g:
        value = request.cookies.get(BROWSER_COOKIE)
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
    if not request.cookies.get(BROWSER_COOKIE) or not hmac.compare_digest(sent, csrf_token().encode()):
        abort(400, description="csrf")


def allow_form_target(url: str) -> None:
    """Let this page's forms lead (through redirects) to ``url``'s origin."""
    parts = urlsplit(url)
    g.form_targets = [*g.get("form_targets", []), f"{parts.scheme}://{parts.netloc}"]


def _security_headers(response: Response) -> Response:
    form_action = " ".join(["'self'", *g.get("form_targets", [])])
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config["IDP"].issuer.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    if g.get("new_browser_id"):
        set_cookie(response, BROWSER_COOKIE, g.browser_id, max_age=400 * 86400)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD
    app.jinja_env.globals["_"] = translate
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["local_time"] = local_time
