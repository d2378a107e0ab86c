"""Names that people read (routes, merchants): their length, and the characters they may not hold.

A name is shown in the dashboard and in lists beside other names, so it must look like what it is. Some
characters are invisible or change how the text around them is shown: a right-to-left override (U+202E)
shows ``Payments<U+202E>txt.exe`` as ``Paymentsexe.txt``, a zero-width space (U+200B) makes ``Orders`` and
``Or<U+200B>ders`` two names that look the same, a line separator breaks a name in two. Such names are
refused, naming the character, rather than shown escaped: nobody needs one, and a refused name cannot
mislead anyone later, wherever it is shown.
"""

from __future__ import annotations

import unicodedata

from hookline.core.errors import Invalid

MAX_LENGTH = 200

# Unicode general categories refused anywhere in a name: controls (Cc: tab, newline, escape, NEL), format
# characters (Cf: bidi marks, overrides and isolates, zero-width space, joiners, word joiner, byte-order
# mark, soft hyphen), surrogates (Cs), and the line and paragraph separators (Zl, Zp).
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` that is invisible or reorders text, as ``U+202E``; None if none."""
    for char in text:
        if unicodedata.category(char) in _REFUSED:
            return f"U+{ord(char):04X}"
    return None


def check(name: str, what: str) -> str:
    """``name`` without surrounding spaces, or Invalid (field ``name``); ``what``: ``"a route"``, …"""
    found = hidden_character(name)
    if found is not None:
        raise Invalid(
            f"the name holds {found}, a control or invisible character that can disguise it; "
            "names are plain visible text",
            fields={"name": f"invisible or control character {found}"},
        )
    name = name.strip()
    if not name or len(name) > MAX_LENGTH:
        raise Invalid(
            f"{what} needs a name of 1 to {MAX_LENGTH} characters",
            fields={"name": f"1 to {MAX_LENGTH} characters"},
        )
    return name
