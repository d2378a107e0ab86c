"""The ordering key as a subject token or routing-key word (``destinations.keyed``)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from hookline.core import ordering
from hookline.sender.destinations import keyed


def _headers(key: str) -> dict[str, str]:
    return dict(ordering.headers(key, 1))


@pytest.mark.parametrize(
    ("key", "token"),
    [
        ("cust-1", "cust-1"),
        ("a.b", "a%2Eb"),
        ("*>", "%2A%3E"),
        ("a b", "a%20b"),
        ("50%", "50%25"),
        ("ü#", "%C3%BC#"),
    ],
)
def test_a_key_becomes_one_token_that_decodes_to_it(key: str, token: str) -> None:
    assert keyed.token(_headers(key)) == token
    assert unquote(token) == key
    assert keyed.suffixed("shop.orders", _headers(key)) == f"shop.orders.{token}"


def test_the_header_is_found_in_any_case() -> None:
    assert keyed.suffixed("orders", {"hookline-ordering-key": "x.y"}) == "orders.x%2Ey"


def test_an_unordered_delivery_keeps_its_subject() -> None:
    assert keyed.token({"Content-Type": "application/json"}) is None
    assert keyed.suffixed("shop.orders", {"Content-Type": "application/json"}) == "shop.orders"


LONG = "c." * 50  # 100 characters, the longest key ingest takes; 200 bytes as a token


def test_a_key_that_fits_the_limit_is_kept_whole() -> None:
    base = "r" * (keyed.ROUTING_KEY_MAX - 1 - len("c%2E") * 50)
    assert keyed.suffixed(base, _headers(LONG), limit=keyed.ROUTING_KEY_MAX) == f"{base}.{'c%2E' * 50}"


@pytest.mark.parametrize("base_bytes", [100, 200, keyed.ROUTING_KEY_MAX - keyed.SUFFIX_ROOM])
def test_a_key_too_long_for_the_routing_key_is_shortened_the_same_way_each_time(base_bytes: int) -> None:
    base = "r" * base_bytes
    routing_key = keyed.suffixed(base, _headers(LONG), limit=keyed.ROUTING_KEY_MAX)
    assert len(routing_key.encode()) <= keyed.ROUTING_KEY_MAX
    word = routing_key.removeprefix(base + ".")
    head, tilde, digest = word.rpartition("~")
    assert tilde and len(digest) == 16 and int(digest, 16) >= 0
    assert ("c%2E" * 50).startswith(head)  # the key's first bytes, never half an escape
    assert head.count("%") * 3 <= len(head) and not head.endswith(("%", "%2"))
    assert keyed.suffixed(base, _headers(LONG), limit=keyed.ROUTING_KEY_MAX) == routing_key
    other = keyed.suffixed(base, _headers("c." * 49 + "d"), limit=keyed.ROUTING_KEY_MAX)
    assert other != routing_key and len(other.encode()) <= keyed.ROUTING_KEY_MAX


def test_a_base_that_leaves_no_room_for_the_key_is_refused() -> None:
    base = "r" * (keyed.ROUTING_KEY_MAX - keyed.SUFFIX_ROOM + 1)
    with pytest.raises(keyed.NoRoom):
        keyed.suffixed(base, _headers(LONG), limit=keyed.ROUTING_KEY_MAX)
    assert keyed.suffixed(base, {}, limit=keyed.ROUTING_KEY_MAX) == base  # unordered: as it is
