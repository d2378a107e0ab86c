"""``hookline worker --metrics-port``: a worker's own counters can be scraped, and it still stops on SIGTERM.

Without it the counters of a worker running on its own (the deliveries it made, their latency) were in no
``/metrics`` page: the API's counts only what the API did.
"""

from __future__ import annotations

import re
import signal
import socket
from pathlib import Path

import httpx
import pytest

from crash.helpers import api, free_port, processes, until
from crash.helpers import event as an_event
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def _successes(page: str) -> float:
    found = re.search(r'^hookline_deliveries_total\{outcome="success"\} (\S+)$', page, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_a_worker_serves_its_own_metrics_and_probes(tmp_path: Path, receiver: Receiver) -> None:
    database_url = f"sqlite:///{tmp_path}/hookline.db"
    port = free_port()
    async with processes(tmp_path, database_url) as procs:
        server = await procs.server("api")
        worker = await procs.worker(metrics_port=port)
        assert f"worker metrics at http://127.0.0.1:{port}/metrics" in worker.log()
        async with api(server) as client, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probes:
            assert (await probes.get("/healthz")).json() == {"status": "ok"}
            assert (await probes.get("/readyz")).json() == {"status": "ok", "database": "sqlite"}
            assert (await probes.get("/v1/merchants")).status_code == 404  # probes only, no API
            assert _successes((await probes.get("/metrics")).text) == 0
            await client.setup(receiver, fan_out=1)
            await client.ingest([an_event("e1"), an_event("e2")])

            async def counted() -> bool:
                return _successes((await probes.get("/metrics")).text) == 2

            await until(counted, 20, "the worker's /metrics to count both deliveries", every=0.1)
            page = (await probes.get("/metrics")).text
            assert 'hookline_queue_depth{status="pending"} 0.0' in page
            # The API process delivered nothing: its own page does not count the worker's deliveries.
            assert _successes((await client.http.get("/metrics")).text) == 0
        worker.send(signal.SIGTERM)  # the probe server must not take the worker's signals
        assert await worker.wait_exit(15) == 0, worker.log()


async def test_a_metrics_port_in_use_stops_the_worker_with_the_reason(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as procs:
            worker = procs.start("worker", metrics_port=port)
            assert await worker.wait_exit(20) == 5  # an address in use (hookline.cli.exits)
            assert f"cannot listen for the worker's metrics on 127.0.0.1:{port}" in worker.log()
