"""A burst of simultaneous "send again" or "call me" requests sends one code, not one per
request: the resend delay and the send limits hold under concurrency (PostgreSQL, where
several workers really run at once; SQLite is the single-node embedded default)."""

import re
import threading
from datetime import timedelta

import pytest

from idp.clock import travel
from tests.helpers import html_unescape, pkce_pair


@pytest.fixture
def database_url(postgres_url):
    return postgres_url


@pytest.mark.parametrize("action", ["voice", "resend"])
def test_simultaneous_sends_give_one_code(actors, app, action):
    client_id, _ = actors.client()
    identifier = actors.account()
    _, challenge = pkce_pair()
    code_url = actors.submit_login(actors.at(actors.authorize(client_id, challenge)),
                                   identifier).headers["Location"]
    html = actors.browser.get(code_url).get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    target, body = next((a, b) for a, b in forms if f'value="{action}"' in b)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
    cookies = [(c.key, c.value, c.domain) for c in actors.browser._cookies.values()]
    start, answers = threading.Barrier(12), []

    def ask():
        browser = app.test_client()
        for key, value, domain in cookies:
            browser.set_cookie(key, value, domain=domain)
        start.wait()
        answers.append(browser.post(html_unescape(target), data=fields).status_code)

    with travel(timedelta(minutes=2)):  # past the first code's resend delay
        threads = [threading.Thread(target=ask) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(actors.outbox()) == 2  # the first code, then exactly one more
    assert sorted(answers).count(200) == 1 and set(answers) <= {200, 429}
