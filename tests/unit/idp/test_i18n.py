"""Every text exists in French and in English."""

from idp.i18n import messages


def test_french_and_english_have_the_same_keys():
    assert set(messages("fr")) == set(messages("en"))
    assert all(text.strip() for text in messages("fr").values())
