"""Signing in to the dashboard over plain HTTP, as a browser would, and the CSRF token of a page."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import Client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on the page:\n{page.text[:2000]}"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str) -> httpx.Response:
    """Sign in as a browser would: load the form (its token and cookie), post the key."""
    http.cookies.clear()
    form = await http.get("/dashboard/sign-in")
    assert form.status_code == 200
    return await http.post("/dashboard/sign-in", data={"csrf": csrf_of(form), "key": key})


async def signed_in(http: httpx.AsyncClient, key: str) -> str:
    """Sign in; the session's CSRF token (read from the webhook list or the merchant list)."""
    answer = await sign_in(http, key)
    assert answer.status_code == 303, answer.text
    page = await http.get(answer.headers["location"])
    assert page.status_code == 200, page.text
    return csrf_of(page)


async def make_route(merchant: Client, url: str, name: str = "orders") -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    body = {"name": name, "target_id": target["id"], "event_types": ["order.*"]}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


def checkbox(html: str, value: str) -> str:
    """The ``<input>`` tag of the checkbox with this value."""
    found = re.search(rf'<input type="checkbox"[^>]*value="{re.escape(value)}"[^>]*>', html)
    assert found, f"no checkbox {value}"
    return found.group(0)
