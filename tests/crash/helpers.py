"""Real hookline processes for the crash tests, and a small client for their HTTP API.

Every process runs ``python -m hookline <command>`` with its settings in ``HOOKLINE_*`` variables, as the
contract says hookline is started; its output goes to a log file (no pipes to drain or leave open). A
``Processes`` group kills whatever it started when the test ends, however the test ends, and each child also
gets SIGKILL from the kernel if the test runner itself dies (``PR_SET_DEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx

from conftest import OPERATOR_KEY
from support.receiver import Receiver

READY_S = (
    45.0  # how long a process may take to answer /readyz (imports alone take ~2 s, 15 on a busy machine)
)
LEASE_S = 3.0

_PR_SET_DEATHSIG = 1


try:  # resolved here, not in the child: between fork and exec it only makes the call
    _prctl: Callable[..., int] | None = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if _prctl is not None:
        _prctl(_PR_SET_DEATHSIG, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Proc:
    """One hookline process; output in ``log_path``. ``wrapper``: a command that ends by running its arguments
    (``unshare … sh -c '…; exec "$@"'``), for a process in surroundings of its own."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        wrapper: Sequence[str] = (),
        program: tuple[str, ...] = (sys.executable, "-m", "hookline"),
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.port = int(env.get("HOOKLINE_PORT", "0"))
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            [*wrapper, *program, *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our signals only: a Ctrl-C in the terminal does not reach it
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: signal.Signals) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would, and reap it."""
        self.send(signal.SIGKILL)
        self.popen.wait(10)

    async def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None if it is still running after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.popen.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.popen.poll()

    def stop(self) -> None:
        """Kill if running, reap, close the log."""
        try:
            if self.alive():
                self.kill()
        finally:
            self._log.close()

    def log(self, tail: int = 6000) -> str:
        text = self.log_path.read_text(errors="replace")
        return text[-tail:]

    async def wait_log(self, needle: str, timeout: float = READY_S) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log_path.read_text(errors="replace"):
            assert self.alive(), f"{self.name} exited with {self.popen.returncode}:\n{self.log()}"
            assert time.monotonic() < deadline, f"{self.name}: no {needle!r} within {timeout}s:\n{self.log()}"
            await asyncio.sleep(0.05)

    async def wait_ready(self, timeout: float = READY_S) -> None:
        """Poll ``GET /readyz`` until it answers 200."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while True:
                assert self.alive(), f"{self.name} exited with {self.popen.returncode}:\n{self.log()}"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                assert time.monotonic() < deadline, f"{self.name} not ready within {timeout}s:\n{self.log()}"
                await asyncio.sleep(0.1)


class Processes:
    """The hookline processes of one test, all on one database; ``close`` kills every one of them."""

    def __init__(self, log_dir: Path, database_url: str, **settings: Any) -> None:
        self.log_dir = log_dir
        self.database_url = database_url
        self.settings = {
            "allow_private_targets": "true",
            "lease_s": LEASE_S,
            "poll_interval_s": 0.2,
            **settings,
        }
        self.started: list[Proc] = []

    def env(self, port: int, **settings: Any) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
        values = {
            "database_url": self.database_url,  # a process of its own may reach it another way (a relay)
            **self.settings,
            **settings,
            "operator_key": OPERATOR_KEY,
            "host": "127.0.0.1",
            "port": port,
            "log_level": "INFO",
        }
        env.update({"HOOKLINE_" + k.upper(): str(v) for k, v in values.items()})
        return env

    def start(self, command: str, wrapper: Sequence[str] = (), **settings: Any) -> Proc:
        name = f"{command}-{len(self.started) + 1}"
        port = free_port() if command in ("serve", "api") else 0
        proc = Proc(name, [command], self.env(port, **settings), self.log_dir / f"{name}.log", wrapper)
        self.started.append(proc)
        return proc

    async def server(self, command: str = "api", wrapper: Sequence[str] = (), **settings: Any) -> Proc:
        """``api`` or ``serve``, started and ready."""
        proc = self.start(command, wrapper, **settings)
        await proc.wait_ready()
        return proc

    async def worker(self, **settings: Any) -> Proc:
        """A ``worker``, started and past its start-up (listening for work)."""
        proc = self.start("worker", **settings)
        await proc.wait_log("hookline: worker running")
        return proc

    async def migrate(self) -> None:
        proc = self.start("migrate")
        code = await proc.wait_exit(READY_S)
        assert code == 0, f"migrate exited with {code}:\n{proc.log()}"

    def close(self) -> None:
        errors = []
        for proc in self.started:
            try:
                proc.stop()
            except Exception as exc:  # keep killing the others
                errors.append(exc)
        if errors:
            raise errors[0]


@contextlib.asynccontextmanager
async def processes(log_dir: Path, database_url: str, **settings: Any) -> AsyncIterator[Processes]:
    group = Processes(log_dir, database_url, **settings)
    try:
        yield group
    finally:
        group.close()


async def until(
    condition: Callable[[], bool] | Callable[[], Awaitable[bool]],
    timeout: float,
    what: str,
    every: float = 0.05,
) -> float:
    """Wait (bounded) until ``condition()`` is true; the seconds it took. Fails with ``what`` on timeout."""
    start = time.monotonic()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(every)


def event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.reminder",
        "created": 1_700_000_000,
        "data": {"object": {"type": "order", "public_id": f"ord-{event_id}", "customer": "cust-1"}},
    }


def received(receiver: Receiver) -> Counter[str]:
    """Requests per delivery id (``webhook-id``)."""
    return Counter(r.headers["webhook-id"] for r in receiver.requests)


def missing(receiver: Receiver, delivery_ids: Iterable[str]) -> set[str]:
    return set(delivery_ids) - set(received(receiver))


def duplicates(receiver: Receiver) -> int:
    """Requests beyond the first one, over all deliveries."""
    return sum(count - 1 for count in received(receiver).values())


async def all_delivered_and_succeeded(
    client: Api, receiver: Receiver, delivery_ids: list[str], timeout: float
) -> float:
    """Wait until each delivery reached the receiver and is ``success`` in the API; the seconds it took."""
    took = await until(lambda: not missing(receiver, delivery_ids), timeout, "every delivery to arrive")
    took += await until(lambda: client.all_succeeded(delivery_ids), timeout, "every delivery success", 0.2)
    return took


class Api:
    """The HTTP API of one running hookline process."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.merchant_id = ""
        self.merchant_key = ""

    async def call(self, method: str, path: str, key: str = OPERATOR_KEY, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)

    async def ok(self, method: str, path: str, status: int, key: str = OPERATOR_KEY, **kwargs: Any) -> Any:
        response = await self.call(method, path, key, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def setup(self, receiver: Receiver, fan_out: int, **route_settings: Any) -> list[str]:
        """A merchant with ``fan_out`` targets and routes (``/r0``, ``/r1``, …) on the receiver: route ids.

        ``route_settings`` go to every route (``timeout_s=…``).
        """
        await self.new_merchant()
        return [
            await self.add_route({"url": f"{receiver.url}/r{i}"}, f"route-{i}", **route_settings)
            for i in range(fan_out)
        ]

    async def new_merchant(self) -> None:
        """A new merchant, whose key the calls that follow use."""
        merchant = await self.ok("POST", "/v1/merchants", 201, json={"name": "Crash Coffee"})
        self.merchant_id, self.merchant_key = merchant["id"], merchant["api_key"]

    async def add_route(self, target: dict[str, Any], name: str, **route_settings: Any) -> str:
        """A new target (``target``: its body, a URL and maybe a destination) and a route of every order
        event to it; the route's id."""
        made = await self.ok("POST", "/v1/targets", 201, self.merchant_key, json=target)
        body = {"name": name, "target_id": made["id"], "event_types": ["order.*"], **route_settings}
        route = await self.ok("POST", "/v1/routes", 201, self.merchant_key, json=body)
        return str(route["id"])

    async def post_events(self, events: list[dict[str, Any]]) -> httpx.Response:
        return await self.call(
            "POST", "/v1/events", params={"merchant": self.merchant_id}, json={"events": events}
        )

    async def ingest(self, events: list[dict[str, Any]]) -> list[str]:
        """Post a batch that must be accepted; its delivery ids."""
        response = await self.post_events(events)
        assert response.status_code == 202, response.text
        return [d for answer in response.json() for d in answer["deliveries"]]

    async def ingest_all(self, count: int, batch: int, prefix: str = "evt") -> list[str]:
        delivery_ids: list[str] = []
        for start in range(0, count, batch):
            ids = range(start, min(start + batch, count))
            delivery_ids += await self.ingest([event(f"{prefix}-{i}") for i in ids])
        return delivery_ids

    async def deliveries(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every delivery of the merchant (with ``status``), through all pages."""
        rows: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500, **({"status": status} if status else {})}
        for _ in range(1000):
            page = await self.ok("GET", "/v1/deliveries", 200, self.merchant_key, params=params)
            rows += page["data"]
            if not page["next_cursor"]:
                return rows
            params["cursor"] = page["next_cursor"]
        raise AssertionError("more than 1000 pages of deliveries")

    async def all_succeeded(self, delivery_ids: Iterable[str]) -> bool:
        return set(delivery_ids) <= {d["id"] for d in await self.deliveries("success")}


@contextlib.asynccontextmanager
async def api(proc: Proc) -> AsyncIterator[Api]:
    # A connection per request: hookline closes a connection left idle for its keep-alive time (5 s), and a
    # request sent on a pooled one just as it closes fails with a ReadError (seen on a busy machine).
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=proc.url, timeout=15.0, limits=no_reuse) as http:
        yield Api(http)
