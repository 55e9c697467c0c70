"""The home page says what this is and leads to the account console (issue 10's first hour)."""

from tests.helpers import page_text


def test_the_home_page_leads_to_mon_compte(browser):
    page = browser.get("/")
    assert page.status_code == 200
    assert "Mon compte" in page_text(page) and 'href="/account?ui_locales=fr"' in page_text(page)
    english = browser.get("/", headers={"Accept-Language": "en"})
    assert "My account" in page_text(english)
    # Two clicks to a login: the account link starts the console's own login.
    assert browser.get("/account?ui_locales=fr").headers["Location"].startswith("/authorize?")
