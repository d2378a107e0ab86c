"""The SSRF guard: which target addresses hookline refuses to connect to, and why.

A webhook URL is typed by a merchant, so without this check anyone could make hookline POST to the
operator's own network: the database, the cloud metadata service, an admin port on loopback. The policy
lives here, free of aiohttp, so the API can validate URLs at creation time with the same rules the sender
applies at connect time (``resolver.GuardedResolver``, which sees the resolved addresses).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from yarl import URL

from hookline.sender import urls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HINT = "set HOOKLINE_ALLOW_PRIVATE_TARGETS to allow it"

# Names that resolve to the instance metadata service inside a cloud; their addresses are refused
# anyway, but refusing the name too gives a clearer message and does not depend on the resolver.
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# Names that are loopback by definition (RFC 6761, and the aliases of /etc/hosts on common systems); the
# resolver would say so when sending, but a target saved with one could never be delivered to.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Blocked(Exception):
    """The guard refused a target; ``reason`` says why, in words for the merchant."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# First match wins, so the most specific words come first (169.254.169.254 is also link-local, and
# Python counts link-local and loopback as private).
_CATEGORIES: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("loopback", lambda a: a.is_loopback),
    ("a cloud metadata address", lambda a: a in _METADATA_ADDRESSES),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("in the shared address space 100.64.0.0/10", lambda a: a.version == 4 and a in _SHARED),
    ("reserved", lambda a: a.is_reserved),
    ("private", lambda a: a.is_private),
    ("not globally routable", lambda a: not a.is_global),
)


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form really reaches (``::ffff:127.0.0.1``, NAT64, 6to4), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def category(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast address (``"loopback"``, ``"private"`` …), or None."""
    target = _embedded_ipv4(address)
    for label, matches in _CATEGORIES:
        if matches(target):
            return label
    return None


def refusal(address: IPAddress, *, name: str | None = None) -> str | None:
    """The message for a refused address (reached through host ``name``, if any), or None when allowed."""
    label = category(address)
    if label is None:
        return None
    if name is None:
        return f"address {address} is {label}; {ALLOW_HINT}"
    return f"{name} resolves to {address}, which is {label}; {ALLOW_HINT}"


def parse_ip(host: str) -> IPAddress | None:
    """The address an IP-literal host names, including legacy IPv4 forms (``2130706433``, ``127.1``).

    aiohttp connects to literals without asking the resolver, so these must be checked before sending.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host.lower()) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def name_refusal(host: str) -> str | None:
    """The message for a refused host name (before resolving it), or None."""
    name = host.rstrip(".").lower()
    if name in METADATA_NAMES:
        return f"host {name} is a cloud metadata name; {ALLOW_HINT}"
    return None


def host_refusal(host: str) -> str | None:
    """The message for a refused URL host (literal address or name), or None; no DNS lookup."""
    address = parse_ip(host)
    if address is None:
        return name_refusal(host)
    if ":" not in host and str(address) != host:
        # aiohttp refuses to connect to these anyway; say so here instead of failing later.
        return f"host {host} is a non-canonical IPv4 address; write it as {address}"
    return refusal(address)


def _scheme_refusal(scheme: str, require_https: bool) -> str | None:
    if not scheme:
        return "the URL has no scheme; give one, e.g. https://example.com/hooks"
    if scheme not in ("http", "https"):
        return f"scheme {scheme!r} is not allowed; use http or https"
    if require_https and scheme != "https":
        return "https is required; set HOOKLINE_REQUIRE_HTTPS=false to allow plain http"
    return None


def check_parsed(url: URL, *, allow_private: bool, require_https: bool) -> str | None:
    """Why the sender may not connect to ``url`` (parsed once and reused), or None when it may."""
    reason = _scheme_refusal(url.scheme, require_https)
    if reason is not None:
        return reason
    host = url.raw_host
    if not host:
        return "the URL has no host"
    return None if allow_private else host_refusal(host)


def target_url(url: str, *, allow_private: bool, require_https: bool) -> str:
    """The URL to store for a target, in canonical form (see ``urls``); ``Blocked`` says why it may not be.

    Used when a target is saved. Host names are not resolved here (the answer may change by delivery
    time); the sender checks the resolved addresses when it connects. Names that are loopback by
    definition are refused here already.
    """
    try:
        parsed = urls.parse(url)
    except urls.BadUrl as exc:
        raise Blocked(exc.reason) from None
    reason = _scheme_refusal(parsed.scheme, require_https)
    if reason is None and not allow_private:
        reason = _saved_host_refusal(parsed)
    if reason is not None:
        raise Blocked(reason)
    return str(parsed)


def broker_url(url: str, *, allow_private: bool) -> str:
    """The URL to store for a broker target (``urls.BROKER_PORTS``), canonical as ``target_url`` makes it;
    ``Blocked`` says why it may not be. The same host rules hold as for HTTP targets."""
    try:
        parsed = urls.parse(url, urls.BROKER_PORTS)
    except urls.BadUrl as exc:
        raise Blocked(exc.reason) from None
    if "?" in parsed.rest or "#" in parsed.rest:
        # Drivers read options from the query (aio-pika: TLS key and CA files of this machine; redis-py:
        # connection settings): a merchant must not set them.
        raise Blocked("a broker URL takes no query (?…) or fragment (#…)")
    reason = None if allow_private else _saved_host_refusal(parsed)
    if reason is not None:
        raise Blocked(reason)
    return str(parsed)


def _saved_host_refusal(parsed: urls.TargetUrl) -> str | None:
    address = parsed.address
    if address is not None:
        return refusal(address)
    name = parsed.host.rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return f"host {name} is a loopback name; {ALLOW_HINT}"
    return name_refusal(name)
