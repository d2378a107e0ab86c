"""Times as callers write them: ISO 8601 (UTC unless it has an offset, as every time of hookline's) or epoch
seconds, as a number or as text."""

from __future__ import annotations

from datetime import UTC, datetime

from hookline.core import numerals
from hookline.core.errors import Invalid

# What datetime can show again (year 1 to 9999, in UTC): a time outside it would be stored, then
# fail to render.
MIN_EPOCH = -62_135_596_800.0  # 0001-01-01T00:00:00Z
MAX_EPOCH = 253_402_300_799.0  # 9999-12-31T23:59:59Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: str | float | None, field: str) -> float | None:
    """Epoch seconds (None for None); Invalid naming ``field`` for what is not a time from year 1 to 9999
    (this refuses infinity and NaN too)."""
    if value is None:
        return None
    seconds = None if isinstance(value, bool) else _seconds(value)
    if seconds is None or not MIN_EPOCH <= seconds <= MAX_EPOCH:
        raise Invalid(f"{field} must be an ISO 8601 time or epoch seconds", fields={field: "not a time"})
    return seconds


def _seconds(value: str | float) -> float | None:
    if not isinstance(value, str):
        return float(value)
    number = numerals.decimal(value)  # ASCII only: "²" and "٣" are not numbers here
    if number is not None:
        return number  # a long run of digits is infinity, refused by the range check
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    # A difference, not .timestamp(): that overflows for the first and last hours datetime can hold.
    return (aware - _EPOCH).total_seconds()
