"""Upstream identity providers (Net-entreprises, ProConnect, any OpenID provider).

Each upstream starts a login and finishes it into one shared :class:`UpstreamIdentity`;
which upstreams exist is configuration, not code.
"""

from .base import Upstream, UpstreamError, UpstreamIdentity, UpstreamRequest

__all__ = ["Upstream", "UpstreamError", "UpstreamIdentity", "UpstreamRequest"]
