"""Workstations as people name them: a user-agent string read as ``Firefox 128 · Windows``.

Werkzeug no longer parses user agents; the few browsers and systems the platform's
agents use are enough to name a trusted workstation and a line of "Mon historique".
"""

from __future__ import annotations

import re

_BROWSERS = (
    (r"Edg(?:e|A|iOS)?/(\d+)", "Edge"),
    (r"(?:OPR|Opera)/(\d+)", "Opera"),
    (r"SamsungBrowser/(\d+)", "Samsung Internet"),
    (r"(?:Firefox|FxiOS)/(\d+)", "Firefox"),
    (r"(?:Chrome|CriOS|Chromium)/(\d+)", "Chrome"),
    (r"Version/(\d+)[\d.]* (?:Mobile/\S+ )?Safari/", "Safari"),
    (r"(?:MSIE |Trident/.*rv:)(\d+)", "Internet Explorer"),
)
_PLATFORMS = (
    (r"Windows", "Windows"),
    (r"Android", "Android"),
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Macintosh|Mac OS X", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux|X11", "Linux"),
)
AGENT_SHOWN = 40  # characters of a user-agent that names no known browser


def short_workstation(agent: str | None) -> str:
    """A user-agent string as a person reads it: ``Firefox 128 · Windows``; one that names
    no known browser is cut short."""
    if not agent:
        return ""
    parts = []
    for pattern, name in _BROWSERS:
        match = re.search(pattern, agent)
        if match:
            parts.append(f"{name} {match.group(1)}")
            break
    for pattern, name in _PLATFORMS:
        if re.search(pattern, agent):
            parts.append(name)
            break
    if parts:
        return " · ".join(parts)
    agent = " ".join(agent.split())
    return agent if len(agent) <= AGENT_SHOWN else agent[:AGENT_SHOWN - 1] + "…"
