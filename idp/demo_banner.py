"""Print how to log in to the demo instance (``make run``)."""

import json

from .config import load_settings
from .demo import DEMO_FILE, DEMO_REDIRECT_URI, RNCPS_REDIRECT_URI


def main() -> None:
    settings = load_settings()
    path = settings.instance_dir / DEMO_FILE
    if not path.exists():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    print(f"\nIdentity provider: {settings.issuer}  (home page; Mon compte: {settings.issuer}/account)")
    print(f"Discovery: {settings.issuer}/.well-known/openid-configuration")
    for account in data.get("accounts", []):
        print(f"  {account['profile']:<13} identifier {account['identifier']}  password {account['password']}")
    client = data.get("client") or {}
    if client:
        print(f"  demo client   client_id {client['client_id']}  secret {client['client_secret']}  "
              f"redirect URI {DEMO_REDIRECT_URI}")
        print(f"Demo application: {DEMO_REDIRECT_URI.removesuffix('/callback')}  (\"Se connecter avec PEP's\")")
    rncps = data.get("rncps") or {}
    if rncps:
        print(f"  RNCPS example client_id {rncps['client_id']}  redirect URI {RNCPS_REDIRECT_URI} "
              "(make demo: http://127.0.0.1:5001)")
    print(f"Messages go to the console and to {settings.path(settings.messages.outbox_file)}\n")


if __name__ == "__main__":
    main()
