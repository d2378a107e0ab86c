"""The ordering key as a subject token or routing-key word (``destinations.keyed``)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from hookline import ordering
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
