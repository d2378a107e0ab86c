"""Target URLs read as a browser reads them, so that the host judged is the host connected to.

A URL's host can be written in many ways that reach one address: ``127.0.0.1.``, ``2130706433``, ``0x7f.1``,
``%6c%6f%63%61%6c%68%6f%73%74``, ``localhost`` in full-width letters (U+FF4C …), ``127`` and ``0`` joined by
ideographic full stops (U+3002). HTTP clients and resolvers read these forms, but a guard that compares the
text as written does not, so each of them once passed the check at save and was only refused when sending.
Here the host is parsed as the WHATWG URL Standard's host parser does for http(s) (what browsers, curl and
most clients converge on): percent-decoded, mapped by UTS #46 (IDNA, through the ``idna`` package) and
encoded to ASCII, and a host that ends in a number read as an IPv4 address in any of its legacy forms
(decimal, octal, hex, fewer than four parts). The canonical form is what the guard judges and what is
stored, so the sender later connects to exactly what was checked.

Forms that clients read differently are refused rather than guessed at: backslashes (a browser reads them
as slashes, other clients do not), anything but ``//`` after the scheme, control characters anywhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import idna

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Message brokers a target may publish to instead (``hookline.sender.destinations``).
BROKER_PORTS = {"redis": 6379, "rediss": 6379, "nats": 4222, "tls": 4222, "amqp": 5672, "amqps": 5671}
# The URL Standard's forbidden domain code points: none may be left in a host once it is decoded and mapped.
_FORBIDDEN_IN_HOST = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(map(chr, range(0x20)))


class BadUrl(ValueError):
    """A URL hookline will not store; ``reason`` says why, in words for the merchant."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class TargetUrl:
    scheme: str  # lower case
    userinfo: str  # "user:password@" as written, or ""
    host: str  # a lower-case ASCII domain (as written, trailing dot and all), a dotted IPv4, or "[IPv6]"
    port: int | None  # None: the scheme's default
    rest: str  # path (at least "/"), query and fragment, as written

    @property
    def address(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The address a literal host names; None for a domain name."""
        try:
            return ipaddress.ip_address(self.host.strip("[]"))
        except ValueError:
            return None

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{self.scheme}://{self.userinfo}{self.host}{port}{self.rest}"


def parse(url: str, ports: Mapping[str, int] = DEFAULT_PORTS) -> TargetUrl:
    """``url`` (surrounding spaces aside) with its host in canonical form, or BadUrl; ``ports``: the schemes
    accepted, with their default ports."""
    url = url.strip(" ")
    control = next((c for c in url if c < " " or c == "\x7f"), None)
    if control is not None:
        raise BadUrl(f"the URL holds the control character U+{ord(control):04X} (a tab or line break?)")
    if "\\" in url:
        raise BadUrl("the URL holds a backslash; write / in a path, or %5C")
    found = _SCHEME.match(url)
    if found is None:
        raise BadUrl("the URL has no scheme; give one, e.g. https://example.com/hooks")
    scheme, after = found[1].lower(), url[found.end() :]
    if scheme not in ports:
        raise BadUrl(f"scheme {scheme!r} is not allowed; use {' or '.join(ports)}")
    if not after.startswith("//") or after.startswith("///"):
        raise BadUrl(f"write the URL as {scheme}://host/path")
    authority, rest = _split_authority(after[2:])
    userinfo, at, host_port = authority.rpartition("@")  # the last @ ends the user info, as in browsers
    host, port = _host_and_port(host_port)
    return TargetUrl(
        scheme=scheme,
        # An @ inside the user info is encoded, as browsers do: clients that split at the first @ would
        # otherwise read another host out of it.
        userinfo=userinfo.replace("@", "%40") + at,
        host=canonical_host(host),
        port=None if port == ports[scheme] else port,
        rest=rest if rest.startswith("/") else "/" + rest,
    )


def _split_authority(text: str) -> tuple[str, str]:
    end = min((i for i in (text.find(c) for c in "/?#") if i >= 0), default=len(text))
    return text[:end], text[end:]


def _host_and_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise BadUrl("the URL's IPv6 address has no closing ]")
        host, after = text[: close + 1], text[close + 1 :]
        if after and not after.startswith(":"):
            raise BadUrl("the URL has text after its IPv6 address")
        digits = after[1:]
    else:
        host, _, digits = text.partition(":")
    if not digits:
        return host, None
    if not digits.isascii() or not digits.isdigit() or int(digits) > 65535:
        raise BadUrl(f"the URL's port {digits!r} is not a number from 0 to 65535")
    return host, int(digits)


def canonical_host(host: str) -> str:
    """The host as the URL Standard serialises it: ``[v6]``, a dotted IPv4, or a lower-case ASCII domain."""
    if not host:
        raise BadUrl("the URL has no host")
    if host.startswith("["):
        return f"[{_ipv6(host[1:-1])}]"
    try:
        decoded = unquote_to_bytes(host).decode("utf-8")
        mapped = idna.uts46_remap(decoded, std3_rules=False, transitional=False)
    except (UnicodeDecodeError, idna.IDNAError):
        raise BadUrl(f"host {host!r} is not a valid host name") from None
    ascii_host = ".".join(_ascii_label(label, host) for label in mapped.split("."))
    bad = next((c for c in ascii_host if c in _FORBIDDEN_IN_HOST), None)
    if bad is not None or not ascii_host.strip("."):
        raise BadUrl(f"host {host!r} is not a valid host name")
    if _ends_in_a_number(ascii_host):
        return str(_ipv4(ascii_host, host))
    return ascii_host


def _ipv6(text: str) -> str:
    if "%" in text:  # a zone id means an interface of this machine, and browsers refuse it
        raise BadUrl("the URL's IPv6 address has a zone id (%)")
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        raise BadUrl(f"[{text}] is not a valid IPv6 address") from None


def _ascii_label(label: str, host: str) -> str:
    if label.isascii():
        return label
    try:
        return idna.alabel(label).decode("ascii")
    except idna.IDNAError as exc:
        raise BadUrl(f"host {host!r} is not a valid international domain name: {exc}") from None


def _parts(host: str) -> list[str]:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing dot: 127.0.0.1. is 127.0.0.1
    return parts


def _ends_in_a_number(host: str) -> bool:
    """The URL Standard's test: a host whose last label is a number is an IPv4 address, or invalid."""
    last = _parts(host)[-1]
    return (last.isascii() and last.isdigit()) or _ipv4_number(last) is not None


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address: decimal, ``0x`` hex or ``0`` octal, as ``inet_aton`` reads it."""
    if not part:
        return None
    radix = 10
    if part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    if not part.isascii() or not part.isalnum():
        return None
    try:
        return int(part, radix)
    except ValueError:
        return None


def _ipv4(host: str, written: str) -> ipaddress.IPv4Address:
    numbers = [_ipv4_number(part) for part in _parts(host)]
    if len(numbers) > 4 or any(n is None for n in numbers):
        raise BadUrl(f"host {written!r} ends in a number but is not an IPv4 address")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise BadUrl(f"host {written!r} is an IPv4 address out of range")
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n * 256 ** (3 - i)
    return ipaddress.IPv4Address(address)
