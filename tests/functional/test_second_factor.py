"""The second factor, read from the outbox like a user reads their phone: phone entry,
codes by SMS and voice, trusted devices, step-up, lockout."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from idp import codes
from idp.clock import travel
from idp.extensions import db
from idp.i18n import local_date
from idp.models import Account, AuditEvent, OneTimeCode, TrustedDevice
from tests.helpers import PASSWORD, Actors, page_text, pkce_pair


@pytest.fixture
def rp(actors):
    return actors.client()


def _to_code_page(actors, rp, identifier, **params):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge, **params))
    response = actors.submit_login(login_url, identifier)
    assert response.headers["Location"].startswith("/login/code"), response.headers["Location"]
    page = actors.browser.get(response.headers["Location"])
    return response.headers["Location"], page


def _account(app, identifier) -> Account:
    return db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()


def test_first_login_without_phone_asks_for_it_and_keeps_it_once_verified(actors, app, rp):
    identifier = actors.account(phone=None)
    other = actors.account(email="bob@mairie.example")
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    response = actors.submit_login(login_url, identifier)
    assert response.headers["Location"].startswith("/login/phone")
    phone_url = response.headers["Location"]
    page = actors.browser.get(phone_url)
    assert 'autocomplete="tel"' in page.get_data(as_text=True)

    bad = actors.post_form(phone_url, {"phone": "12"})
    assert bad.status_code == 400 and "n'est pas valide" in page_text(bad)
    with app.app_context():
        taken = _account(app, other).phone
    duplicate = actors.post_form(phone_url, {"phone": taken})
    assert duplicate.status_code == 400 and "déjà utilisé" in page_text(duplicate)

    response = actors.post_form(phone_url, {"phone": "06 55 44 33 22"})
    assert response.headers["Location"].startswith("/login/code")
    with app.app_context():
        assert _account(app, identifier).phone is None  # not before the code proves it
    code_page = actors.browser.get(response.headers["Location"])
    assert 'autocomplete="one-time-code"' in code_page.get_data(as_text=True)
    assert 'inputmode="numeric"' in code_page.get_data(as_text=True)
    sms = actors.outbox()[-1]
    assert sms["channel"] == "sms" and sms["to"] == "+33655443322"
    final = actors.finish_login(actors.post_form(response.headers["Location"], {"code": actors.last_code()},
                                                 page=code_page))
    assert "code=" in final.headers["Location"]
    with app.app_context():
        account = _account(app, identifier)
        assert account.phone == "+33655443322" and account.phone_line_type == "mobile"
        assert account.code_verified_at is not None and account.confirmed_at is not None


@pytest.mark.parametrize("number, channel, amr", [("05 56 11 14 14", "voice", "tel"),
                                                  ("09 51 23 45 67", "voice", "tel"),
                                                  ("0692 12 34 56", "sms", "sms")])
def test_the_line_type_chooses_sms_or_voice(actors, rp, number, channel, amr):
    identifier = actors.account(phone=number)
    tokens = actors.tokens_for(rp[0], rp[1], identifier)
    message = actors.outbox()[-1]
    assert message["channel"] == channel
    if channel == "voice":
        code = actors.last_code()
        assert ", ".join(code) in message["body"]  # digits read one by one
    assert actors.id_token_claims(tokens["id_token"])["amr"] == ["pwd", "otp", amr, "mfa"]


def test_codes_are_single_use_hashed_and_expire(actors, app, rp, monkeypatch):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    code = actors.last_code()
    with app.app_context():
        record = db.session.execute(db.select(OneTimeCode)).scalar_one()
        assert code not in record.digest and len(record.digest) == 64
        assert record.expires_at - record.created_at == timedelta(minutes=5)
    # The code completes this login...
    done = actors.post_form(code_url, {"code": code}, page=page)
    assert done.status_code == 302 and not done.headers["Location"].startswith("/login/code")
    final = actors.finish_login(done)
    assert "code=" in final.headers["Location"]
    # ...and nothing more. Replaying the same POST on the finished flow authenticates no one.
    replayed = actors.post_form(code_url, {"code": code}, page=page)
    assert replayed.status_code == 400
    assert "code=" not in actors.follow(replayed).headers.get("Location", "")

    # Typed again in a new login, on another browser (no trusted device there), it is refused.
    elsewhere = Actors(app, app.test_client())
    new_code = f"{(int(code) + 1) % 10**6:06d}"  # the new flow's code, certain to differ from the old one
    monkeypatch.setattr(codes, "secrets", SimpleNamespace(randbelow=lambda _: int(new_code)))
    code_url, page = _to_code_page(elsewhere, rp, identifier)
    assert elsewhere.last_code() == new_code
    reused = elsewhere.post_form(code_url, {"code": code}, page=page)
    assert reused.status_code == 401 and "Code incorrect." in page_text(reused)
    assert "code=" not in reused.headers.get("Location", "")

    # The new code, entered once its lifetime has passed, has expired.
    with travel(timedelta(minutes=5)):
        expired = elsewhere.post_form(code_url, {"code": new_code}, page=page)
    assert expired.status_code == 401 and "expiré" in page_text(expired)


def test_wrong_codes_count_and_a_code_dies_after_its_attempts(actors, app, rp):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    code = actors.last_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(2):
        response = actors.post_form(code_url, {"code": wrong}, page=page)
        assert response.status_code == 401 and "Code incorrect." in page_text(response)
    response = actors.post_form(code_url, {"code": wrong}, page=page)
    assert "Trop d'erreurs pour ce code" in page_text(response)
    # The right code no longer works: it was voided.
    assert actors.post_form(code_url, {"code": code}, page=page).status_code == 401
    with app.app_context():
        assert _account(app, identifier).failed_logins == 3


def test_resend_waits_for_the_delay_and_a_new_code_voids_the_old(actors, app, rp):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    first = actors.last_code()
    too_soon = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
    assert too_soon.status_code == 429 and "Patientez" in page_text(too_soon)
    assert len(actors.outbox()) == 1
    with app.app_context():
        assert len(db.session.execute(db.select(OneTimeCode)).scalars().all()) == 1  # none made too soon
    with travel(timedelta(minutes=2)):
        resent = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
    assert resent.status_code == 200 and len(actors.outbox()) == 2
    second = actors.last_code()
    if first != second:
        assert actors.post_form(code_url, {"code": first}, page=page).status_code == 401
    final = actors.finish_login(actors.post_form(code_url, {"code": second}, page=page))
    assert "code=" in final.headers["Location"]


def test_an_sms_number_may_ask_for_the_code_by_voice_call(actors, app, rp):
    identifier = actors.account()  # a mobile: codes go by SMS
    code_url, page = _to_code_page(actors, rp, identifier)
    assert "Recevoir le code par appel vocal" in page_text(page)
    with travel(timedelta(minutes=2)):  # a new send waits for the resend delay like any other
        called = actors.post_form(code_url, {"action": "voice"}, form_index=2, page=page)
    assert called.status_code == 200 and "appel" in page_text(called)
    assert [m["channel"] for m in actors.outbox()] == ["sms", "voice"]
    assert "Recevoir le code par appel vocal" not in page_text(called)  # already a call
    with travel(timedelta(minutes=2)):
        final = actors.finish_login(actors.post_form(code_url, {"code": actors.last_code()}, page=called))
    assert "code=" in final.headers["Location"]
    with app.app_context():
        session = db.session.execute(db.select(AuditEvent).filter_by(event="session.start")).scalar_one()
        assert "tel" in session.detail["amr"] and "sms" not in session.detail["amr"]


def test_the_voice_call_is_offered_only_where_the_policy_allows_it(actors, app, rp):
    actors.edit_policy("  voice_on_request: true", "  voice_on_request: false")
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    assert "Recevoir le code par appel vocal" not in page_text(page)
    with travel(timedelta(minutes=2)):  # a forged request gets the policy's channel, SMS
        resent = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
        assert resent.status_code == 200
    with travel(timedelta(minutes=4)):
        forged = actors.post_form(code_url, {"action": "voice"}, form_index=1, page=page)
    assert forged.status_code == 200
    assert [m["channel"] for m in actors.outbox()] == ["sms", "sms", "sms"]


def test_send_limit_per_account(actors, app, rp):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)

    def past_the_resend_delay(sends: int):
        """The time after ``sends`` more codes, each sent once the resend delay had passed."""
        return travel(timedelta(minutes=2) * sends)

    for sends in range(1, 5):
        with past_the_resend_delay(sends):
            assert actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page).status_code == 200
    with past_the_resend_delay(5):
        limited = actors.post_form(code_url, {"action": "resend"}, form_index=1, page=page)
    assert limited.status_code == 429 and "Trop de codes" in page_text(limited)
    assert len(actors.outbox()) == 5
    with app.app_context():
        assert db.session.execute(
            db.select(AuditEvent).filter_by(event="code.send_limited")).scalar_one().detail["scope"] == "account"


def test_trusted_device_skips_the_code_for_its_account_only_and_gives_one_factor(actors, app, rp):
    alice = actors.account()
    bob = actors.account(email="bob@mairie.example", first_name="Bob")
    actors.tokens_for(rp[0], rp[1], alice)
    codes_sent = len(actors.outbox())
    again = actors.tokens_for(rp[0], rp[1], alice, prompt="login")
    claims = actors.id_token_claims(again["id_token"])
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:peps:acr:pwd"
    assert len(actors.outbox()) == codes_sent
    # Bob on the same browser still needs his own code.
    _to_code_page(actors, rp, bob, prompt="login")
    with app.app_context():
        device = db.session.execute(db.select(TrustedDevice)).scalar_one()
        assert device.account.identifier == alice
        assert device.expires_at - device.created_at == timedelta(days=7)


def test_a_trusted_device_older_than_the_policy_needs_a_code(actors, app, rp):
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    with app.app_context():
        device = db.session.execute(db.select(TrustedDevice)).scalar_one()
        device.created_at -= timedelta(days=7)
        db.session.commit()
    _to_code_page(actors, rp, identifier, prompt="login")


def test_administrators_trust_a_device_7_days_as_everyone_and_a_rule_can_shorten_it(actors, app, rp):
    identifier = actors.account(profile="administrator")
    actors.tokens_for(rp[0], rp[1], identifier)
    with app.app_context():
        device = db.session.execute(db.select(TrustedDevice)).scalar_one()
        assert device.expires_at - device.created_at == timedelta(days=7)  # the brief: every 7 days
    actors.edit_policy("rules: []", "rules:\n  - name: admins daily\n    when: {profile: administrator}\n"
                                    "    set: {trusted_device_lifetime: 1d}")
    with app.app_context():
        device = db.session.execute(db.select(TrustedDevice)).scalar_one()
        device.created_at -= timedelta(hours=25)
        db.session.commit()
    _to_code_page(actors, rp, identifier, prompt="login")


def test_the_rncps_service_always_needs_a_code(actors):
    identifier = actors.account(services=("pensions", "rncps"))
    pensions = actors.client(service="pensions")
    rncps = actors.client(service="rncps")
    actors.tokens_for(*pensions, identifier)
    single = actors.tokens_for(*pensions, identifier, prompt="login")  # trusted device: one factor
    assert actors.id_token_claims(single["id_token"])["acr"] == "urn:peps:acr:pwd"
    sent = len(actors.outbox())
    tokens = actors.tokens_for(*rncps, identifier)
    assert len(actors.outbox()) == sent + 1
    assert actors.id_token_claims(tokens["id_token"])["acr"] == "urn:peps:acr:mfa"


def test_five_failures_lock_a_local_account_and_the_password_then_points_to_reset(actors, app, rp):
    identifier = actors.account()
    code_url, page = _to_code_page(actors, rp, identifier)
    code = actors.last_code()
    actors.post_form(code_url, {"code": f"{(int(code) + 1) % 10**6:06d}"}, page=page)  # one code failure
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge, prompt="login"))
    for attempt in range(4):  # four password failures
        response = actors.submit_login(login_url, identifier, "wrong password " + str(attempt))
        assert response.status_code == 401
    with app.app_context():
        account = _account(app, identifier)
        assert account.status == "locked" and account.failed_logins == 5
    locked = actors.submit_login(login_url, identifier, PASSWORD)
    assert locked.status_code == 403
    text = page_text(locked)
    assert "bloqué" in text and "/password/forgot" in locked.get_data(as_text=True)
    # A wrong password on a locked account, or an unknown identifier: the generic answer.
    generic = "Identifiant ou mot de passe incorrect."
    assert generic in page_text(actors.submit_login(login_url, identifier, "nope nope"))
    assert generic in page_text(actors.submit_login(login_url, "XYZ123456", "x" * 12))


def test_policy_edits_apply_without_restart_and_bad_edits_are_ignored(actors, rp):
    edited = actors.edit_policy("  length: 6 ", "  length: 8 ")
    identifier = actors.account()
    _to_code_page(actors, rp, identifier)
    assert len(actors.last_code_digits()) == 8
    edited.write_text(edited.read_text().replace("  length: 8 ", "  length: four "))
    second = actors.account(email="zoe@mairie.example")
    _to_code_page(actors, rp, second, prompt="login")
    assert len(actors.last_code_digits()) == 8  # the last valid policy stays in force


def test_the_user_sees_and_revokes_trusted_workstations(actors, app, rp):
    assert actors.browser.get("/account").headers["Location"].startswith("/authorize?")  # a login first
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    page = actors.browser.get("/account")
    assert page.status_code == 200 and "Mes postes de confiance" in page_text(page)
    with app.app_context():
        device = db.session.execute(db.select(TrustedDevice)).scalar_one()
        phone = db.session.get(Account, device.account_id).phone
    text = page_text(page)
    assert f"jusqu'au {local_date(device.expires_at)}" in text  # when it stops being trusted
    assert "ce navigateur" in text  # the browser asking is marked
    assert "<dd>06 12 34 " in text and phone not in text  # the phone as people write it, not E.164
    spoken = " ".join(re.sub(r"<[^>]+>", "", text).split())  # what a screen reader reads
    assert f"Retirer le poste {device.browser} de confiance depuis le" in spoken  # each button says which
    forged = actors.browser.post(f"/account/devices/{device.id}/revoke", data={"csrf_token": "x"})
    assert forged.status_code == 400
    response = actors.post_form("/account", {})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.execute(db.select(TrustedDevice)).scalar_one().revoked_at is not None
    assert "Aucun poste de confiance." in page_text(actors.browser.get("/account"))
    _to_code_page(actors, rp, identifier, prompt="login")  # the code is asked again


def test_a_federated_session_stepping_up_is_throttled_not_locked(actors, app, rp):
    from dataclasses import replace

    from idp.models import LoginSession

    actors.edit_policy("    max_failures: 5      # never locks", "    max_failures: 2      # never locks")
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    actors.tokens_for(rp[0], rp[1], identifier, prompt="login")  # trusted device: one factor
    with app.app_context():
        session = db.session.execute(db.select(LoginSession).filter_by(ended_at=None)).scalar_one()
        # As if it came from Net-entreprises.
        session.provenance = replace(session.provenance, login_method="federated")
        db.session.commit()
    strict_id, _ = actors.client(default_acr="urn:peps:acr:mfa")
    _, challenge = pkce_pair()
    code_url = actors.at(actors.authorize(strict_id, challenge))
    assert code_url.startswith("/login/code")
    page = actors.browser.get(code_url)
    wrong = f"{(int(actors.last_code()) + 1) % 10**6:06d}"
    assert actors.post_form(code_url, {"code": wrong}, page=page).status_code == 401
    waited = actors.post_form(code_url, {"code": wrong}, page=page)
    assert waited.status_code == 429 and "n'est pas bloqué" in page_text(waited)
    with app.app_context():
        account = _account(app, identifier)
        assert account.status == "active" and account.failed_logins == 0
        assert "Retry-After" in waited.headers
