"""The ``idp`` command: set up and administer an instance from the shell.

Every command accepts ``--json`` for scripts. Secrets (client secrets, generated
passwords) are printed once and never stored in clear.
"""

from __future__ import annotations

import json
from functools import wraps

import click

from ..directory import AccountError
from ..extensions import db


def emit(as_json: bool, data, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


def with_app(func):
    """Run the command inside an application context, committing on success."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from ..app import create_app
        from ..config import ConfigError
        from ..policy import PolicyError

        try:
            app = create_app()
        except (ConfigError, PolicyError) as exc:
            raise click.ClickException(str(exc)) from None
        with app.app_context():
            try:
                result = func(*args, **kwargs)
                db.session.commit()
                return result
            except AccountError as exc:
                db.session.rollback()
                raise click.ClickException(str(exc)) from None

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
def main() -> None:
    """Administer the identity provider."""


@main.command()
@click.option("--demo", is_flag=True, help="Add demo data when the database is empty.")
@json_option
@with_app
def init(demo: bool, as_json: bool) -> None:
    """Create or upgrade the database and make sure a signing key exists."""
    from flask import current_app

    from .. import database, keys

    settings = current_app.config["IDP"]
    if demo and settings.environment == "production":
        # Demo accounts have passwords printed in clear and known clients: never in production.
        raise click.ClickException("--demo is refused when environment is production: "
                                   "demo data has known passwords and printed secrets")
    database.upgrade()
    key = keys.ensure_key(settings.oidc.signing_alg, settings.oidc.rsa_key_size)
    db.session.commit()
    result = {"database": "ready", "signing_key": key.kid}
    if demo:
        from ..demo import load_demo

        result["demo"] = load_demo()
    emit(as_json, result, f"Database ready; signing key {key.kid}.")


@main.command()
@click.option("--once", is_flag=True, help="Do the jobs that are due, then exit (cron, tests).")
def worker(once: bool) -> None:
    """Work the job queue (recovery emails…) until stopped; retries failed sends."""
    from ..app import create_app
    from ..config import ConfigError
    from ..policy import PolicyError

    try:
        app = create_app()
    except (ConfigError, PolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    from .. import jobs

    if once:
        with app.app_context():
            click.echo(f"{jobs.work_once()} job(s) done or rescheduled.")
        return
    jobs.run_forever(app)


@main.command()
@json_option
@with_app
def purge(as_json: bool) -> None:
    """Delete expired flows, codes, tokens, sessions and counters (keeps the audit trail)."""
    from .. import maintenance
    from ..policy_store import current_policy

    counts = maintenance.purge(current_policy())
    emit(as_json, counts, "\n".join(f"{name}: {count}" for name, count in counts.items()))


def _register() -> None:
    from . import accounts_admin, accounts_csv, directory, keys, policy  # noqa: F401  (each adds its commands)


_register()
