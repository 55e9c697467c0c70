"""Workstations as people name them: a user-agent string read as ``Firefox 128 · Windows``.

Werkzeug no longer parses user agents (2.1); the maintained ``ua-parser`` project and its
regular expressions name the browser and the system. Its pure-Python resolver compiles
each expression only when first needed and a small cache answers the usual few browsers
of an establishment, so a worker pays neither the memory of the whole set nor a
native extension.
"""

from __future__ import annotations

from functools import cache

from ua_parser import BasicResolver, Parser
from ua_parser.caching import CachingResolver, Lru
from ua_parser.loaders import load_lazy_builtins

AGENT_SHOWN = 40  # characters of a user-agent that names no known browser
_SYSTEMS = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}  # the names people use today


@cache
def _parser() -> Parser:
    return Parser(CachingResolver(BasicResolver(load_lazy_builtins()), Lru(256)))


def short_workstation(agent: str | None) -> str:
    """A user-agent string as a person reads it: ``Firefox 128 · Windows``; one that names
    no known browser is cut short."""
    if not agent:
        return ""
    agent = " ".join(agent.split())[:512]
    found = _parser().parse(agent)
    parts = []
    if found.user_agent is not None and found.user_agent.family != "Other":
        browser = found.user_agent
        parts.append(f"{browser.family} {browser.major}" if browser.major else browser.family)
    if found.os is not None and found.os.family != "Other":
        parts.append(_SYSTEMS.get(found.os.family, found.os.family))
    if parts:
        return " · ".join(parts)
    return agent if len(agent) <= AGENT_SHOWN else agent[:AGENT_SHOWN - 1] + "…"
