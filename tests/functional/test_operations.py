"""Operations: health probes, and migrations that match the models on each database."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idp.extensions import db
from idp.models import SigningKey


def test_health_probes(app, browser):
    assert browser.get("/healthz").get_json() == {"status": "ok"}
    assert browser.get("/readyz").status_code == 200
    with app.app_context():
        db.session.execute(db.delete(SigningKey))
        db.session.commit()
    response = browser.get("/readyz")
    assert response.status_code == 503 and response.get_json()["status"] == "no signing key"


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []



def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(settings_overrides):
    from flask import request

    from idp import create_app

    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.7")):
        app = create_app({**settings_overrides, "trusted_proxies": hops})
        app.add_url_rule("/_address", "address", lambda: request.remote_addr)
        seen = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.7"})
        assert seen.get_data(as_text=True) == expected
