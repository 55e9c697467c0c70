"""Logins as people do them, for ``make bench``: threads, each a person with a browser,
a password (argon2id), a code read from the outbox, the token exchange."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.browser import Browser
from tests.helpers import code_in, pkce_pair
from tests.live.conftest import LiveIdP, hidden_fields, password_login

REDIRECT_URI = "http://127.0.0.1:9/callback"


def last_code(outbox: Path, phone_digits: str) -> str:
    """The newest code sent to this phone (people log in at once: the last message may be
    another's), read from the end of the outbox, which grows through the run: the last
    16 KiB hold it unless many messages came after it; then the last 256 KiB."""
    with outbox.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        for tail in (16 * 1024, 256 * 1024):
            handle.seek(max(0, size - tail))
            lines = handle.read().decode("utf-8", "replace").splitlines()
            for line in reversed(lines):
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                to = "".join(ch for ch in str(message.get("to", "")) if ch.isdigit())
                if message.get("channel") in ("sms", "voice") and to.endswith(phone_digits):
                    return code_in(message)
            if tail >= size:
                break
    raise RuntimeError(f"no code for …{phone_digits} in the outbox")


class User:
    def __init__(self, account: dict, phone: str):
        self.identifier = account["identifier"]
        self.password = account["password"]
        self.phone_digits = "".join(ch for ch in phone if ch.isdigit())[1:]  # without the national 0


def login(idp: LiveIdP, client: dict, user: User, browser: Browser) -> str:
    """One login to the end: authorization, password, the steps asked, the token exchange.
    Returns the refresh token."""
    verifier, challenge = pkce_pair()
    response = browser.get(idp.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "s", "nonce": "n", "prompt": "login",
    })
    response = password_login(browser, idp.issuer, response, user.identifier, user.password)
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
    token = browser.post(idp.issuer + "/token", auth=(client["client_id"], client["client_secret"]), cookies=False,
                         data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                               "redirect_uri": REDIRECT_URI})
    if token.status_code != 200:
        raise RuntimeError(f"token exchange: {token.status_code} {token.text}")
    return json.loads(token.body)["refresh_token"]


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
