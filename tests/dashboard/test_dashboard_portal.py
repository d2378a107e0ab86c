"""A read-only portal session (docs/portal.md) sees everything and changes nothing: every form the dashboard
has, posted directly with the session's own CSRF token, is refused (403) and leaves the database as it was."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from starlette.routing import Route

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline import dashboard
from hookline.dashboard.pages_routes import ACTIONS
from hookline.storage.database import Database
from hookline.storage.tables import metadata, sessions
from support.dashboard import make_route, session_csrf
from support.events import event

NOT_CHANGES = {"/sign-in"}  # signing in with a key is not a change made by this session


def _post_paths() -> list[str]:
    """Every POST path of the dashboard, from its routing table (a new form is covered as it is added)."""
    app = dashboard.build(FastAPI())
    paths = [r.path for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or set())]
    return [p for p in paths if p not in NOT_CHANGES]


async def _state(db_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (the sessions' ``last_seen`` aside: looking is not changing)."""
    db = Database(db_url)
    try:
        async with db.read() as conn:
            found = {}
            for table in metadata.sorted_tables:
                rows = [dict(r) for r in (await conn.execute(select(table))).mappings()]
                if table is sessions:
                    rows = [{k: v for k, v in r.items() if k != "last_seen"} for r in rows]
                found[table.name] = sorted(rows, key=repr)
            return found
    finally:
        await db.close()


async def test_a_read_only_portal_session_changes_nothing(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = await new_merchant(operator, "Acme Coffee")
        route = await make_route(merchant, "http://127.0.0.1:9/orders")
        await merchant.ok("POST", "/v1/events", 202, json=event("order.success"))
        [delivery] = (await merchant.ok("GET", "/v1/deliveries"))["data"]
        merchant_id = merchant.merchant_id  # type: ignore[attr-defined]
        path = f"/v1/merchants/{merchant_id}/portal-links"
        link = await operator.ok("POST", path, 201, json={"read_only": True})
        assert (await http.get(link["url"])).status_code == 303
        csrf = await session_csrf(db_url)
        [key] = (await merchant.ok("GET", f"/v1/merchants/{merchant_id}/api-keys"))["data"]
        values = {
            "route_id": route["id"],
            "delivery_id": delivery["id"],
            "key_id": key["id"],
            "target_id": route["target_id"],
        }

        # Looking works, and the pages say it is view only, with no way to change anything shown.
        home = await http.get("/dashboard/")
        assert home.status_code == 200 and "View only" in home.text and 'class="read-only"' in home.text
        details = await http.get(f"/dashboard/routes/{route['id']}")
        assert details.status_code == 200 and "orders" in details.text
        assert (await http.get(f"/dashboard/deliveries/{delivery['id']}")).status_code == 200
        log = await http.get("/dashboard/deliveries")  # the merchant-wide Deliveries page, in the menu
        assert log.status_code == 200 and f"/dashboard/deliveries/{delivery['id']}" in log.text
        assert 'href="/dashboard/deliveries">Deliveries</a>' in home.text
        target = await http.get(f"/dashboard/targets/{route['target_id']}")  # seen, without its forms
        assert (
            target.status_code == 200
            and "Rotate signing key" not in target.text
            and "Save URL" not in target.text
        )
        assert (await http.get("/dashboard/events")).status_code == 200
        # The pages that exist only to change something say so.
        for page in (
            "/routes/new",
            f"/routes/{route['id']}/edit",
            f"/routes/{route['id']}/test-events",
            f"/routes/{route['id']}/confirm/delete",
            f"/targets/{route['target_id']}/confirm/rotate",
        ):
            answer = await http.get("/dashboard" + page)
            assert answer.status_code == 403 and "can look but not change" in answer.text, page

        before = await _state(db_url)
        paths = _post_paths()
        assert len(paths) >= 9, paths
        tried = []
        for template in paths:
            for action in sorted(ACTIONS) if "{action}" in template else [""]:
                path = template.format(**values, action=action)
                form = {
                    "csrf": csrf,
                    "name": "changed",
                    "new_url": "http://127.0.0.1:9/x",
                    "event_types": "order.*",
                }
                answer = await http.post("/dashboard" + path, data=form)
                assert answer.status_code == 403, (path, answer.status_code)
                assert "can look but not change" in answer.text, path
                tried.append(path)
        assert not any(re.search(r"\{\w+\}", p) for p in tried)
        assert await _state(db_url) == before
        assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"
