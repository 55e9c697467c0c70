"""Demo data for ``make run``: one establishment with two administrators and one user,
two services and one demo client. Created only when the database has no account."""

from __future__ import annotations

import json

from flask import current_app

from .clients import create_client
from .directory import create_account, create_establishment, create_service, random_password
from .extensions import db
from .models import Account

DEMO_FILE = "demo.json"
DEMO_REDIRECT_URI = "http://127.0.0.1:5002/callback"
RNCPS_REDIRECT_URI = "http://127.0.0.1:5001/callback"  # examples/rncps (make demo)


def load_demo() -> dict:
    """Create the demo data if the database is empty; return what a person needs to log in."""
    path = current_app.config["IDP"].instance_dir / DEMO_FILE
    if db.session.execute(db.select(Account).limit(1)).first() is not None:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    establishment = create_establishment("21330063500017", "Mairie de Démoville")
    pensions = create_service("pensions", "Retraites")
    rncps = create_service("rncps", "Répertoire national commun de la protection sociale")
    people = [
        ("administrator", "Mme", "Dupont", "Jeanne", "jeanne.dupont@demoville.fr", [pensions, rncps]),
        ("administrator", "M", "Martin", "Paul", "paul.martin@demoville.fr", [pensions]),
        ("user", "Mme", "Bernard", "Claire", "claire.bernard@demoville.fr", [pensions, rncps]),
    ]
    accounts = []
    for profile, civility, last, first, email, services in people:
        password = random_password()
        account = create_account(
            establishment, profile=profile, civility=civility, last_name=last,
            first_name=first, email=email, services=services, password=password,
        )
        accounts.append({"identifier": account.identifier, "password": password, "profile": profile})
    client, secret = create_client(
        "Démo Retraites",
        client_id="demo",
        service=pensions,
        redirect_uris=[DEMO_REDIRECT_URI],
        post_logout_redirect_uris=["http://127.0.0.1:5002/"],
    )
    rncps_client, rncps_secret = create_client(
        "RNCPS (démo)",
        client_id="rncps",
        service=rncps,
        redirect_uris=[RNCPS_REDIRECT_URI],
        post_logout_redirect_uris=["http://127.0.0.1:5001/"],
        default_acr="urn:peps:acr:mfa",
    )
    db.session.commit()
    data = {
        "accounts": accounts,
        "client": {"client_id": client.client_id, "client_secret": secret},
        "rncps": {"client_id": rncps_client.client_id, "client_secret": rncps_secret},
    }
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return data
