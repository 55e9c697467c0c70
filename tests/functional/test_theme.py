"""A theme folder changes the logo, colours and texts without touching the code; the
footer's links come from the configuration."""

import shutil
from pathlib import Path

import pytest

from idp import create_app
from idp.config import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "themes" / "example"


@pytest.fixture
def theme(tmp_path):
    folder = tmp_path / "theme"
    shutil.copytree(EXAMPLE, folder)
    return folder


@pytest.fixture
def settings_overrides(settings_overrides, theme):
    return {**settings_overrides, "site": {
        "theme_dir": str(theme), "publisher": "Mairie de Démoville", "accessibility_status": "none",
        "links": {"legal": "https://demoville.example/mentions"}}}


def test_the_theme_replaces_logo_colours_and_texts(browser):
    page = browser.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Portail des agents de Démoville" in page  # a text replaced by key
    assert 'href="/theme/theme.css"' in page and '<img src="/theme/logo.svg"' in page
    with browser.get("/theme/theme.css") as css:
        assert css.status_code == 200 and b"#18753c" in css.get_data()
    assert browser.get("/theme/../../../etc/passwd").status_code == 404
    english = browser.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Démoville agents&#39; portal" in english


def test_the_footer_links_come_from_the_configuration(browser):
    page = browser.get("/login/nothing-here").get_data(as_text=True)  # error pages too
    assert 'href="https://demoville.example/mentions"' in page
    assert 'href="/donnees-personnelles"' in page and "Accessibilité\u00a0: non conforme" in page
    statement = browser.get("/accessibilite").get_data(as_text=True)
    assert "Mairie de Démoville s&#39;engage" in statement and "aucun audit" in statement


def test_an_unknown_text_key_in_the_theme_stops_start_up(settings_overrides, theme):
    (theme / "i18n" / "texts.fr.yaml").write_text("app.titel: Typo\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        create_app(settings_overrides)
    assert "texts.fr.yaml" in str(raised.value) and "app.titel" in str(raised.value)


def test_without_a_theme_the_default_pages_stand(settings_overrides):
    plain = create_app({**settings_overrides, "site": {}})
    client = plain.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "/theme/" not in page and 'href="/mentions-legales"' in page
    assert client.get("/theme/theme.css").status_code == 404
    for path in ("/mentions-legales", "/donnees-personnelles", "/accessibilite"):
        assert client.get(path).status_code == 200
