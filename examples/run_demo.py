"""``make run`` and ``make demo``: the IdP on its issuer's address (127.0.0.1:5000, or
PORT) with its worker, and the demo application of the ``demo`` client on 127.0.0.1:5002
("Se connecter avec PEP's"); ``--rncps`` (``make demo``) adds the RNCPS example on
127.0.0.1:5001, which asks for the multi-factor level."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from idp.config import load_settings
from idp.demo import DEMO_FILE, DEMO_REDIRECT_URI, RNCPS_REDIRECT_URI

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _application(settings, client: dict, redirect_uri: str, **extra: str) -> subprocess.Popen:
    """One example relying application (examples/rncps/app.py) for ``client``."""
    base = redirect_uri.removesuffix("/callback")
    env = {**os.environ, "RNCPS_ISSUER": settings.issuer, "RNCPS_CLIENT_ID": client["client_id"],
           "RNCPS_CLIENT_SECRET": client["client_secret"], "RNCPS_BASE_URL": base, **extra}
    return subprocess.Popen([str(BIN / "gunicorn"), "--no-control-socket", "--workers", "1",
                             "--bind", urlsplit(base).netloc, "examples.rncps.app:create_app()"], cwd=ROOT, env=env)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the servers too, as Ctrl-C does


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rncps", action="store_true", help="also start the RNCPS example on 127.0.0.1:5001")
    options = parser.parse_args()
    settings = load_settings()
    demo = json.loads((settings.instance_dir / DEMO_FILE).read_text(encoding="utf-8"))
    # The IdP as config/gunicorn.conf.py serves it, on the issuer's host and port (PORT=N).
    idp_env = {**os.environ, "IDP_BIND": urlsplit(settings.issuer).netloc}
    servers = [
        subprocess.Popen([str(BIN / "gunicorn"), "-c", "config/gunicorn.conf.py"], cwd=ROOT, env=idp_env),
        subprocess.Popen([str(BIN / "idp"), "worker"], cwd=ROOT),  # the queued emails
        _application(settings, demo["client"], DEMO_REDIRECT_URI,
                     RNCPS_TITLE="Démo Retraites", RNCPS_ACR=""),  # whatever level the policy gives
    ]
    if options.rncps:
        servers.append(_application(settings, demo["rncps"], RNCPS_REDIRECT_URI))
        print("RNCPS example: http://127.0.0.1:5001 (it asks the IdP for the multi-factor level)")
    try:
        servers[0].wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
