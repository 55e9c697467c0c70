"""Configuration loading: every problem names the file, the key and the problem."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idp import create_app
from idp.config import DEFAULT_CONFIG, ConfigError, SiteConfig, SiteLinks, load_settings
from idp.policy import PolicyError, load_policy


@pytest.fixture(scope="module")
def pem() -> str:
    """A voice API key as Vonage hands it out: PKCS#8 PEM (the configuration loads it to check)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _overlay(tmp_path, text):
    path = tmp_path / "overlay.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_load(tmp_path):
    settings = load_settings(environ={})
    assert settings.issuer == "http://127.0.0.1:5000"
    assert settings.oidc.authorization_code_lifetime.total_seconds() == 60


@pytest.mark.parametrize(
    "text, key, problem",
    [
        ("issuer: ftp://x\n", "issuer", "absolute http(s) URL"),
        ("issuer: https://idp.example/\n", "issuer", "trailing slash"),
        ("oidc:\n  access_token_lifetime: soon\n", "oidc.access_token_lifetime", "duration"),
        ("oidc:\n  rsa_key_size: 1024\n", "oidc.rsa_key_size", "at least 2048"),
        ("oidc:\n  signing_alg: HS256\n", "oidc.signing_alg", "RS256"),
        ("sesion:\n  lifetime: 1h\n", "sesion", "not a known key"),
    ],
)
def test_bad_overlay_names_file_key_and_problem(tmp_path, text, key, problem):
    path = _overlay(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert caught.value.file == str(path)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(path) in str(caught.value) and key in str(caught.value)


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path / "missing.yaml", environ={})
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(_overlay(tmp_path, "issuer: [unclosed\n"), environ={})
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(_overlay(tmp_path, "- a\n- b\n"), environ={})


def test_idp_config_environment_variable_names_the_overlay(tmp_path):
    path = _overlay(tmp_path, "issuer: https://idp.example.test\n")
    settings = load_settings(environ={"IDP_CONFIG": str(path)})
    assert settings.issuer == "https://idp.example.test"


def test_production_refuses_development_settings(tmp_path, pem):
    base = "environment: production\nissuer: https://idp.example.test\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, "environment: production\n"), environ={"IDP_SECRET_KEY": "x" * 40})
    assert caught.value.key == "issuer" and "https" in caught.value.problem
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, base), environ={"IDP_SECRET_KEY": "x" * 40})
    assert caught.value.key == "messages.sms" and caught.value.file == str(DEFAULT_CONFIG)
    real = "messages:\n  sms: [vonage_sms]\n  voice: [vonage_voice]\n  email: [smtp]\n"
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, base + real.replace("[smtp]", "[smtp, console]")),
                      environ={"IDP_SECRET_KEY": "x" * 40})
    assert caught.value.key == "messages.email"
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, base + real), environ={"IDP_SECRET_KEY": "x" * 40})
    assert caught.value.key == "messages.vonage.api_key" and "required" in caught.value.problem
    vonage = real + "  vonage:\n    api_key: k\n    application_id: app\n    voice_caller_number: '+33900000000'\n"
    environ = {"IDP_SECRET_KEY": "x" * 40, "IDP_VONAGE_API_SECRET": "s"}
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, base + vonage), environ=environ)
    assert caught.value.key == "IDP_VONAGE_PRIVATE_KEY"
    settings = load_settings(_overlay(tmp_path, base + vonage), environ={**environ, "IDP_VONAGE_PRIVATE_KEY": pem})
    assert settings.messages.vonage.private_key == pem
    with pytest.raises(ConfigError) as caught:
        load_settings(_overlay(tmp_path, "messages:\n  sms: [smtp]\n"), environ={})
    assert caught.value.key == "messages" and "cannot send sms" in caught.value.problem


def test_secrets_come_from_the_environment(tmp_path):
    settings = load_settings(environ={"IDP_SECRET_KEY": "s" * 40, "IDP_DATABASE_URL": "sqlite:////tmp/x.db"})
    assert settings.secret_key == "s" * 40
    assert settings.database_url == "sqlite:////tmp/x.db"


def test_create_app_stops_on_bad_policy(tmp_path, project_root):
    policy = tmp_path / "policy.yaml"
    text = (project_root / "policies" / "default.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("min_length: 12", "min_length: 4"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        create_app({"policy_file": str(policy), "instance_path": str(tmp_path)})
    assert caught.value.key == "passwords.min_length"
    assert caught.value.file == str(policy)
    assert caught.value.line == text.splitlines().index("  min_length: 12") + 1


def test_default_policy_holds_the_seed_numbers(project_root):
    policy = load_policy(project_root / "policies" / "default.yaml")
    assert policy.lockout.local.max_failures == 5
    assert policy.acr_values == ["urn:peps:acr:pwd", "urn:peps:acr:mfa"]


@pytest.mark.parametrize("upstream, key, problem", [
    ({"id": "ne", "issuer": "http://ne.example", "client_id": "c"}, "upstreams.0.issuer", "https"),
    ({"id": "Net Entreprises", "issuer": "https://ne.example", "client_id": "c"}, "upstreams.0.id", "pattern"),
    ({"id": "ne", "issuer": "https://ne.example"}, "upstreams.0.client_id", "required"),
    ({"id": "ne", "issuer": "https://ne.example", "client_id": "c", "claims": {"nir": "x"}}, "upstreams.0.claims",
     "siret"),
    ({"id": "ne", "issuer": "https://ne.example", "client_id": "c"}, "IDP_UPSTREAM_NE_SECRET", "required"),
])
def test_bad_upstream_configuration_names_the_key(tmp_path, upstream, key, problem):
    import json

    path = _overlay(tmp_path, json.dumps({"upstreams": [upstream]}))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert caught.value.key.startswith(key)
    assert problem in caught.value.problem


def test_upstream_secret_from_the_environment(tmp_path):
    import json

    path = _overlay(tmp_path, json.dumps({"upstreams": [
        {"id": "net-entreprises", "kind": "net-entreprises", "issuer": "https://ne.example", "client_id": "c"}]}))
    settings = load_settings(path, environ={"IDP_UPSTREAM_NET_ENTREPRISES_SECRET": "s3cret"})
    assert settings.upstreams[0].client_secret == "s3cret"
    with pytest.raises(ConfigError, match="unique"):
        load_settings(_overlay(tmp_path, json.dumps({"upstreams": [
            {"id": "a", "issuer": "https://a.example", "client_id": "c", "client_secret": "s"},
            {"id": "a", "issuer": "https://b.example", "client_id": "c", "client_secret": "s"}]})), environ={})


def test_the_production_example_loads_with_its_secrets_and_refuses_without(project_root, pem):
    example = project_root / "config" / "production.example.yaml"
    secrets = {
        "IDP_SECRET_KEY": "k" * 40, "IDP_SMTP_PASSWORD": "p", "IDP_VONAGE_API_SECRET": "s",
        "IDP_VONAGE_PRIVATE_KEY": pem, "IDP_UPSTREAM_NET_ENTREPRISES_SECRET": "u",
    }
    settings = load_settings(example, environ=secrets)
    assert settings.environment == "production" and settings.upstreams[0].client_secret == "u"
    with pytest.raises(ConfigError) as caught:
        load_settings(example, environ={k: v for k, v in secrets.items() if k != "IDP_UPSTREAM_NET_ENTREPRISES_SECRET"})
    assert caught.value.key == "IDP_UPSTREAM_NET_ENTREPRISES_SECRET"


def test_the_issuer_can_come_from_the_environment():
    """`make run PORT=N` serves on another port with the matching issuer."""
    settings = load_settings(environ={"IDP_ISSUER": "http://127.0.0.1:5050"})
    assert settings.issuer == "http://127.0.0.1:5050"


@pytest.mark.parametrize("support", ["javascript:alert(document.domain)//@x.fr", "/\\evil.example/x",
                                     "mailto:a@b.fr?x", "a @b.fr", "ftp://files.example/"])
def test_the_support_contact_is_an_address_or_a_web_link_nothing_else(support):
    with pytest.raises(ValueError):
        SiteConfig(support=support)


def test_the_support_contact_becomes_a_mailto_or_stays_a_link():
    assert SiteConfig(support="aide@peps.example.fr").support_href == "mailto:aide@peps.example.fr"
    assert SiteConfig(support="https://peps.example.fr/aide").support_href == "https://peps.example.fr/aide"
    assert SiteConfig().support_href is None


@pytest.mark.parametrize("link", ["/\\evil.example/x", "//evil.example/", "javascript:alert(1)", "/a b"])
def test_a_footer_link_is_a_local_path_or_a_web_url(link):
    with pytest.raises(ValueError):
        SiteLinks(legal=link)
