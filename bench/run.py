"""Benchmark (``make bench``): this provider beside panva's node oidc-provider, one run.

Ours runs under gunicorn with 4 workers (``config/gunicorn.conf.py`` when present) on a
throwaway PostgreSQL database; the peer is oidc-provider 9 in one node process with its
storage in memory (bench/peer/provider.mjs). wrk drives both in interleaved rounds (ours,
peer, ours, peer…) so that a noisy minute hurts both alike; the table shows medians.
Server CPU per request comes from /proc/<pid>/stat (utime + stime of the gunicorn master
and its workers, and apart that of the PostgreSQL server processes of its connections)
before and after each round. Refresh tokens are minted ahead of each round (ours: copies
of a real login's token row; the peer's through its models), so each is used once.
Logins are driven by Python threads, like people: a password (argon2id), a code read from
the outbox, the token exchange.

Only loopback addresses are used; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import Browser  # noqa: E402
from bench.logins import REDIRECT_URI, User, login, login_rounds, percentile, recovery_timing  # noqa: E402
from bench.processes import (  # noqa: E402
    Processes,
    memory_mib,
    postgres_backends,
    process_tree,
    spent_by_both,
)
from bench.report import Row, Side, Target, WrkResult, check_targets, parse_wrk, table  # noqa: E402
from idp.digests import digest  # noqa: E402
from tests.conftest import postgres_database  # noqa: E402
from tests.live.conftest import LiveIdP, free_port  # noqa: E402

PEER_DIR = ROOT / "bench" / "peer"
WRK_DIR = ROOT / "bench" / "wrk"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
WORKERS = 4
USERS = 8
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David"]

TARGETS = [
    Target("JWKS ≥ 0.4× node", "JWKS 200", 0.4),
    Target("discovery ≥ 0.4× node", "discovery", 0.4),
    Target("client_credentials opaque ≥ 0.3× node", "client_credentials opaque", 0.3),
    Target("client_credentials JWT ≥ 0.6× node", "client_credentials JWT", 0.6),
    Target("refresh with rotation ≥ 0.3× node", "refresh (rotation)", 0.3),
    Target("full logins with a code ≥ 40/s", "login with a code, 8 users", 40, of_peer=False),
]
MEMORY_TARGET_MB = 300


# --- the peer --------------------------------------------------------------------------------

class Peer:
    """bench/peer/provider.mjs on a free loopback port, minting refresh tokens on request."""

    def __init__(self, folder: Path, secret: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "peer.log").open("w")
        self.process = subprocess.Popen(
            ["node", "provider.mjs"], cwd=PEER_DIR, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, env={**os.environ, "PORT": str(self.port), "BENCH_CLIENT_SECRET": secret},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"the peer did not start: {line!r} (see {folder / 'peer.log'})")

    def mint(self, count: int, path: Path) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"mint {count} {path}\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if answer.strip() != f"minted {count}":
            raise RuntimeError(f"the peer did not mint: {answer!r}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


# --- wrk ---------------------------------------------------------------------------------------

def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def run_wrk(url: str, args: argparse.Namespace, script: str | None = None, headers: dict | None = None,
            env: dict | None = None, seconds: float | None = None) -> WrkResult:
    duration = max(1, round(seconds or args.seconds))  # wrk takes whole seconds
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(WRK_DIR / script)]
    done = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 60,
                          env={**os.environ, "BENCH_THREADS": str(args.threads), **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}")
    return parse_wrk(done.stdout)


def measured(side: Side, server: Processes, run: Callable[[], WrkResult], database: Processes | None = None
             ) -> WrkResult:
    """Run one round and add it to ``side``, with the server's CPU per request (and that of
    its PostgreSQL connections, read alongside)."""
    if database is None:
        result, spent = server.spent_during(run)
        side.add_wrk(result, spent * 1000 / result.requests if result.requests else None)
        return result
    result, spent, database_spent = spent_by_both(server, database, run)
    if result.requests:
        side.add_wrk(result, spent * 1000 / result.requests, database_spent * 1000 / result.requests)
    else:
        side.add_wrk(result)
    return result


# --- our refresh tokens, minted in the database ----------------------------------------------

def mint_ours(database_url: str, template_refresh_token: str, count: int, path: Path) -> None:
    """``count`` copies of a real token row, each its own family with a fresh refresh token.

    The copy takes every column the table has (so it follows schema changes) and sets the
    digests the server looks tokens up by: as if ``count`` people had logged in."""
    engine = sa.create_engine(database_url)
    try:
        tokens = sa.Table("tokens", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            template = conn.execute(sa.select(tokens).where(
                tokens.c.refresh_digest == digest(template_refresh_token))).mappings().one()
            values, rows = [], []
            for _ in range(count):
                refresh = secrets.token_urlsafe(32)
                values.append(refresh)
                row = {key: value for key, value in template.items() if key != "id"}
                row.update(family_id=str(uuid.uuid4()), access_digest=digest(secrets.token_urlsafe(32)),
                           refresh_digest=digest(refresh))
                rows.append(row)
            conn.execute(sa.insert(tokens), rows)
    finally:
        engine.dispose()
    path.write_text("\n".join(values) + "\n", encoding="utf-8")


# --- set-up --------------------------------------------------------------------------------

def bench_policy(folder: Path) -> Path:
    """The default policy with its abuse ceilings raised: 8 people logging in dozens of
    times a minute from one address would hit the send and per-address limits."""
    text = (ROOT / "policies" / "default.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("per_account: {count: 5, window: 1h}", "per_account: {count: 10000, window: 1h}"),
        ("per_phone: {count: 5, window: 1h}", "per_phone: {count: 10000, window: 1h}"),
        ("per_ip: {count: 200, window: 1h}", "per_ip: {count: 10000, window: 1h}"),
        ("resend_delay: 60s", "resend_delay: 1s"),
        ("reset_emails_per_hour: 5", "reset_emails_per_hour: 100"),
    ):
        if old not in text:
            raise RuntimeError(f"policies/default.yaml changed: {old!r} not found")
        text = text.replace(old, new)
    path = folder / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def servers(folder: Path, database_url: str, secret: str, extra: list[str]) -> Iterator[tuple[LiveIdP, Peer]]:
    # No access log, as the peer writes none (IDP_ACCESS_LOG=off: written to /dev/null, each
    # line would still be formatted); production keeps gunicorn.conf.py's on stdout.
    gunicorn_args = ["-c", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else ["--access-logfile", "/dev/null"]
    gunicorn_args += extra
    idp = LiveIdP(folder / "ours", database_url, workers=WORKERS, gunicorn_args=gunicorn_args,
                  config={"policy_file": str(bench_policy(folder))},
                  env={"IDP_WORKERS": str(WORKERS), "IDP_ACCESS_LOG": "off"})
    idp.start()
    try:
        peer = Peer(folder, secret)
        try:
            yield idp, peer
        finally:
            peer.stop()
    finally:
        idp.stop()


def make_users(idp: LiveIdP, count: int) -> tuple[dict, list[User]]:
    phone = "06 99 99 99 00"
    account, client = idp.register(REDIRECT_URI, SURNAMES[0], "agent0@bench.example", phone, siret="21330063500017")
    users = [User(account, phone)]
    for index in range(1, count):
        phone = f"06 99 99 99 {index:02d}"
        account = idp.idp("accounts", "create", "--establishment", "21330063500017", "--last-name", SURNAMES[index],
                          "--first-name", "Agent", "--email", f"agent{index}@bench.example", "--service", "pensions",
                          "--phone", phone)
        users.append(User(account, phone))
    return client, users


def cc_client(idp: LiveIdP, name: str, *extra: str) -> dict | None:
    try:
        return idp.idp("clients", "create", "--name", name, "--grant-type", "client_credentials",
                       "--scope", "peps", *extra)
    except AssertionError:  # an option this version does not have yet
        return None


# --- the run -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--login-seconds", type=float, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--gunicorn", default="", help='more gunicorn options, e.g. "-k gthread --threads 4"')
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run bench/install-wrk (make bench does)")
    if not (PEER_DIR / "node_modules").exists():
        sys.exit("the peer is not installed: cd bench/peer && npm ci (make bench does)")

    secret = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as name, postgres_database() as database_url:
        folder = Path(name)
        with servers(folder, database_url, secret, shlex.split(args.gunicorn)) as (idp, peer):
            print(f"ours: {idp.issuer} (gunicorn, {len(process_tree(idp.process.pid)) - 1} workers, PostgreSQL"
                  f"{', ' + GUNICORN_CONF.name if GUNICORN_CONF.exists() else ''}"
                  f"{', ' + args.gunicorn if args.gunicorn else ''}); peer: {peer.url}",
                  file=sys.stderr)
            opaque = cc_client(idp, "Bench opaque")
            jwt = cc_client(idp, "Bench JWT", "--access-token-format", "jwt")
            client, users = make_users(idp, USERS)
            template = login(idp, client, users[0], Browser())  # also checks the whole path works
            trusted = {}
            for user in users:  # each user's workstation, trusted after a login with a code
                trusted[user.identifier] = Browser()
                login(idp, client, user, trusted[user.identifier])

            discovery = idp.issuer + "/.well-known/openid-configuration"
            jwks_url = requests.get(discovery).json()["jwks_uri"]
            etag = requests.get(jwks_url).headers.get("ETag")
            peer_jwks = requests.get(peer.url + "/.well-known/openid-configuration").json()["jwks_uri"]
            rows = {name: Row(name) for name in (
                "discovery", "JWKS 200", "JWKS 304", "client_credentials opaque", "client_credentials JWT",
                "refresh (rotation)")}
            rows["JWKS 304"].peer = None
            rows["JWKS 304"].note = "" if etag else "no ETag"
            if jwt is None:
                rows["client_credentials JWT"].note = "ours: no JWT access tokens yet"

            # Warm both up (imports, key loading, JIT) before anything is measured.
            for url in (discovery, jwks_url, peer.url + "/.well-known/openid-configuration", peer_jwks):
                run_wrk(url, args, seconds=1)
            # The peer's memory now: later its in-memory store holds every token the bench got.
            peer_pss, peer_rss = memory_mib([peer.process.pid])

            def post(url: str, auth: str) -> Callable[[], WrkResult]:
                return lambda: run_wrk(url, args, "post.lua",
                                       env={"BENCH_BODY": "grant_type=client_credentials", "BENCH_AUTH": auth})

            def refresh(url: str, tokens: Path, auth: str) -> Callable[[], WrkResult]:
                return lambda: run_wrk(url, args, "refresh.lua", env={"BENCH_TOKENS": str(tokens), "BENCH_AUTH": auth})

            server = Processes(lambda: process_tree(idp.process.pid))
            database = Processes(postgres_backends(database_url))
            node = Processes(lambda: [peer.process.pid])

            def ours(name: str, run: Callable[[], WrkResult]) -> WrkResult:
                return measured(rows[name].ours, server, run, database)

            def theirs(name: str, run: Callable[[], WrkResult]) -> WrkResult:
                side = rows[name].peer
                assert side is not None
                return measured(side, node, run)

            # Refresh tokens a round: enough for 2,500/s (ours) and 4,000/s (the peer) in the
            # first, then twice the last rate, at least; a short supply shows as errors.
            counts = {"ours": 2500 * args.seconds + 500, "peer": max(20000, 4000 * args.seconds + 500)}
            for index in range(args.rounds):
                print(f"round {index + 1}/{args.rounds}", file=sys.stderr)
                ours("discovery", lambda: run_wrk(discovery, args))
                theirs("discovery", lambda: run_wrk(peer.url + "/.well-known/openid-configuration", args))
                ours("JWKS 200", lambda: run_wrk(jwks_url, args))
                theirs("JWKS 200", lambda: run_wrk(peer_jwks, args))
                if etag:
                    ours("JWKS 304", lambda: run_wrk(jwks_url, args, headers={"If-None-Match": etag}))
                if opaque:
                    ours("client_credentials opaque",
                         post(idp.issuer + "/token", basic(opaque["client_id"], opaque["client_secret"])))
                theirs("client_credentials opaque", post(peer.url + "/token", basic("cc-opaque", secret)))
                if jwt:
                    ours("client_credentials JWT",
                         post(idp.issuer + "/token", basic(jwt["client_id"], jwt["client_secret"])))
                theirs("client_credentials JWT", post(peer.url + "/token", basic("cc-jwt", secret)))

                path = folder / f"refresh-ours-{index}.txt"
                mint_ours(database_url, template, counts["ours"], path)
                rate = ours("refresh (rotation)", refresh(idp.issuer + "/token", path,
                                                          basic(client["client_id"], client["client_secret"]))).rate
                counts["ours"] = max(counts["ours"], int(rate * args.seconds * 2) + 500)
                path = folder / f"refresh-peer-{index}.txt"
                peer.mint(counts["peer"], path)
                rate = theirs("refresh (rotation)", refresh(peer.url + "/token", path, basic("rp", secret))).rate
                counts["peer"] = max(counts["peer"], int(rate * args.seconds * 2) + 500)

            login_rows = []
            for label, fresh in (("login with a code, 8 users", True), ("trusted workstation, 8 users", False)):
                row = Row(label, unit="logins/s", peer=None)
                (count, elapsed, latencies), spent, database_spent = spent_by_both(
                    server, database, partial(login_rounds, idp, client, users, args.login_seconds, fresh, trusted))
                row.ours.add(count / elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99),
                             cpu_ms=spent * 1000 / count, db_cpu_ms=database_spent * 1000 / count)
                login_rows.append(row)

            recovery = recovery_timing(idp, users[0], "agent0@bench.example")
            pss, rss = memory_mib(process_tree(idp.process.pid))

    all_rows = [*rows.values(), *login_rows]
    memory = (f"{pss:.0f} MiB PSS, {rss:.0f} MiB RSS", f"{peer_pss:.0f} MiB PSS, {peer_rss:.0f} MiB RSS")
    print()
    print(f"{args.rounds} rounds × {args.seconds:g} s, wrk {args.threads} threads / {args.connections} connections,"
          f" medians; logins: {USERS} users for {args.login_seconds:g} s; CPU: our gunicorn master + workers, "
          f"the peer's node process; memory: ours {WORKERS} workers + master at the end, the peer's process "
          "after the warm-up")
    print(table(all_rows, memory))
    print()
    for line in check_targets(all_rows, TARGETS):
        print(line)
    verdict = "met" if pss <= MEMORY_TARGET_MB else "NOT met"
    print(f"{WORKERS} workers ≤ {MEMORY_TARGET_MB} MB: {pss:.0f} MiB PSS (RSS {rss:.0f}): {verdict}")
    print()
    for path, (known, unknown) in recovery.items():
        print(f"{path}: median {known:.1f} ms for a registered address, {unknown:.1f} ms for an unknown one "
              "(20 each, interleaved)")
    if args.json:
        args.json.write_text(json.dumps({
            "rows": [{"endpoint": row.endpoint, "unit": row.unit, "ours": vars(row.ours),
                      "peer": vars(row.peer) if row.peer else None} for row in all_rows],
            "memory": {"ours_pss_mib": pss, "ours_rss_mib": rss, "peer_pss_mib": peer_pss, "peer_rss_mib": peer_rss},
        }, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
