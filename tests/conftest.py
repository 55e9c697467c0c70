"""Shared fixtures: an application on SQLite and on PostgreSQL, and ways to act on it.

The schema is built once per database by the real Alembic migrations; each test then
starts from empty tables.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import text

from idp import create_app
from idp.extensions import db

from .helpers import Actors

POSTGRES_ADMIN = os.environ.get("IDP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def rsa_jwk() -> dict:
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True)
    return {**key.as_dict(private=True), "kid": key.thumbprint()}


@contextmanager
def postgres_database():
    """A fresh PostgreSQL database, dropped afterwards; yields its SQLAlchemy URL."""
    name = f"idp_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'idp.sqlite3'}"
    return request.getfixturevalue("postgres_url")


_migrated: set[str] = set()


@pytest.fixture
def settings_overrides(database_url, tmp_path) -> dict:
    return {
        "issuer": "http://localhost",
        "database_url": database_url,
        "instance_path": str(tmp_path / "instance"),
        "messages": {"outbox_file": str(tmp_path / "outbox.jsonl")},
    }


@pytest.fixture
def app(settings_overrides, rsa_jwk):
    app = create_app(settings_overrides)
    app.config["TESTING"] = True
    with app.app_context():
        if settings_overrides["database_url"] not in _migrated:
            from idp.database import upgrade

            upgrade()
            _migrated.add(settings_overrides["database_url"])
        _empty_tables()
        from idp.models import SigningKey

        db.session.add(SigningKey(kid=rsa_jwk["kid"], alg="RS256", private_jwk=rsa_jwk))
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(text(f"DELETE FROM {table}"))
    db.session.commit()


@pytest.fixture
def browser(app):
    """A browser: the Flask test client, keeping cookies."""
    return app.test_client()


@pytest.fixture
def actors(app, browser) -> Actors:
    return Actors(app, browser)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
