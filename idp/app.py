"""The application factory: configuration, extensions, blueprints."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from .config import PROJECT_ROOT, Settings, development_secret, load_settings

__all__ = ["create_app"]


def create_app(overrides: dict[str, Any] | None = None, config_file: str | None = None) -> Flask:
    """Build the application from configuration (see :mod:`idp.config`)."""
    settings = load_settings(config_file, overrides)
    from .oidc.access_tokens import check_sealing

    check_sealing()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(
        IDP=settings,
        SECRET_KEY=settings.secret_key or development_secret(settings),
        SQLALCHEMY_DATABASE_URI=database_url(settings),
        # No pool_pre_ping: idp.database checks a connection before lending it, and pings
        # only one that sat idle or has something to read.
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.json.sort_keys = False
    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if settings.issuer.startswith("http://"):
        # Development only: production settings refuse a non-HTTPS issuer.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    from . import database, errors, federation, limits, messaging, metrics, observability, policy_store, theme, web

    observability.configure_logging(app)
    observability.init_app(app)  # first: the request id exists for every other hook
    metrics.init_app(app)        # then the timer, which so wraps the other hooks
    from .console.account import bp as console_bp
    from .console.admin import bp as admin_bp
    from .console.delegations import bp as delegations_bp
    from .health import bp as health_bp
    from .home import bp as home_bp
    from .login.routes import bp as login_bp
    from .logout import bp as logout_bp
    from .oidc import server
    from .oidc.views import bp as oidc_bp
    from .recovery import bp as recovery_bp

    policy_store.init_app(app)
    database.init_app(app)
    web.init_app(app)
    theme.init_app(app)
    messaging.init_app(app)
    federation.init_app(app)
    server.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    app.register_blueprint(console_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(delegations_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(oidc_bp)
    app.register_blueprint(login_bp)
    app.register_blueprint(logout_bp)
    app.register_blueprint(recovery_bp)
    from .oidc.documents import HeldDocuments
    from .oidc.fast_tokens import FastTokens

    app.wsgi_app = FastTokens(app, HeldDocuments(app, app.wsgi_app))
    from . import devices, sessions

    app.after_request(sessions.write_cookie)
    app.after_request(devices.write_cookie)
    return app


def database_url(settings: Settings) -> str:
    """The database URL, with a relative SQLite path made relative to the project."""
    url = settings.database_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
        path = settings.path(url[len(prefix):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url
