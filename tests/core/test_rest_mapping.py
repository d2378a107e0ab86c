"""The webhook representation mapped onto the REST one, kind by kind, as ``docs/payloads.md`` documents it;
and the versions an object's writes make. No I/O."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hookline.core import representations
from hookline.core.models import JSON
from hookline.service.objects import writes
from hookline.storage.objects import Stored

DOC = Path(__file__).parents[2] / "docs" / "payloads.md"


class TestRestUpdate:
    def test_copies_the_mapped_fields_in_the_events_order_and_converts_times(self) -> None:
        event = {
            "type": "order",
            "status_display": "Unsent",
            "total": "9.00",
            "created": 0,
            "cancelled": None,
        }
        assert representations.rest_update("order", event) == {
            "total": "9.00",
            "created": "1970-01-01 00:00:00",
            "cancelled": None,
        }

    @pytest.mark.parametrize("value", [-1, representations.MAX_EPOCH + 1, 1.5, "2026-01-01 00:00:00", True])
    def test_a_time_that_is_not_epoch_seconds_is_left_out(self, value: object) -> None:
        assert representations.rest_update("subscription", {"updated": value, "quantity": 2}) == {
            "quantity": 2
        }

    def test_the_last_epoch_a_rest_time_can_show(self) -> None:
        update = representations.rest_update("customer", {"created": representations.MAX_EPOCH})
        assert update == {"created": "9999-12-31 23:59:59"}

    def test_kinds_no_event_is_about_take_nothing(self) -> None:
        assert representations.rest_update("address", {"city": "Lyon"}) == {}
        assert representations.rest_update("entitlement", {"customer": "c"}) == {}

    def test_secrets_are_never_copied(self) -> None:
        token = {"public_id": "s", "one_click_token": "jwt"}
        assert representations.rest_update("subscription", token) == {"public_id": "s"}
        assert representations.secrets_in("order", {"one_click_token": "jwt", "total": "1"}) == [
            "one_click_token"
        ]
        assert representations.secrets_in("customer", {"one_click_token": "jwt"}) == []


class TestApplyAndIdentity:
    def test_apply_keeps_the_stored_fields_and_order_and_adds_new_ones_last(self) -> None:
        stored = {"public_id": "o", "type": 1, "total": "1.00"}
        assert list(representations.apply(stored, {"total": "2.00", "place": "2026-01-02"}).items()) == [
            ("public_id", "o"),
            ("type", 1),
            ("total", "2.00"),
            ("place", "2026-01-02"),
        ]
        assert representations.apply(None, {"total": "2.00"}) == {"total": "2.00"}

    def test_identity_is_filled_in_first_only_when_missing(self) -> None:
        assert list(representations.with_identity("product", "sku", {"name": "n"})) == [
            "external_product_id",
            "name",
        ]
        own = {"name": "n", "merchant_user_id": "c"}
        assert representations.with_identity("customer", "c", own) is own


def _documented() -> dict[str, tuple[set[str], set[str], set[str]]]:
    """(copied, times, left out) by kind, read from the table of docs/payloads.md."""
    table = DOC.read_text().split("### What an event's object changes, kind by kind")[1].split("\n\n")[2]
    found = {}
    for line in table.splitlines()[2:]:
        kind, copied, times, left_out = (cell.strip() for cell in line.strip("|").split("|"))
        names = [set(re.findall(r"`([a-z_]+)`", cell)) for cell in (copied, times, left_out)]
        found[kind.split()[0]] = (names[0], names[1], names[2])
    return found


def test_the_documentation_says_what_the_code_does() -> None:
    documented = _documented()
    assert set(documented) == set(representations.MAPPINGS)
    for kind, mapping in representations.MAPPINGS.items():
        copied, times, left_out = documented[kind]
        assert copied == set(mapping.copied), kind
        assert times == set(mapping.times), kind
        assert left_out == set(mapping.left_out) | representations.secret_fields(kind), kind


class TestVersions:
    def _writes(self, stored: dict[str, Stored], *written: tuple[float, JSON]) -> object:
        return writes(
            "m",
            {("order", k): v for k, v in stored.items()},
            [("order", "o", at, d) for at, d in written],
            9.0,
        )

    def test_an_unchanged_object_writes_nothing(self) -> None:
        assert not self._writes({"o": Stored({"a": 1}, 1.0, 1.0)}, (5.0, {"a": 1}), (6.0, {"a": 1}))

    def test_each_change_keeps_the_version_it_replaced(self) -> None:
        out = writes(
            "m",
            {("order", "o"): Stored({"a": 1}, 1.0, 1.0)},
            [("order", "o", 5.0, {"a": 2}), ("order", "o", 5.5, {"a": 2}), ("order", "o", 6.0, {"a": 3})],
            9.0,
        )
        spans = [(h["valid_from"], h["valid_until"], h["data"]) for h in out.history]
        assert spans == [(1.0, 5.0, {"a": 1}), (5.0, 6.0, {"a": 2})]
        [current] = out.changed
        assert (current["valid_from"], current["data"], current["updated"]) == (6.0, {"a": 3}, 9.0)
        assert not out.added

    def test_a_clock_behind_the_last_version_starts_where_it_starts(self) -> None:
        out = writes("m", {("order", "o"): Stored({"a": 1}, 7.0, 7.0)}, [("order", "o", 5.0, {"a": 2})], 5.0)
        assert out.history == []  # the replaced version was valid for no time at all
        assert out.changed[0]["valid_from"] == 7.0

    def test_a_new_object_is_added(self) -> None:
        out = writes("m", {}, [("item", "i", 5.0, {"public_id": "i", "order": "o"})], 5.0)
        [added] = out.added
        assert added["parent_id"] == "o" and added["valid_from"] == 5.0 and not out.history
