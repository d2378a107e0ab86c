"""The embedded portal's settings, parsed once at start: who may frame the dashboard, and its theme.

``HOOKLINE_PORTAL_FRAME_ANCESTORS``: origins (``https://platform.example``), space- or comma-separated, sent
as the dashboard's CSP ``frame-ancestors``. ``HOOKLINE_PORTAL_BRAND``: JSON ``{"name", "logo_url",
"accent"}`` shown instead of hookline's own name to a browser signed in through a portal link. A setting
that does not parse stops the start with a sentence naming it (``ValueError`` here).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_ACCENT = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_NETLOC = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?|\[[0-9A-Fa-f:.]+\](?::[0-9]+)?")
BRAND_FIELDS = ("name", "logo_url", "accent")
NAME_MAX = 80


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    logo_url: str | None = None
    accent: str | None = None  # #rgb or #rrggbb

    @property
    def logo_origin(self) -> str | None:
        return None if self.logo_url is None else origin_of(self.logo_url)

    @property
    def accent_ink(self) -> str:
        """Black or white, whichever reads better on the accent colour."""
        if self.accent is None:
            return "#ffffff"
        digits = self.accent[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        red, green, blue = (int(digits[i : i + 2], 16) for i in (0, 2, 4))
        return "#000000" if 0.299 * red + 0.587 * green + 0.114 * blue > 160 else "#ffffff"


@dataclass(frozen=True, slots=True)
class Portal:
    frame_ancestors: tuple[str, ...] = ()
    brand: Brand | None = None

    @property
    def framed(self) -> bool:
        """Whether the dashboard may be framed at all (then its cookies must cross sites)."""
        return bool(self.frame_ancestors)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL with a plain host (nothing a header could be split with)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _NETLOC.fullmatch(parts.netloc):
        return None
    if any(c.isspace() or c in ";,'\"" for c in url):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def web_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no credentials, spaces or control characters."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.username or parts.password)
    )


def parse_frame_ancestors(raw: str) -> tuple[str, ...]:
    origins = []
    for item in raw.replace(",", " ").split():
        found = origin_of(item)
        if found is None or item.rstrip("/") != found:
            raise ValueError(f"{item!r} is not an origin such as https://platform.example")
        origins.append(found)
    return tuple(dict.fromkeys(origins))


def parse_brand(raw: str) -> Brand | None:
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError("is not JSON") from None
    if not isinstance(data, dict):
        raise ValueError('must be a JSON object such as {"name": "Acme", "accent": "#0055ff"}')
    unknown = sorted(set(data) - set(BRAND_FIELDS))
    if unknown:
        raise ValueError(f"has unknown fields {unknown}; the fields are {list(BRAND_FIELDS)}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise ValueError(f"needs a name: a string of 1 to {NAME_MAX} characters")
    logo = data.get("logo_url")
    if logo is not None and (not isinstance(logo, str) or origin_of(logo) is None):
        raise ValueError("logo_url must be an http(s) URL")
    accent = data.get("accent")
    if accent is not None and (not isinstance(accent, str) or not _ACCENT.fullmatch(accent)):
        raise ValueError("accent must be a colour such as #0055ff or #05f")
    return Brand(name.strip(), logo, accent)


def parse(frame_ancestors: str, brand: str) -> Portal:
    """Both settings; ``ValueError`` names the one that does not parse."""
    try:
        ancestors = parse_frame_ancestors(frame_ancestors)
    except ValueError as exc:
        raise ValueError(f"HOOKLINE_PORTAL_FRAME_ANCESTORS: {exc}") from None
    try:
        parsed_brand = parse_brand(brand)
    except ValueError as exc:
        raise ValueError(f"HOOKLINE_PORTAL_BRAND {exc}") from None
    return Portal(ancestors, parsed_brand)
