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
import hashlib
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import Row, Side, Target, WrkResult, check_targets, parse_wrk, table  # noqa: E402
from tests.conftest import POSTGRES_ADMIN, postgres_database  # noqa: E402
from tests.live.conftest import Browser, LiveIdP, free_port, hidden_fields, password_login  # noqa: E402

PEER_DIR = ROOT / "bench" / "peer"
WRK_DIR = ROOT / "bench" / "wrk"
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
REDIRECT_URI = "http://127.0.0.1:9/callback"
WORKERS = 4
USERS = 8
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
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


# --- processes: CPU and memory from /proc -------------------------------------------------

def process_tree(master: int) -> list[int]:
    """The gunicorn master and its workers (the children it has now)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(pid) for pid in children)]


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process that still exists, in clock ticks."""
    ticks = {}
    for pid in pids:
        try:
            # Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError):  # gone meanwhile, or another user's
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


class Processes:
    """The processes whose CPU a round counts, looked up again at each reading (a worker
    replaced, a new database connection); one first seen after the start counts whole."""

    def __init__(self, find: Callable[[], list[int]]):
        self.find = find

    def spent_during(self, run: Callable[[], WrkResult]) -> tuple[WrkResult, float]:
        before = cpu_ticks(self.find())
        result = run()
        after = cpu_ticks(self.find())
        return result, sum(value - before.get(pid, 0) for pid, value in after.items()) / CLOCK_TICK


def postgres_backends(database_url: str) -> Callable[[], list[int]]:
    """The PostgreSQL server processes serving ``database_url`` (its connection pools)."""
    name = database_url.rsplit("/", 1)[1]

    def find() -> list[int]:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
    return find


def memory_mib(pids: list[int]) -> tuple[float, float]:
    """(PSS, RSS) summed over ``pids``, in MiB: PSS shares the pages the workers share."""
    pss = rss = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Pss":
                pss += int(value.split()[0])
            elif name == "Rss":
                rss += int(value.split()[0])
    return pss / 1024, rss / 1024


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
    database_spent = [0.0]

    def both() -> WrkResult:
        outcome, database_spent[0] = database.spent_during(run)
        return outcome

    result, spent = server.spent_during(both)
    if result.requests:
        side.add_wrk(result, spent * 1000 / result.requests, database_spent[0] * 1000 / result.requests)
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
                tokens.c.refresh_digest == _digest(template_refresh_token))).mappings().one()
            values, rows = [], []
            for _ in range(count):
                refresh = secrets.token_urlsafe(32)
                values.append(refresh)
                row = {key: value for key, value in template.items() if key != "id"}
                row.update(family_id=str(uuid.uuid4()), access_digest=_digest(secrets.token_urlsafe(32)),
                           refresh_digest=_digest(refresh))
                rows.append(row)
            conn.execute(sa.insert(tokens), rows)
    finally:
        engine.dispose()
    path.write_text("\n".join(values) + "\n", encoding="utf-8")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()  # as idp.digests.digest


# --- logins, as people do them ----------------------------------------------------------------

def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def last_code(outbox: Path, phone_digits: str) -> str:
    """The newest code sent to this phone: the end of the outbox is enough."""
    with outbox.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 256 * 1024))
        lines = handle.read().decode("utf-8", "replace").splitlines()
    for line in reversed(lines):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        to = "".join(ch for ch in str(message.get("to", "")) if ch.isdigit())
        if message.get("channel") in ("sms", "voice") and to.endswith(phone_digits):
            return "".join(ch for ch in message["body"] if ch.isdigit())[:6]
    raise RuntimeError(f"no code for …{phone_digits} in the outbox")


class User:
    def __init__(self, account: dict, phone: str):
        self.identifier = account["identifier"]
        self.password = account["password"]
        self.phone_digits = "".join(ch for ch in phone if ch.isdigit())[1:]  # without the national 0


def login(idp: LiveIdP, client: dict, user: User, browser: Browser) -> str:
    """One login to the end: authorization, password, the steps asked, the token exchange.
    Returns the refresh token."""
    verifier, challenge = _pkce()
    response = browser.get(idp.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "s", "nonce": "n", "prompt": "login",
    })
    response = password_login(browser, idp.issuer, response.headers["Location"], user.identifier, user.password)
    for _ in range(10):
        location = response.headers.get("Location", "")
        if response.status_code not in (302, 303) or location.startswith(REDIRECT_URI):
            break
        page = browser.get(idp.issuer + location)
        if location.startswith("/login/code"):
            action, fields = hidden_fields(page.text)
            response = browser.post(idp.issuer + action, data={
                **fields, "code": last_code(idp.outbox, user.phone_digits)})
        elif location.startswith("/login/confirm"):
            action, fields = hidden_fields(page.text)
            response = browser.post(idp.issuer + action, data=fields)
        else:
            response = page
    location = response.headers.get("Location", "")
    if not location.startswith(REDIRECT_URI):
        raise RuntimeError(f"login of {user.identifier} stopped: {response.status_code} {location}")
    code = parse_qs(urlsplit(location).query)["code"][0]
    token = browser.http.post(idp.issuer + "/token", auth=(client["client_id"], client["client_secret"]), data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI})
    if token.status_code != 200:
        raise RuntimeError(f"token exchange: {token.status_code} {token.text}")
    return token.json()["refresh_token"]


def login_rounds(idp: LiveIdP, client: dict, users: list[User], seconds: float, fresh: bool,
                 trusted: dict[str, Browser]) -> tuple[int, float, list[float]]:
    """Each user logs in again and again for ``seconds`` (at most 500 times): a fresh browser
    each time (a code is asked) or the user's trusted workstation. Returns (logins, elapsed,
    latencies in ms)."""
    latencies: list[float] = []
    errors: list[Exception] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(users) + 1)
    deadline = [0.0]

    def person(user: User) -> None:
        barrier.wait()
        for _ in range(500):
            if time.monotonic() >= deadline[0]:
                return
            started = time.perf_counter()
            try:
                login(idp, client, user, Browser() if fresh else trusted[user.identifier])
            except Exception as exc:  # reported after the round, never hidden
                with lock:
                    errors.append(exc)
                return
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=person, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    started = time.monotonic()
    barrier.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} logins failed, first: {errors[0]}")
    return len(latencies), time.monotonic() - started, latencies


def recovery_timing(idp: LiveIdP, user: User, email: str, count: int = 20) -> dict[str, tuple[float, float]]:
    """Median answer time (ms) of the recovery pages for an address that has an account and
    one that has none, interleaved: the pages only queue a job and should not tell them apart."""
    browser = Browser()
    results = {}
    for path, known, unknown in (
        ("/identifier/forgot", {"email": email}, {"email": "nobody@bench.example"}),
        ("/password/forgot", {"identifier": user.identifier, "email": email},
         {"identifier": "ZZZ999999", "email": "nobody@bench.example"}),
    ):
        action, fields = hidden_fields(browser.get(idp.issuer + path).text)
        timings: dict[str, list[float]] = {"known": [], "unknown": []}
        for _ in range(count):
            for name, data in (("known", known), ("unknown", unknown)):
                started = time.perf_counter()
                status = browser.post(idp.issuer + action, data={**fields, **data}).status_code
                if status != 200:
                    raise RuntimeError(f"{path}: {status}")
                timings[name].append((time.perf_counter() - started) * 1000)
        results[path] = (percentile(timings["known"], 0.5), percentile(timings["unknown"], 0.5))
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


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
    # No access log (the peer writes none); production keeps gunicorn.conf.py's.
    gunicorn_args = ["-c", str(GUNICORN_CONF)] if GUNICORN_CONF.exists() else []
    gunicorn_args += ["--access-logfile", "/dev/null", *extra]
    idp = LiveIdP(folder / "ours", database_url, workers=WORKERS, gunicorn_args=gunicorn_args,
                  config={"policy_file": str(bench_policy(folder))},
                  env={"IDP_WORKERS": str(WORKERS)})
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

            counts = {"ours": 4000, "peer": 20000}  # refresh tokens a round: twice the last rate, at least
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
                before, database_before = cpu_ticks(server.find()), cpu_ticks(database.find())
                count, elapsed, latencies = login_rounds(idp, client, users, args.login_seconds, fresh, trusted)
                spent = sum(v - before.get(k, 0) for k, v in cpu_ticks(server.find()).items()) / CLOCK_TICK
                database_spent = sum(v - database_before.get(k, 0)
                                     for k, v in cpu_ticks(database.find()).items()) / CLOCK_TICK
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
