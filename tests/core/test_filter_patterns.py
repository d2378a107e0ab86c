"""Ordergroove filter patterns (``filter_patterns``): the language and its regular expression, which the
OpenAPI document publishes, accept exactly the same patterns."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from hookline.core import filter_patterns
from hookline.core.errors import Invalid

REGEX = re.compile(filter_patterns.REGEX)


def _accepted(pattern: str) -> bool:
    try:
        filter_patterns.compile_pattern(pattern)
    except Invalid:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.from_regex(REGEX, fullmatch=True).filter(lambda p: len(p) <= filter_patterns.MAX_LENGTH))
def test_what_the_regex_matches_is_accepted(pattern: str) -> None:
    assert _accepted(pattern), pattern


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab_.*|^$\\ ", max_size=30))
def test_what_is_accepted_the_regex_matches(pattern: str) -> None:
    assert _accepted(pattern) == bool(REGEX.fullmatch(pattern)), pattern
