"""Signing in to the dashboard over plain HTTP, as a browser would, and the CSRF token of a page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import select, update

from conftest import Client
from hookline.storage.database import Database
from hookline.storage.tables import sessions

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on the page:\n{page.text[:2000]}"
    return found.group(1)


def creation_form(page: httpx.Response) -> dict[str, str]:
    """The fields of the page's form that creates something (a merchant, an API key): its CSRF token and
    the id of the newest such thing when the page was shown (``newest``, which stops a resent form)."""
    found = re.search(r'name="newest" value="([^"]*)"', page.text)
    assert found, f"no creation form on the page:\n{page.text[:2000]}"
    return {"csrf": csrf_of(page), "newest": found.group(1)}


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


async def session_rows(db_url: str, **values: Any) -> list[dict[str, Any]]:
    """Every dashboard session row; with ``values``, after setting them on every row."""
    db = Database(db_url)
    try:
        if values:
            async with db.write() as conn:
                await conn.execute(update(sessions).values(**values))
        async with db.read() as conn:
            return [dict(r) for r in (await conn.execute(select(sessions))).mappings()]
    finally:
        await db.close()


async def session_csrf(db_url: str) -> str:
    """The CSRF token of the only dashboard session in the database."""
    db = Database(db_url)
    try:
        async with db.read() as conn:
            token: str = (await conn.execute(select(sessions.c.csrf))).scalar_one()
            return token
    finally:
        await db.close()


def edit_form(token: str, route: dict[str, Any], **changes: str) -> dict[str, Any]:
    """The edit form of ``route`` as a browser posts it unchanged (the defaults of the advanced settings),
    with ``changes``."""
    form: dict[str, Any] = {
        "csrf": token,
        "name": route["name"],
        "target_id": route["target_id"],
        "event_types": route["event_types"],
        "initial_interval_s": "60",
        "max_interval_s": "600",
        "max_attempts": "60",
        "timeout_s": "5",
    }
    return {**form, **changes}


async def eventually(check: Any, timeout: float = 20.0) -> Any:
    """Poll ``check()`` (async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)
    return found


async def halted_route(merchant: Client, name: str) -> dict[str, Any]:
    """A webhook that holds its deliveries (they stay ``held``, none is tried)."""
    route = await make_route(merchant, "http://127.0.0.1:9/hook", name)
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "halted"})
    return route


async def post_events(merchant: Client, *events: dict[str, Any]) -> dict[str, list[str]]:
    """The deliveries each posted event made, by event id."""
    answers = await merchant.ok("POST", "/v1/events", 202, json={"events": list(events)})
    return {a["id"]: list(a["deliveries"]) for a in answers}
