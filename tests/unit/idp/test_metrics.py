"""idp.metrics without a server: the configuration of /metrics, the gunicorn hooks, and
the mapping of audit events to counters."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from idp import metrics
from idp.config import ConfigError, load_settings


def _overlay(tmp_path, text):
    path = tmp_path / "overlay.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_metrics_are_on_for_loopback_only_by_default():
    settings = load_settings(environ={}).metrics
    assert settings.enabled and settings.token is None
    assert [str(n) for n in settings.allowed_networks] == ["127.0.0.0/8", "::1/128"]


def test_the_token_comes_from_the_environment_and_must_be_long(tmp_path):
    token = "t" * 32
    assert load_settings(environ={"IDP_METRICS_TOKEN": token}).metrics.token == token
    with pytest.raises(ConfigError) as short:
        load_settings(environ={"IDP_METRICS_TOKEN": "short"})
    assert "IDP_METRICS_TOKEN" in str(short.value) and "32 characters" in str(short.value)


@pytest.mark.parametrize("text", ["metrics:\n  allowed_networks: [10.0.0.1/8]\n",
                                  "metrics:\n  allowed_networks: [everyone]\n",
                                  "logging:\n  format: xml\n"])
def test_bad_metrics_or_logging_settings_name_their_key(tmp_path, text):
    with pytest.raises(ConfigError) as error:
        load_settings(_overlay(tmp_path, text), environ={})
    assert text.split(":")[0] in str(error.value)


def test_networks_from_the_file_replace_the_default(tmp_path):
    settings = load_settings(_overlay(tmp_path, "metrics:\n  allowed_networks: [10.20.0.0/16]\n"), environ={})
    assert settings.metrics.allowed_networks == [ipaddress.ip_network("10.20.0.0/16")]


@pytest.fixture
def server():
    return SimpleNamespace(log=logging.getLogger("test.gunicorn"))


def test_on_starting_empties_the_operators_folder_of_old_values_only(tmp_path, monkeypatch, server):
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "histogram_123.db").write_bytes(b"old")
    (folder / "README").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    metrics.gunicorn_on_starting(server)
    assert sorted(p.name for p in folder.iterdir()) == ["README"]
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(folder)


def test_on_starting_without_a_folder_makes_a_fresh_one(monkeypatch, server):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    metrics.gunicorn_on_starting(server)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    try:
        assert os.path.isdir(folder) and not os.listdir(folder)
    finally:
        metrics._remove_folder(Path(folder), os.getpid())
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert not os.path.exists(folder)


def _count(name: str, **labels: str) -> float:
    value = metrics.families().registry.get_sample_value(name, labels or None)
    return value or 0.0


@pytest.mark.parametrize("event, detail, sample, labels", [
    ("session.start", {"amr": ["pwd", "otp", "sms", "mfa"]}, "idp_logins_total",
     {"method": "password", "result": "success"}),
    ("session.start", {"amr": ["fed"]}, "idp_logins_total", {"method": "upstream", "result": "success"}),
    ("login.failure", {"reason": "bad password"}, "idp_logins_total", {"method": "password", "result": "failure"}),
    ("login.locked", {}, "idp_logins_total", {"method": "password", "result": "locked"}),
    ("login.locked", {"issuer": "https://up.example"}, "idp_logins_total", {"method": "upstream", "result": "locked"}),
    ("login.upstream_failure", {"reason": "throttled"}, "idp_logins_total",
     {"method": "upstream", "result": "throttled"}),
    ("code.sent", {"channel": "voice"}, "idp_codes_sent_total", {"channel": "voice", "result": "sent"}),
    ("code.send_failed", {"channel": "sms"}, "idp_codes_sent_total", {"channel": "sms", "result": "failed"}),
    ("code.send_limited", {"scope": "account"}, "idp_codes_sent_total", {"channel": "unknown", "result": "limited"}),
    ("account.locked", {}, "idp_account_locks_total", {}),
])
def test_audit_events_count_where_operators_look(monkeypatch, event, detail, sample, labels):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    before = _count(sample, **labels)
    metrics.count_event(event, detail)
    assert _count(sample, **labels) == before + 1


def test_label_values_come_from_the_code_never_from_the_request(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    before = _count("idp_tokens_issued_total", grant_type="other")
    metrics.count_token("urn:anything:a-client-made-up")
    metrics.count_token(None)
    assert _count("idp_tokens_issued_total", grant_type="other") == before + 2
    before = _count("idp_codes_sent_total", channel="unknown", result="sent")
    metrics.count_event("code.sent", {"channel": "carrier pigeon"})
    assert _count("idp_codes_sent_total", channel="unknown", result="sent") == before + 1


def test_counting_never_breaks_what_it_counts(monkeypatch, caplog):
    def broken():
        raise OSError("No space left on device")

    monkeypatch.setattr(metrics, "families", broken)
    metrics.count_event("session.start", {"amr": ["pwd"]})  # no exception: the login goes on
    metrics.count_token("client_credentials")
    assert "metrics: count_event failed" in caplog.text and "metrics: count_token failed" in caplog.text
