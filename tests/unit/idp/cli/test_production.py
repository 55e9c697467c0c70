"""The `idp` command under a production configuration: no demo data, and a voice key
that cannot be read stops it with the variable's name."""

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.cli import main


def _pkcs8() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def production(tmp_path, monkeypatch, project_root):
    text = (project_root / "config" / "production.example.yaml").read_text(encoding="utf-8")
    text = (text.replace("instance_path: /var/lib/peps-idp", f"instance_path: {tmp_path / 'instance'}")
            .replace("policy_file: /etc/peps-idp/policy.yaml",
                     f"policy_file: {project_root / 'policies' / 'default.yaml'}"))
    overlay = tmp_path / "production.yaml"
    overlay.write_text(text, encoding="utf-8")
    database = tmp_path / "production.sqlite3"
    for name, value in {"IDP_CONFIG": str(overlay), "IDP_DATABASE_URL": f"sqlite:///{database}",
                        "IDP_SECRET_KEY": "k" * 40, "IDP_SMTP_PASSWORD": "p", "IDP_VONAGE_API_SECRET": "s",
                        "IDP_VONAGE_PRIVATE_KEY": _pkcs8(), "IDP_UPSTREAM_NET_ENTREPRISES_SECRET": "u"}.items():
        monkeypatch.setenv(name, value)
    return database


def test_demo_data_is_refused_in_production(production):
    result = CliRunner().invoke(main, ["init", "--demo"])
    assert result.exit_code == 1
    assert "--demo is refused when environment is production" in result.output
    assert "password" not in result.output.lower().split("known passwords")[0]
    assert not production.exists()  # refused before anything is written
    assert CliRunner().invoke(main, ["init"]).exit_code == 0  # init alone is fine
    assert production.exists()


def test_an_unreadable_voice_key_names_its_variable(production, monkeypatch):
    monkeypatch.setenv("IDP_VONAGE_PRIVATE_KEY", "pem")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    assert "$IDP_VONAGE_PRIVATE_KEY: messages.vonage.private_key" in result.output
    assert "Traceback" not in result.output
