"""Numbers that callers write as text (query parameters, form fields, cursors): ASCII digits only.

Python's ``int()`` and ``float()`` also read the digits of other scripts (``"٣"``, an Arabic-Indic three,
is 3), while ``str.isdigit()`` is also true of ``"²"``, which they refuse: read as they come, a caller's
Unicode digits were a number in one place and a 500 in another. Whatever reads a number from text reads
it here.
"""

from __future__ import annotations


def integer(text: str) -> int | None:
    """The integer ``text`` spells in ASCII (signs, spaces around and ``_`` between digits as ``int()``
    takes them), or None."""
    if not text.isascii():
        return None
    try:
        return int(text)
    except ValueError:
        return None


def decimal(text: str) -> float | None:
    """The number ``text`` spells in ASCII (``1.5``, ``-2``, ``1e3``; ``inf`` and ``nan`` too, which the
    caller refuses where they make no sense), or None."""
    if not text.isascii():
        return None
    try:
        return float(text)
    except ValueError:
        return None
