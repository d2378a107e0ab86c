"""Times as callers write them: ISO 8601 (UTC unless it has an offset, as every time of hookline's) or epoch
seconds, as a number or as text."""

from __future__ import annotations

from datetime import UTC, datetime

from hookline.errors import Invalid

MAX_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z: beyond it datetime overflows


def parse_time(value: str | float | None, field: str) -> float | None:
    """Epoch seconds (None for None); Invalid naming ``field`` for what is not a time from 1970 to 9999
    (this refuses infinity and NaN too)."""
    if value is None:
        return None
    seconds = None if isinstance(value, bool) else _seconds(value)
    if seconds is None or not 0 <= seconds <= MAX_EPOCH:
        raise Invalid(f"{field} must be an ISO 8601 time or epoch seconds", fields={field: "not a time"})
    return seconds


def _seconds(value: str | float) -> float | None:
    # ASCII digits only: str.isdigit() is also true of "²" and "٣", which float() refuses or reads as 3.
    if not isinstance(value, str) or (value.isascii() and value.replace(".", "", 1).isdigit()):
        return float(value)  # a long run of digits is infinity, refused by the range check
    try:
        parsed = datetime.fromisoformat(value)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    except (ValueError, OverflowError):
        return None
