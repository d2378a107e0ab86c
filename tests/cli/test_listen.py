"""``hookline listen``: a listener route's deliveries forwarded to a local server, over real sockets.

On SQLite hookline runs as ``serve`` does (API and worker in one process); on PostgreSQL as ``api`` plus a
``worker`` of its own, so the stream's process is not the worker's. A real aiohttp receiver stands for the
developer's local app.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant
from hookline import server
from hookline.asgi import create_app
from hookline.runtime import open_runtime
from hookline.sender.listen_client import Forwarded, Listen
from support.dashboard import signed_in
from support.pipeline import order_event, wait_status
from support.receiver import Receiver, Status


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers, which belong to the test runner here."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def hookline(db_url: str, **overrides: Any) -> AsyncIterator[str]:
    """hookline on 127.0.0.1 (``serve`` on SQLite, ``api`` and a separate worker on PostgreSQL); its URL."""
    split = db_url.startswith("postgresql")
    settings = app_settings(db_url, **overrides)
    app = create_app(settings, worker=not split, migrate_db=True)
    sock = socket.create_server(("127.0.0.1", 0))
    running = _Server(server.config(app, settings, lifespan="on"))
    task = asyncio.create_task(running.serve(sockets=[sock]))
    try:
        while not running.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        if not split:
            yield url
            return
        async with open_runtime(settings, worker=True, migrate_db=False):
            yield url
    finally:
        running.should_exit = True
        await asyncio.wait_for(task, 15)  # a listener's open stream does not hold the shutdown up
        sock.close()


@contextlib.asynccontextmanager
async def shop(url: str) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        yield await new_merchant(Client(http, OPERATOR_KEY), "Acme")


async def listener_route(merchant: Client, **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "listen://Laptop"})
    assert target["url"] == "listen://laptop"
    body = {"name": "dev", "target_id": target["id"], "event_types": ["order.*"], **extra}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


@contextlib.asynccontextmanager
async def listening(
    url: str, merchant: Client, route_id: str, forward: str
) -> AsyncIterator[tuple[list[str], list[Forwarded]]]:
    """``hookline listen`` in this process (what it prints, what it forwarded), once its stream is ready."""
    lines: list[str] = []
    forwarded: list[Forwarded] = []
    listen = Listen(url, merchant.key, route_id, forward, say=lines.append)
    task = asyncio.create_task(listen.run(forwarded.append))
    try:
        deadline = time.monotonic() + 10
        while not any(line.startswith("Ready") for line in lines):
            assert not task.done(), task.result()
            assert time.monotonic() < deadline, lines
            await asyncio.sleep(0.02)
        yield lines, forwarded
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await listen.close()


async def test_a_routes_deliveries_reach_the_local_server_signed(db_url: str, receiver: Receiver) -> None:
    async with hookline(db_url) as url, shop(url) as merchant:
        route = await listener_route(merchant)
        async with listening(url, merchant, route["id"], receiver.url + "/webhooks") as (lines, forwarded):
            answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
            [request] = await receiver.wait_for(1, path="/webhooks")
            delivery = await wait_status(merchant, answer["deliveries"][0], "success")
        target_keys = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
        Webhook(target_keys["standard_webhooks_secret"]).verify(request.body, request.headers)
        assert request.headers["webhook-id"] == delivery["id"]
        assert request.headers["content-type"] == "application/json"
        assert request.json()["id"] == "evt-1"
        [attempt] = delivery["attempts"]
        assert attempt["response"]["status"] == 200 and attempt["error_kind"] is None
        assert attempt["request"]["headers"]["webhook-signature"] == request.headers["webhook-signature"]
        [one] = forwarded
        assert one.event_type == "order.reminder" and one.outcome.status == 200
        [line] = [line for line in lines if delivery["id"] in line]
        assert "order.reminder" in line and " 200 " in line and " ms " in line


async def test_a_delivery_made_while_nobody_listens_arrives_once_one_connects(
    db_url: str, receiver: Receiver
) -> None:
    async with hookline(db_url) as url, shop(url) as merchant:
        # A minute to the next retry: only connecting makes it arrive within the test.
        route = await listener_route(merchant, retry={"initial_interval_s": 60, "max_interval_s": 60})
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        delivery_id = answer["deliveries"][0]
        deadline = time.monotonic() + 10
        while not (tried := await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["attempts"]:
            assert time.monotonic() < deadline, tried
            await asyncio.sleep(0.05)
        [missed] = tried["attempts"]
        assert tried["status"] == "pending" and missed["error_kind"] == "listener"
        assert missed["error"].startswith("listener: not connected")

        async with listening(url, merchant, route["id"], receiver.url + "/webhooks") as (lines, _):
            await receiver.wait_for(1, path="/webhooks")
            delivery = await wait_status(merchant, delivery_id, "success")
        assert [a["error_kind"] for a in delivery["attempts"]] == ["listener", None]
        assert any("1 waiting" in line for line in lines), lines
        route_now = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert route_now["state"] == "active"


async def test_a_stream_ends_after_its_time_and_the_listener_comes_back(
    db_url: str, receiver: Receiver
) -> None:
    async with hookline(db_url, listen_stream_s=0.5) as url, shop(url) as merchant:
        route = await listener_route(merchant)
        async with listening(url, merchant, route["id"], receiver.url + "/webhooks") as (lines, _):
            deadline = time.monotonic() + 10
            while sum(line.startswith("Ready") for line in lines) < 2:
                assert time.monotonic() < deadline, lines
                await asyncio.sleep(0.05)
            assert "hookline closed the stream; connecting again" in lines
            answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
            await receiver.wait_for(1, path="/webhooks")
            delivery = await wait_status(merchant, answer["deliveries"][0], "success")
        assert [a["error_kind"] for a in delivery["attempts"]] == [None]


async def test_a_local_500_is_a_failed_attempt_and_retried(db_url: str, receiver: Receiver) -> None:
    receiver.script("/webhooks", Status(500, b"boom"))
    async with hookline(db_url) as url, shop(url) as merchant:
        route = await listener_route(merchant, retry={"initial_interval_s": 1, "max_interval_s": 1})
        async with listening(url, merchant, route["id"], receiver.url + "/webhooks") as (lines, _):
            answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
            delivery = await wait_status(merchant, answer["deliveries"][0], "success", timeout=15)
        first, second = delivery["attempts"]
        assert first["response"] == {"status": 500, "headers": first["response"]["headers"], "body": "boom"}
        assert first["error_kind"] == "status"
        assert second["response"]["status"] == 200
        assert sum(" 500 " in line for line in lines) == 1
    assert len(receiver.on("/webhooks")) == 2


async def test_hookline_listen_command_forwards_and_prints(tmp_path: Any, receiver: Receiver) -> None:
    proc: asyncio.subprocess.Process | None = None
    try:
        async with hookline(f"sqlite:///{tmp_path}/hookline.db") as url, shop(url) as merchant:
            route = await listener_route(merchant)
            refused = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "hookline", "listen", "--url", url, "--key", "hl_wrong", "--route", route["id"]),
                *("--forward", receiver.url + "/webhooks"),
                stderr=asyncio.subprocess.PIPE,
            )
            _, said = await asyncio.wait_for(refused.communicate(), 30)
            assert refused.returncode == 1 and b"refused to stream route" in said and b"--key" in said, said
            args = ["listen", "--url", url, "--key", merchant.key, "--route", route["id"]]
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "hookline",
                *args,
                "--forward-to",
                receiver.url + "/webhooks",
                stdout=asyncio.subprocess.PIPE,
            )
            assert proc.stdout is not None
            ready = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert ready.startswith(b"Ready: route " + route["id"].encode()), ready
            answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
            line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
            assert "order.reminder" in line and " 200 " in line and answer["deliveries"][0] in line
            await wait_status(merchant, answer["deliveries"][0], "success")
            stopping = time.monotonic()
        # The listener's stream, still open, did not hold the server's shutdown up; the listener says so.
        assert time.monotonic() - stopping < 5
        lost = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert lost.startswith("lost hookline at") or lost.startswith("hookline closed the stream"), lost
    finally:
        if proc is not None:
            proc.terminate()
            await proc.wait()


async def test_only_the_routes_merchant_can_listen_or_report(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    route = await listener_route(merchant)
    path = f"/v1/routes/{route['id']}/listen"
    other = await new_merchant(operator, "Other")
    assert (await other.call("GET", path)).status_code == 404
    assert (await http.get(path)).status_code == 401
    report = {"duration_ms": 3, "response_status": 200}
    assert (await other.call("POST", f"{path}/dlv_x", json=report)).status_code == 404
    # Nobody here waits for that delivery's report; a report is an answer or an error, not both.
    refused = await merchant.ok("POST", f"{path}/dlv_x", 404, json=report)
    assert "waits for a report" in refused["detail"]
    both = {**report, "error_kind": "connect"}
    assert (await merchant.call("POST", f"{path}/dlv_x", json=both)).status_code == 400
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "https://example.com/hooks"})
    body = {"name": "http", "target_id": target["id"], "event_types": ["order.*"]}
    http_route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    conflict = await merchant.ok("GET", f"/v1/routes/{http_route['id']}/listen", 409)
    assert "not to a listener target" in conflict["detail"]


@pytest.mark.parametrize("url", ["listen://", "listen://a b", "listen://laptop/x", "listen:laptop"])
async def test_a_listener_url_names_one_listener(merchant: Client, url: str) -> None:
    refused = await merchant.ok("POST", "/v1/targets", 400, json={"url": url})
    assert "listen://<name>" in refused["detail"]


async def test_the_dashboard_makes_a_listener_route_and_shows_its_attempts(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    form = await http.get("/dashboard/routes/new")
    assert "listen://laptop" in form.text
    body = {"csrf": token, "name": "dev", "new_url": "listen://laptop", "event_types": "order.*"}
    made = await http.post("/dashboard/routes/new", data=body)
    assert made.status_code == 303, made.text
    [route] = (await merchant.ok("GET", "/v1/routes"))["data"]
    details = await http.get(f"/dashboard/routes/{route['id']}")
    assert f"hookline listen --route {route['id']}" in details.text
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    delivery_id = answer["deliveries"][0]
    deadline = time.monotonic() + 10
    while not (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["attempts"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    page = await http.get(f"/dashboard/deliveries/{delivery_id}")
    assert page.status_code == 200 and "listener: not connected" in page.text
