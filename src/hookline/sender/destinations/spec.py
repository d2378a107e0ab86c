"""Which broker URLs and destinations a target may have, and how such a URL is shown back.

Pure: no driver is imported here, so the API and the service layer validate with the rules the sender uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hookline.sender import urls
from hookline.sender.destinations import keyed

# URL scheme -> broker module name.
KINDS = {"redis": "redis", "rediss": "redis", "nats": "nats", "tls": "nats", "amqp": "amqp", "amqps": "amqp"}
MASK = "****"
MAXLEN_MAX = 2**63 - 1  # Redis's largest MAXLEN


class BadDestination(ValueError):
    """A destination hookline will not store; ``field`` names the part, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(reason)


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case (``""`` when it has none)."""
    scheme, sep, _ = url.strip(" ").partition("://")
    return scheme.lower() if sep else ""


def kind_of(url: str) -> str | None:
    """The broker module a URL publishes through (``"redis"``, ``"nats"``, ``"amqp"``), None for HTTP."""
    return KINDS.get(scheme_of(url))


def _text(
    destination: Mapping[str, Any],
    name: str,
    *,
    required: bool,
    empty_ok: bool,
    limit: int = 255,
    why: str = "",
) -> str | None:
    value = destination.get(name)
    if value is None:
        if required:
            raise BadDestination(name, "required")
        return None
    if not isinstance(value, str):
        raise BadDestination(name, "must be a string")
    if not value and not empty_ok:
        raise BadDestination(name, "must not be empty")
    if len(value.encode()) > limit:
        raise BadDestination(name, f"too long ({limit} bytes at most{why})")
    if any(c < " " or c == "\x7f" for c in value):
        raise BadDestination(name, "must not hold control characters")
    return value


def _redis(destination: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {"stream": _text(destination, "stream", required=True, empty_ok=False)}
    maxlen = destination.get("maxlen")
    if isinstance(maxlen, float) and maxlen.is_integer():
        maxlen = int(maxlen)  # JSON Schema's integers include 1000.0
    if maxlen is not None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or not 1 <= maxlen <= MAXLEN_MAX:
            raise BadDestination("maxlen", f"must be a whole number from 1 to {MAXLEN_MAX}")
        checked["maxlen"] = maxlen
    return checked


def _nats(destination: Mapping[str, Any]) -> dict[str, Any]:
    subject = _text(destination, "subject", required=True, empty_ok=False)
    assert subject is not None
    tokens = subject.split(".")
    if any(not token or " " in token for token in tokens):
        raise BadDestination("subject", "must be dot-separated tokens, none empty, without spaces")
    if any(token in ("*", ">") for token in tokens):
        raise BadDestination("subject", "must not hold wildcards (* or >): publish to one subject")
    return {"subject": subject}


def _amqp(destination: Mapping[str, Any]) -> dict[str, Any]:
    # "" is the default exchange (routing to the queue named by the routing key) and a valid routing key.
    exchange = _text(destination, "exchange", required=True, empty_ok=True)
    # On a named exchange an ordered delivery adds ".<key>" (``keyed``), and the whole is a short string.
    limit, why = keyed.ROUTING_KEY_MAX, ""
    if exchange:
        limit -= keyed.SUFFIX_ROOM
        why = (
            f" on a named exchange: an ordered delivery adds .<key> (shortened to fit), and a routing key "
            f"is {keyed.ROUTING_KEY_MAX} bytes at most in all"
        )
    routing_key = _text(destination, "routing_key", required=True, empty_ok=True, limit=limit, why=why)
    return {"exchange": exchange, "routing_key": routing_key}


_CHECKS: dict[str, tuple[frozenset[str], Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "redis": (frozenset({"stream", "maxlen"}), _redis),
    "nats": (frozenset({"subject"}), _nats),
    "amqp": (frozenset({"exchange", "routing_key"}), _amqp),
}


def check(kind: str, destination: object) -> dict[str, Any]:
    """``destination`` as stored for a ``kind`` broker, or BadDestination; unknown fields are refused."""
    if not isinstance(destination, Mapping):
        raise BadDestination("destination", f"a {kind} target needs a destination object")
    known, checker = _CHECKS[kind]
    unknown = sorted(set(destination) - known)
    if unknown:
        raise BadDestination(
            unknown[0], f"unknown field; a {kind} destination has {', '.join(sorted(known))}"
        )
    return checker(destination)


def masked(url: str) -> str:
    """A broker URL with its password (a NATS token: the whole user info) replaced by ``****``.

    Broker credentials are write-only: what the API, the dashboard and the logs show goes through here."""
    kind = kind_of(url)
    if kind is None:
        return url
    try:
        parsed = urls.parse(url, urls.BROKER_PORTS)
    except urls.BadUrl:
        return url
    if not parsed.userinfo:
        return url
    user, colon, _ = parsed.userinfo[:-1].partition(":")
    # Without a colon the user info is a user name, but for NATS a token: a secret too.
    secret_alone = kind == "nats"
    userinfo = f"{user}:{MASK}@" if colon else (f"{MASK}@" if secret_alone else parsed.userinfo)
    return str(urls.TargetUrl(parsed.scheme, userinfo, parsed.host, parsed.port, parsed.rest))
