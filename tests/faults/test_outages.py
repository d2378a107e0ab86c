"""Database faults with hookline as real processes (``hookline api`` and two ``hookline worker``s) under load.

The processes reach PostgreSQL through a relay the test controls (``support.relay``), except for the real
restart (``.ci/postgres restart``, which CI allows with ``HOOKLINE_TEST_PG_RESTART=1``: on a shared machine
it would disturb everyone else's tests). Clients post events throughout, and post a refused batch again with
the same ids until it is accepted (``traffic``). For each fault the test asserts what hookline promises:

- nothing accepted is lost: every delivery of every accepted event reaches the receiver and is ``success``;
- no request is slower than the database deadline (``HOOKLINE_DB_TIMEOUT_S``, 2 s here) plus the margin of
  a loaded 2-core machine; a refusal is a 503 problem with ``Retry-After``;
- recovery within 2 s of the fault's end: a post is accepted again, and an event posted at the end is
  delivered;
- duplicates (requests beyond the first per delivery) are counted, reported, and at most 1 % of deliveries;
- the API and the workers logged the fault and the recovery, and count them in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import PG_URL, WORKER
from crash.helpers import Api, Proc, all_delivered_and_succeeded, api, duplicates, event, processes, until
from faults.traffic import Posters, posting
from support.receiver import Receiver
from support.relay import Relay, start_relay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

DEADLINE_S = 2.0
MARGIN_S = 0.75  # HTTP, the event loop and three processes on two busy cores, on top of the deadline
RECOVERY_S = 2.0
LEASE_S = 15.0  # longer than any fault here: a worker holding outcomes keeps its deliveries
DUPLICATES_SHARE = 0.01
RESTART = Path(__file__).resolve().parents[2] / ".ci" / "postgres"

Fault = Callable[[Relay], Awaitable[None]]


def _postgres() -> tuple[str, int]:
    parts = urlsplit(PG_URL)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def _report(name: str, **figures: Any) -> None:
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


async def _cut_every_second(relay: Relay) -> None:
    """Every open connection cut, every second for 8 s: dropped (the server's side reset, the client's left
    hanging: nothing more comes on it) or reset (both sides told), in turn, the last one a reset."""
    for second in range(8):
        await asyncio.sleep(1.0)
        if second % 2:
            relay.reset()
        else:
            relay.drop()


async def _stall_10s(relay: Relay) -> None:
    relay.stall()
    await asyncio.sleep(10.0)
    await relay.heal()


async def _refuse_10s(relay: Relay) -> None:
    await relay.refuse()
    await asyncio.sleep(10.0)
    await relay.heal()


async def _probe(client: Api, receiver: Receiver, since: float) -> tuple[float, float]:
    """Post one event now, again while refused; seconds from ``since`` to its 202 and to its delivery."""
    while True:
        response = await client.post_events([event(f"probe-{time.monotonic_ns()}")])
        if response.status_code == 202:
            accepted = time.monotonic() - since
            ids = {d for answer in response.json() for d in answer["deliveries"]}
            break
        await asyncio.sleep(0.05)
    await until(
        lambda: ids <= {r.headers["webhook-id"] for r in receiver.requests}, 20, "the probe delivered"
    )
    return accepted, time.monotonic() - since


def _metric(page: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", page, re.MULTILINE))


async def _under_fault(
    name: str, url: str, fault: Callable[[], Awaitable[None]], receiver: Receiver, tmp_path: Path
) -> dict[str, Any]:
    """Run the processes on ``url``, post events through ``fault``, check and return the figures."""
    async with processes(tmp_path, url, lease_s=LEASE_S, db_timeout_s=DEADLINE_S, concurrency=20) as procs:
        server, *workers = await asyncio.gather(procs.server("api"), procs.worker(), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, fan_out=2)
            async with posting(client) as posters:
                await asyncio.sleep(1.0)  # traffic flowing when the fault comes
                started = time.monotonic()
                await fault()
                ended = time.monotonic()
                accepted_s, delivered_s = await _probe(client, receiver, ended)
            figures = await _check(client, receiver, posters, server, workers)
            figures.update(
                fault_s=f"{ended - started:.1f}",
                probe_accepted_s=f"{accepted_s:.2f}",
                probe_delivered_s=f"{delivered_s:.2f}",
            )
            _report(name, **figures)
            # Recovery: an event posted at the fault's end is accepted, and delivered, within 2 s of it.
            assert accepted_s <= RECOVERY_S, f"the first 202 came {accepted_s:.2f}s after the fault"
            assert delivered_s <= RECOVERY_S, f"an event posted at the fault's end took {delivered_s:.2f}s"
    return figures


async def _check(
    client: Api, receiver: Receiver, posters: Posters, server: Proc, workers: list[Proc]
) -> dict[str, Any]:
    """The figures of a run, once everything accepted was delivered; fails on any loss or slow answer."""
    traffic = posters.traffic
    assert not traffic.problems, f"{traffic.problems[:3]}\n{server.log(tail=20_000)}"
    await all_delivered_and_succeeded(client, receiver, traffic.accepted, timeout=40)
    assert all(p.alive() for p in (server, *workers)), "a process died"
    dups = duplicates(receiver)
    figures = {
        "deliveries": len(traffic.accepted),
        "requests": len(traffic.answers),
        "refused": traffic.refused,
        "slowest_answer_s": f"{traffic.slowest:.2f}",
        "duplicates": dups,
        "duplicates_pct": f"{100 * dups / max(1, len(traffic.accepted)):.2f}",
    }
    assert traffic.refused > 0, f"the fault was not seen: {figures}"
    assert traffic.slowest <= DEADLINE_S + MARGIN_S, f"an answer took {traffic.slowest:.2f}s: {figures}"
    assert dups <= DUPLICATES_SHARE * len(traffic.accepted), f"{dups} duplicates"
    # What an operator sees: a fault and a recovery in the API's log and metrics, and in a worker's log.
    for proc in (server, workers[0]):
        log = proc.log(tail=200_000)
        assert "database unavailable (" in log, f"{proc.name} logged no fault:\n{proc.log()}"
        assert "database available again after" in log, f"{proc.name} logged no recovery:\n{proc.log()}"
    page = (await client.http.get("/metrics")).text
    assert _metric(page, "hookline_database_faults_total") > 0
    assert _metric(page, "hookline_database_recoveries_total") > 0
    assert _metric(page, "hookline_database_up") == 1
    async with httpx.AsyncClient(base_url=server.url) as probes:
        assert (await probes.get("/readyz")).status_code == 200
    return figures


async def _through_relay(name: str, fault: Fault, pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    async with start_relay(_postgres()) as relay:
        await _under_fault(name, relay.url_for(pg_url), lambda: fault(relay), receiver, tmp_path)
        print(f"[{name}] relay: {relay.counts}")


@pytest.mark.restarts_postgres
@pytest.mark.skipif(
    os.environ.get("HOOKLINE_TEST_PG_RESTART") != "1",
    reason="restarts the machine's PostgreSQL (.ci/postgres restart): HOOKLINE_TEST_PG_RESTART=1, as CI sets",
)
async def test_postgres_restarted(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    # The restart cuts every connection to the server: the other pytest-xdist workers' too.
    assert WORKER == "main", (
        "runs alone (scripts/test runs it after the parallel run), not in an xdist worker"
    )

    async def restart() -> None:
        done = await asyncio.to_thread(
            subprocess.run, [str(RESTART), "restart"], capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    await _under_fault("PostgreSQL restart", pg_url, restart, receiver, tmp_path)


async def test_connections_cut_every_second(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    await _through_relay("cuts every 1 s for 8 s", _cut_every_second, pg_url, receiver, tmp_path)


async def test_database_stalls_for_10s(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    await _through_relay("stall 10 s", _stall_10s, pg_url, receiver, tmp_path)


async def test_database_refuses_connections_for_10s(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    await _through_relay("refused 10 s", _refuse_10s, pg_url, receiver, tmp_path)
