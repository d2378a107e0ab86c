"""The management commands and ``doctor``, run as an operator runs them, against ``hookline serve``.

Each command is ``python -m hookline …`` in a subprocess with ``HOOKLINE_API_URL`` and the operator key in
its environment; ``--json`` answers are parsed and checked against what the API itself says.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cli.command import Ran, environment, hookline
from conftest import OPERATOR_KEY
from crash.helpers import Api, api, processes, until
from support.receiver import Receiver, Status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


class Operator:
    """Runs commands against one hookline, with the operator key."""

    def __init__(self, url: str, database_url: str, cwd: Path) -> None:
        # The server's settings (crash.helpers.Processes), as an operator on its machine has them.
        self.env = environment(
            api_url=url, operator_key=OPERATOR_KEY, database_url=database_url, allow_private_targets="true"
        )
        self.cwd = cwd

    def __call__(self, *args: str, code: int = 0, stdin: str | None = None) -> Ran:
        ran = hookline(*args, cwd=self.cwd, env=self.env, stdin=stdin)
        assert ran.code == code, ran
        return ran

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Operator, Api]]:
    database_url = f"sqlite:///{tmp_path}/hookline.db"
    async with processes(tmp_path, database_url) as group:
        proc = await group.server("serve")
        async with api(proc) as client:
            yield Operator(proc.url, database_url, tmp_path), client


async def test_merchants_and_their_keys(running: tuple[Operator, Api]) -> None:
    run, client = running
    made = run.json("merchants", "create", "Acme Coffee")
    assert made["name"] == "Acme Coffee" and made["api_key"].startswith("hl_mk_")
    table = run("merchants", "list").stdout
    assert made["id"] in table and "Acme Coffee" in table
    assert [m["id"] for m in run.json("merchants", "list")] == [made["id"]]

    added = run.json("merchants", "keys", "add", made["id"])
    keys = run.json("merchants", "keys", "list", made["id"])
    assert {k["id"] for k in keys} == {added["id"], keys[0]["id"]} and len(keys) == 2
    # Revoking asks first; without a terminal to ask on, it refuses and changes nothing.
    refused = run("merchants", "keys", "revoke", made["id"], added["id"], code=2)
    assert "not without confirmation; pass --yes" in refused.said
    assert (await client.call("GET", "/v1/routes", added["api_key"])).status_code == 200
    run("merchants", "keys", "revoke", made["id"], added["id"], "--yes")
    assert (await client.call("GET", "/v1/routes", added["api_key"])).status_code == 401


async def test_routes_and_deliveries(running: tuple[Operator, Api], receiver: Receiver) -> None:
    run, client = running
    [route_id] = await client.setup(receiver, fan_out=1, retry={"max_attempts": 1})
    merchant = ["--merchant", client.merchant_id]
    receiver.respond("/r0", Status(500))
    delivery_ids = await client.ingest([_event("e-1"), _event("e-2")])
    await until(lambda: _all(client, delivery_ids, "failed"), 30, "both deliveries to fail", 0.2)

    [route] = run.json("routes", "list", *merchant)
    assert (route["id"], route["state"]) == (route_id, "active")
    assert run.json("routes", "halt", route_id, *merchant)["state"] == "halted"
    assert run.json("routes", "list", "--state", "halted", *merchant)[0]["id"] == route_id
    assert "is active" in run("routes", "resume", route_id, *merchant).stdout

    listed = run.json("deliveries", "list", "--status", "failed", *merchant)
    assert {d["id"] for d in listed} == set(delivery_ids)
    receiver.respond("/r0", Status(200))
    looked = run.json("deliveries", "bulk-resend", route_id, *merchant, "--dry-run")
    assert looked == {"dry_run": True, "count": 2}
    assert await _all(client, delivery_ids, "failed")  # a dry run changes nothing
    refused = run("deliveries", "bulk-resend", route_id, *merchant, code=2)
    assert "Resend 2 deliveries of route" in refused.said
    job = run.json("deliveries", "bulk-resend", route_id, *merchant, "--yes")
    assert (job["kind"], job["status"], job["done"]) == ("resend", "done", 2)
    await until(lambda: _all(client, delivery_ids, "success"), 30, "both deliveries to succeed", 0.2)

    one = run.json("deliveries", "resend", delivery_ids[0], *merchant)
    assert one["id"] == delivery_ids[0] and one["status"] in ("pending", "success")
    sent = run.json("deliveries", "test", route_id, "--type", "order.success", *merchant)
    assert len(sent["deliveries"]) == 1 and sent["events"][0].startswith("test_")
    replayed = run.json("deliveries", "replay", route_id, *merchant, "--since", "2020-01-01", "--yes")
    assert (replayed["kind"], replayed["status"], replayed["total"]) == ("replay", "done", 2)

    missing = run("routes", "halt", "rte_missing", *merchant, code=1)
    assert "404" in missing.said and "rte_missing" in missing.said


async def test_api_unreachable_or_key_refused(running: tuple[Operator, Api], tmp_path: Path) -> None:
    run, _ = running
    with socket.create_server(("127.0.0.1", 0)) as sock:
        closed = sock.getsockname()[1]
    ran = hookline("merchants", "list", "--url", f"http://127.0.0.1:{closed}", cwd=tmp_path, env=run.env)
    assert ran.code == 6 and f"cannot reach hookline at http://127.0.0.1:{closed}" in ran.said, ran
    wrong = run("merchants", "list", "--key", "hl_op_wrong", code=1)
    assert "401" in wrong.said and "--key / HOOKLINE_OPERATOR_KEY" in wrong.said


async def test_doctor(running: tuple[Operator, Api], receiver: Receiver) -> None:
    run, client = running
    checks = {c["check"]: c for c in run.json("doctor")}
    assert checks["database"]["status"] == "ok" and checks["schema"]["status"] == "ok"
    assert checks["clock"]["status"] == "ok" and checks["egress"]["status"] == "skipped"

    await client.setup(receiver, fan_out=1)  # a target on the receiver: reachable
    checks = {c["check"]: c for c in run.json("doctor")}
    assert checks["egress"]["status"] == "ok", checks["egress"]

    with socket.create_server(("127.0.0.1", 0)) as sock:
        closed = sock.getsockname()[1]
    await client.ok(
        "POST", "/v1/targets", 201, client.merchant_key, json={"url": f"http://127.0.0.1:{closed}/"}
    )
    failed = run("doctor", code=1)
    assert f"127.0.0.1:{closed}" in failed.stdout and "egress" in failed.said

    gone = hookline("doctor", "--database-url", "sqlite:///nowhere/hookline.db", cwd=run.cwd, env=run.env)
    assert gone.code == 1 and "there is no database at" in gone.stdout, gone


async def _all(client: Api, delivery_ids: list[str], status: str) -> bool:
    return set(delivery_ids) <= {d["id"] for d in await client.deliveries(status)}


def _event(event_id: str) -> dict[str, Any]:
    order = {"type": "order", "public_id": f"ord-{event_id}", "customer": "c-1"}
    return {"id": event_id, "type": "order.reminder", "data": {"object": order}}
