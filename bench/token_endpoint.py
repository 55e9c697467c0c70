"""Benchmark: token-endpoint throughput and full logins against gunicorn (``make bench``).

Starts the IdP under gunicorn (2 workers) on a throwaway database, then measures
client_credentials requests per second with a hashed client secret, complete code-flow
logins per second (argon2id password check included), and the workers' memory.
Only loopback addresses are used; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live.conftest import Browser, LiveIdP, hidden_fields, password_login, walk_login  # noqa: E402

REDIRECT_URI = "http://127.0.0.1:9/callback"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def client_credentials(idp: LiveIdP, requests_count: int, threads: int) -> float:
    client = idp.idp("clients", "create", "--name", "Bench CC", "--grant-type", "client_credentials",
                     "--scope", "peps")
    auth = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    url = idp.issuer + "/token"

    def worker(count: int) -> None:
        session = requests.Session()
        for _ in range(count):
            response = session.post(url, data={"grant_type": "client_credentials"},
                                    headers={"Authorization": f"Basic {auth}"})
            assert response.status_code == 200, response.text

    worker(20)  # warm-up
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, [requests_count // threads] * threads))
    return requests_count / (time.perf_counter() - started)


def logins(idp: LiveIdP, count: int) -> list[float]:
    """A returning user on a trusted workstation: authorization, password, token exchange.

    The first login (phone code, confirmation) is not timed: the send limits would stop
    a loop of coded logins, and most logins in a week are on a trusted workstation."""
    account, client = idp.register(REDIRECT_URI, "Bench", "bea@bench.example", "06 99 99 99 99")
    auth = (client["client_id"], client["client_secret"])
    browser = Browser()
    durations = []
    for index in range(count + 1):
        started = time.perf_counter()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        response = browser.get(idp.issuer + "/authorize", params={
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
            "scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
            "state": "s", "nonce": "n", "prompt": "login",
        })
        response = password_login(browser, idp.issuer, response.headers["Location"], account["identifier"],
                                  account["password"])
        response = walk_login(browser, idp.issuer, response, idp.outbox, REDIRECT_URI)
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        token = requests.post(idp.issuer + "/token", auth=auth, data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI,
        })
        assert token.status_code == 200, token.text
        if index:
            durations.append(time.perf_counter() - started)
    return durations


def recovery_timing(idp: LiveIdP, count: int) -> dict[str, tuple[float, float]]:
    """Median answer time of the recovery pages for an address that has an account and one
    that has none (the pages only queue a job: they should not tell them apart)."""
    account = idp.idp("accounts", "list")[0]
    browser = Browser()
    results = {}
    for path, known, unknown in (
        ("/identifier/forgot", {"email": account["email"]}, {"email": "nobody@bench.example"}),
        ("/password/forgot", {"identifier": account["identifier"], "email": account["email"]},
         {"identifier": "ZZZ999999", "email": "nobody@bench.example"}),
    ):
        page = browser.get(idp.issuer + path)
        action, fields = hidden_fields(page.text)
        timings: dict[str, list[float]] = {"known": [], "unknown": []}
        for _ in range(count):
            for name, data in (("known", known), ("unknown", unknown)):  # interleaved
                started = time.perf_counter()
                assert browser.post(idp.issuer + action, data={**fields, **data}).status_code == 200
                timings[name].append(time.perf_counter() - started)
        results[path] = (statistics.median(timings["known"]), statistics.median(timings["unknown"]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--logins", type=int, default=40)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or f"sqlite:///{folder}/bench.sqlite3"
        policy = Path(folder) / "policy.yaml"  # room for the recovery timings below the email limit
        policy.write_text((ROOT / "policies" / "default.yaml").read_text(encoding="utf-8").replace(
            "reset_emails_per_hour: 5", "reset_emails_per_hour: 100"), encoding="utf-8")
        idp = LiveIdP(Path(folder), database, config={"policy_file": str(policy)})
        idp.start()
        try:
            rate = client_credentials(idp, args.requests, args.threads)
            times = logins(idp, args.logins)
            recovery = recovery_timing(idp, 20)
            memory = [_rss_mib(pid) for pid in _workers(idp.process.pid)]
        finally:
            idp.stop()
    print(f"database: {database.split(':')[0]}")
    print(f"client_credentials (client_secret_basic): {rate:.0f} requests/s "
          f"({args.requests} requests, {args.threads} threads, 2 workers)")
    median = statistics.median(times) * 1000
    print(f"trusted-workstation login (authorize, password, token exchange): median {median:.0f} ms, "
          f"p95 {sorted(times)[int(len(times) * 0.95) - 1] * 1000:.0f} ms ({args.logins} logins, sequential)")
    print(f"worker memory (RSS): {', '.join(f'{m:.0f} MiB' for m in memory)}")
    for path, (known, unknown) in recovery.items():
        print(f"{path}: median {known * 1000:.1f} ms for a registered address, {unknown * 1000:.1f} ms for "
              "an unknown one (20 each, interleaved)")


if __name__ == "__main__":
    main()
