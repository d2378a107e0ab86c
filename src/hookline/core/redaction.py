"""What the record of an attempt keeps of the headers it sent: credentials read ``[redacted]``.

Attempts are shown in the API and the dashboard (to a read-only portal session too), so a credential that
went out with one must not be readable there, whoever put it in the request: a target's endpoint
authentication (``sender/endpoint_auth.py``) or a route's own headers (``"headers": {"Authorization": …}``,
an API key header). A header is taken for a credential by its name: the standard ones (``Authorization``,
``Proxy-Authorization``, ``Cookie``) and any name with a word that credentials go by (auth, token, secret,
password, session, api-key). hookline's own headers (signatures, ids, the ordering key) are kept: they are
no secret, and a receiver's developer needs to see them.
"""

from __future__ import annotations

from collections.abc import Mapping

REDACTED = "[redacted]"

_NAMES = frozenset({"authorization", "proxy-authorization", "cookie"})
_WORDS = ("auth", "token", "secret", "password", "passwd", "session", "api-key", "api_key", "apikey")


def sensitive(name: str) -> bool:
    """Whether a header of this name carries a credential."""
    lowered = name.lower()
    return lowered in _NAMES or any(word in lowered for word in _WORDS)


def recorded(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as an attempt's record keeps them: each credential's value replaced."""
    return {name: REDACTED if sensitive(name) else value for name, value in headers.items()}
