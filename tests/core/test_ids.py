"""Ids: a prefix, then ULID's layout (48 bits of milliseconds, 80 random bits) in Crockford base32."""

from __future__ import annotations

import pytest

from hookline.core import ids

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _decode(digits: str) -> int:
    value = 0
    for char in digits:
        value = value * 32 + _ALPHABET.index(char)
    return value


def test_an_id_carries_its_millisecond_and_sorts_by_time() -> None:
    first = ids.new("dlv", now=1_700_000_000.123)
    later = ids.new("dlv", now=1_700_000_000.124)
    prefix, _, digits = first.partition("_")
    assert prefix == "dlv" and len(digits) == 26 and set(digits) <= set(_ALPHABET)
    assert _decode(digits) >> 80 == 1_700_000_000_123
    assert first < later


def test_ids_differ_within_one_millisecond() -> None:
    made = {ids.new("evt", now=1_700_000_000.0) for _ in range(1000)}
    assert len(made) == 1000
    assert all(_decode(i[4:]) >> 80 == 1_700_000_000_000 for i in made)


def test_the_last_80_bits_are_the_random_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    random = bytes(range(250, 240, -1))
    monkeypatch.setattr("hookline.core.ids.os.urandom", lambda n: random[:n])
    made = ids.new("evt", now=(2**48 - 1) / 1000)  # the last millisecond ULID can carry
    value = _decode(made[4:])
    assert value >> 80 == 2**48 - 1 and value & (2**80 - 1) == int.from_bytes(random, "big")
