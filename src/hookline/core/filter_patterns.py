"""Ordergroove's webhook filter patterns (``/webhook_targets/{id}/filters``), as a small language.

Ordergroove documents a filter's ``pattern`` as a regular expression that joins event types with ``|``,
and every example is event types and family wildcards (``subscription.*|order.*``). Running merchants'
regular expressions means running a backtracking engine on their input: ``(?x:(.|.) *)Z`` held the event
loop for hours behind a cost estimate it fooled. So hookline accepts exactly what the documentation shows,
and no more: alternatives joined with ``|``, each one of

- an event type: ``order.success`` (a dot may be escaped, ``order\\.success``, as a regex writer would);
- a family wildcard: ``order.*`` (or ``order\\..*``);
- everything: ``*`` (or ``.*``);

optionally between ``^`` and ``$``, which change nothing: a pattern always matches the whole event type.

A pattern compiles to route patterns (``routing``: a name, ``family.*`` or ``*``), so choosing the routes of
an event is a comparison per route pattern, whatever a merchant wrote. Names are not checked against the
catalogue: ``order.refund`` is kept, as Ordergroove keeps it, and selects events once the type exists
(the ``entitlement`` family once the operator enables it).
"""

from __future__ import annotations

from typing import Final

from hookline.core.errors import Invalid

MAX_LENGTH: Final = 500  # characters of one pattern
MAX_ALTERNATIVES: Final = 50  # event types and wildcards in one pattern
EVERYTHING: Final = "*"
_WORD_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# The same language as a regular expression, for the OpenAPI document (nothing matches with it).
_WORD: Final = "[A-Za-z0-9_]+"
_ALTERNATIVE: Final = rf"\^?(?:\*|\.\*|{_WORD}(?:\\\.\.\*|\.\*)|{_WORD}(?:\\?\.{_WORD})*)\$?"
REGEX: Final = rf"^{_ALTERNATIVE}(?:\|{_ALTERNATIVE}){{0,{MAX_ALTERNATIVES - 1}}}$"
_FORMS: Final = (
    "an event type (order.success), a family wildcard (order.*) or everything (*), several joined with |"
)


def compile_pattern(pattern: object) -> list[str]:
    """The route patterns a filter pattern stands for, in its order, without repeats; Invalid naming the
    part at fault and the limits. Linear in the pattern's length."""
    if not isinstance(pattern, str) or not pattern:
        raise Invalid("a filter needs a pattern", fields={"pattern": "required"})
    if len(pattern) > MAX_LENGTH:
        raise Invalid(f"the pattern is longer than {MAX_LENGTH} characters", fields={"pattern": "too long"})
    alternatives = pattern.split("|")
    if len(alternatives) > MAX_ALTERNATIVES:
        raise Invalid(
            f"the pattern joins more than {MAX_ALTERNATIVES} event types or wildcards",
            fields={"pattern": "too many alternatives"},
        )
    found: list[str] = []
    for alternative in alternatives:
        compiled = _alternative(alternative)
        if compiled not in found:
            found.append(compiled)
    return found


def _alternative(text: str) -> str:
    body = text.removeprefix("^").removesuffix("$")
    if body in ("*", ".*"):
        return EVERYTHING
    for suffix in ("\\..*", ".*"):
        if body.endswith(suffix) and _word(body[: -len(suffix)]):
            return body[: -len(suffix)] + ".*"
    name = body.replace("\\.", ".")
    if all(_word(part) for part in name.split(".")):
        return name
    raise Invalid(
        f"{text!r} is not a filter pattern: write {_FORMS}; other regular expression syntax is not accepted",
        fields={"pattern": "not a filter pattern"},
    )


def _word(text: str) -> bool:
    return bool(text) and all(char in _WORD_CHARS for char in text)
