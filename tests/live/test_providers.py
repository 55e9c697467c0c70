"""Codes through the real Vonage SDK to a local HTTPS stub, email through a local SMTP
server: the IdP under gunicorn, configured as in production but for the hosts."""

from __future__ import annotations

import email
import email.policy
import re
from urllib.parse import unquote

import psycopg
import pytest

from tests.conftest import postgres_database

from .conftest import Browser, LiveIdP, hidden_fields, wait_until
from .stubs import SmtpServer, VonageStub, pkcs8_private_key

REDIRECT_URI = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("providers")
    pem, public = pkcs8_private_key()
    with VonageStub(folder, "key-123", "secret-456", "app-789", public) as vonage, SmtpServer() as smtp, \
            postgres_database() as url:
        idp = LiveIdP(folder, url, config={"messages": {
            "sms": ["vonage_sms"], "voice": ["vonage_voice"], "email": ["smtp"],
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "starttls": False, "sender": "PEP's <no-reply@peps.test>",
                     "username": None, "timeout": "5s"},
            "vonage": {"api_key": "key-123", "application_id": "app-789", "sms_sender_id": "PEPS",
                       "voice_caller_number": "+33900000000", "api_host": vonage.host, "rest_host": vonage.host,
                       "ca_bundle": str(vonage.cert), "timeout": "2s"},
        }, "jobs": {"first_retry": "1s", "max_retry": "2s"}},
            env={"IDP_VONAGE_API_SECRET": "secret-456", "IDP_VONAGE_PRIVATE_KEY": pem})
        idp.start()
        idp.idp("establishments", "create", "--siret", "21330063500017", "--name", "Mairie Providers")
        idp.idp("services", "create", "--code", "pensions", "--name", "Retraites")
        client = idp.idp("clients", "create", "--name", "RP", "--service", "pensions", "--redirect-uri", REDIRECT_URI)
        try:
            idp.database_url = url
            yield idp, vonage, smtp, client
        finally:
            idp.stop()


def _account(idp, email, phone):
    return idp.idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Agent",
                   "--first-name", "Tristan", "--email", email, "--service", "pensions", "--phone", phone)


def _to_code_page(idp, client, account):
    browser = Browser()
    response = browser.get(idp.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "state": "s"})
    action, fields = hidden_fields(response.text)  # /authorize's login page
    response = browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                        "password": account["password"]})
    assert response.headers["Location"].startswith("/login/code")
    return browser, response.headers["Location"]


def _submit_code(idp, browser, code_url, code):
    page = browser.get(idp.issuer + code_url)
    action, fields = hidden_fields(page.text)
    return browser.post(idp.issuer + action, data={**fields, "code": code})


def _finish(idp, browser, response):
    while response.headers["Location"].startswith("/"):
        location = response.headers["Location"]
        page = browser.get(idp.issuer + location)
        if location.startswith("/login/confirm"):
            action, fields = hidden_fields(page.text)
            response = browser.post(idp.issuer + action, data=fields)
        else:
            response = page
    return response.headers["Location"]


def test_sms_through_vonage(world):
    idp, vonage, _, client = world
    vonage.mode = "ok"
    account = _account(idp, "sms@mairie.example", "06 10 20 30 40")
    before = len(vonage.requests)
    browser, code_url = _to_code_page(idp, client, account)
    page = browser.get(idp.issuer + code_url)
    assert page.status_code == 200 and "SMS" in page.text
    sent = vonage.requests[before:]
    assert len(sent) == 1 and sent[0]["path"] == "/sms/json" and sent[0]["authenticated"]
    form = sent[0]["form"]
    assert form["to"] == "33610203040" and form["from"] == "PEPS"
    code = re.search(r"\b(\d{6})\b", form["text"]).group(1)
    location = _finish(idp, browser, _submit_code(idp, browser, code_url, code))
    assert location.startswith(REDIRECT_URI) and "code=" in location


def test_voice_call_through_vonage_reads_the_code_twice_in_french(world):
    idp, vonage, _, client = world
    vonage.mode = "ok"
    account = _account(idp, "voice@mairie.example", "05 56 11 14 14")
    before = len(vonage.requests)
    browser, code_url = _to_code_page(idp, client, account)
    assert "appel" in browser.get(idp.issuer + code_url).text
    call = vonage.requests[before:][0]
    assert call["path"] == "/v1/calls" and call["authenticated"]
    body = call["json"]
    assert body["to"] == [{"type": "phone", "number": "33556111414"}]
    talk = body["ncco"][0]
    assert talk["action"] == "talk" and talk["language"] == "fr-FR" and talk["loop"] == 2
    code = "".join(re.findall(r"\d", talk["text"]))
    assert len(code) == 6 and ", ".join(code) in talk["text"]
    location = _finish(idp, browser, _submit_code(idp, browser, code_url, code))
    assert "code=" in location


@pytest.mark.parametrize("mode, message", [
    ("http-500", "le service d'envoi ne répond pas"),
    ("http-429", "le service d'envoi ne répond pas"),
    ("slow", "le service d'envoi ne répond pas"),
    ("sms-status-2", "contactez l'administrateur"),
    ("http-401", "contactez l'administrateur"),
])
def test_provider_errors_give_a_clear_page_and_a_retry_that_loses_nothing(world, mode, message):
    idp, vonage, _, client = world
    account = _account(idp, f"{mode}@mairie.example", f"06 10 20 30 {41 + len(vonage.requests) % 50:02d}")
    vonage.mode = mode
    browser, code_url = _to_code_page(idp, client, account)
    failed = browser.get(idp.issuer + code_url)
    assert failed.status_code == 503
    assert message in unquote(failed.text).replace("&#39;", "'")
    with psycopg.connect(idp.database_url.replace("+psycopg", "")) as conn:
        audited = conn.execute(
            "SELECT detail FROM audit_events WHERE event = 'code.send_failed' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
    assert audited["provider"] in ("vonage_sms", "vonage_voice") and audited["reason"]
    vonage.mode = "ok"
    action, fields = hidden_fields(failed.text)  # the only form left: "try again"
    assert fields.get("action") == "resend"
    before = len(vonage.requests)
    retried = browser.post(idp.issuer + action, data=fields)
    assert retried.status_code == 200, retried.text
    code = re.search(r"\b(\d{6})\b", vonage.requests[before]["form"]["text"]).group(1)
    assert "code=" in _finish(idp, browser, _submit_code(idp, browser, code_url, code))


def _to(smtp, address: str) -> list[dict]:
    """The messages the SMTP server received for ``address`` (others get security notices)."""
    return [m for m in smtp.messages if m["to"] == [address]]


def test_password_reset_email_through_smtp(world):
    idp, vonage, smtp, client = world
    vonage.mode = "ok"
    account = _account(idp, "mail@mairie.example", "06 10 20 30 99")
    browser = Browser()
    page = browser.get(idp.issuer + "/password/forgot")
    action, fields = hidden_fields(page.text)
    browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                            "email": "mail@mairie.example"})
    wait_until(lambda: _to(smtp, "mail@mairie.example"), what="the worker's email")  # sent by `idp worker`
    mail = _to(smtp, "mail@mairie.example")[0]
    assert mail["to"] == ["mail@mairie.example"] and "no-reply@peps.test" in mail["from"]
    message = email.message_from_string(mail["data"], policy=email.policy.default)
    assert "mot de passe" in message["Subject"]
    body = message.get_content()
    assert account["identifier"] in body
    link = re.search(r"(http://127\.0\.0\.1:\d+/password/reset\?token=[\w-]+)", body).group(1)
    assert browser.get(link).status_code == 200


def test_an_smtp_outage_loses_no_email(world):
    """The email server is down when the reset is asked: the worker retries with backoff,
    and the link arrives once it is back. The page said the same either way."""
    idp, vonage, smtp, client = world
    account = _account(idp, "outage@mairie.example", "06 10 20 30 98")
    smtp.outage()
    try:
        browser = Browser()
        page = browser.get(idp.issuer + "/password/forgot")
        action, fields = hidden_fields(page.text)
        answered = browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                           "email": "outage@mairie.example"})
        assert answered.status_code == 200 and "Si ces informations" in answered.text.replace("&#39;", "'")

        def retried() -> bool:
            with psycopg.connect(idp.database_url.replace("+psycopg", "")) as conn:
                row = conn.execute("SELECT attempts, last_error FROM jobs WHERE kind = 'recovery.password_reset' "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
            return row is not None and row[0] >= 2 and bool(row[1])

        wait_until(retried, what="two failed attempts")
        assert _to(smtp, "outage@mairie.example") == []
    finally:
        smtp.back()
    wait_until(lambda: _to(smtp, "outage@mairie.example"), what="the email once the server is back")
    assert len(_to(smtp, "outage@mairie.example")) == 1
