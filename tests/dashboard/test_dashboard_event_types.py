"""The dashboard's event types page: every type with its example, every family with its schema."""

from __future__ import annotations

import html
import json
import re

import httpx

from conftest import OPERATOR_KEY, Client
from hookline.core import catalog, event_schemas
from support.dashboard import signed_in


async def test_the_event_types_page_shows_each_schema_and_example(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    await signed_in(http, merchant.key)
    form = await http.get("/dashboard/routes/new")
    assert 'href="/dashboard/event-types"' in form.text  # linked where event types are chosen
    page = await http.get("/dashboard/event-types")
    assert page.status_code == 200
    shown = [
        json.loads(html.unescape(block)) for block in re.findall(r"<pre[^>]*>(.*?)</pre>", page.text, re.S)
    ]
    families = catalog.families()
    types = [t.type for t in catalog.event_types()]
    assert len(shown) == len(families) + len(types)
    for family in families:
        assert event_schemas.family_schema(family) in shown
    for event_type in types:
        assert f'id="type-{event_type}"' in page.text
        assert event_schemas.example(event_type) in shown
    assert "entitlement." not in page.text  # not offered here
    assert "Events that do not match are refused." in page.text


async def test_the_operator_sees_it_without_choosing_a_merchant(http: httpx.AsyncClient) -> None:
    await signed_in(http, OPERATOR_KEY)
    page = await http.get("/dashboard/event-types")
    assert page.status_code == 200 and "order.success" in page.text
