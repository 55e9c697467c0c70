"""``make demo``: the IdP on its issuer's address (127.0.0.1:5000, or PORT) with its worker,
and the RNCPS example on 127.0.0.1:5001."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from idp.config import load_settings
from idp.demo import DEMO_FILE

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> None:
    settings = load_settings()
    demo = json.loads((settings.instance_dir / DEMO_FILE).read_text(encoding="utf-8"))
    env = {**os.environ, "RNCPS_ISSUER": settings.issuer, "RNCPS_CLIENT_ID": demo["rncps"]["client_id"],
           "RNCPS_CLIENT_SECRET": demo["rncps"]["client_secret"], "RNCPS_BASE_URL": "http://127.0.0.1:5001"}
    gunicorn = [str(BIN / "gunicorn"), "--no-control-socket"]
    bind = urlsplit(settings.issuer).netloc  # the issuer's host and port (make demo PORT=N)
    servers = [
        subprocess.Popen([*gunicorn, "--workers", "2", "--bind", bind, "wsgi:app"], cwd=ROOT),
        subprocess.Popen([*gunicorn, "--workers", "1", "--bind", "127.0.0.1:5001",
                          "examples.rncps.app:create_app()"], cwd=ROOT, env=env),
        subprocess.Popen([str(BIN / "idp"), "worker"], cwd=ROOT),  # the queued emails
    ]
    print("RNCPS example: http://127.0.0.1:5001 (it asks the IdP for the multi-factor level)")
    try:
        servers[0].wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
