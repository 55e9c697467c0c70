"""A workstation named as a person reads it, from the user-agent string."""

import pytest

from idp.workstations import short_workstation


@pytest.mark.parametrize(("agent", "shown"), [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox 128 · Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.0.0 Safari/537.36", "Chrome 126 · macOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86", "Edge 131 · Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Mobile Safari 17 · iOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/126.0.6478.122 Mobile Safari/537.36", "Chrome Mobile 126 · Android"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 "
     "Safari/537.36", "HeadlessChrome 156 · Linux"),
])
def test_known_browsers_are_named_with_their_system(agent, shown):
    assert short_workstation(agent) == shown


def test_an_unknown_agent_is_cut_short_and_nothing_stays_nothing():
    assert short_workstation("x" * 100).endswith("…") and len(short_workstation("x" * 100)) == 40
    assert short_workstation("curl/8.5.0") == "curl 8"  # the parser knows command-line clients too
    assert short_workstation(None) == ""
    assert short_workstation("   ") == ""
