"""kill -9 of a worker between a broker's acknowledgement and the attempt's record: at most a duplicate.

A real worker process publishes to the local Redis, NATS JetStream and RabbitMQ through a relay, and reaches
its database (PostgreSQL) through another. Once it runs, the test stalls the broker relay (the worker's
publishes in flight wait there, its slots fill with more), then the database relay, then lets the broker
relay go: the broker takes those messages and acknowledges them, and the worker can record none of them
(it says it is "holding" results). The worker is then killed with SIGKILL, and the messages the broker has
that the database does not record as delivered are counted: at least one, or the kill missed the window.
A new worker is started; a consumer counts the broker's messages per delivery id (``webhook-id``): every
delivery is there at least once, twice only for the deliveries the dead worker held, and the database ends
with each delivery ``success``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crash.helpers import LEASE_S, api, processes, until
from support.consumers import ADDRESSES, KINDS, open_consumer
from support.relay import start_relay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

EVENTS, BATCH, CONCURRENCY = 120, 20, 10
SLOW_S = 0.05  # each chunk through the broker relay, each way, until the stall: the run lasts a while
FILL_S = 1.0  # the stalled broker relay holds the worker's publishes this long before the database stalls
ROUTE_TIMEOUT_S = 30  # the publishes held in the relay wait that long for their acknowledgement
DB_TIMEOUT_S = 2  # the worker's records fail (and it says it holds them) this soon once the database stalls


@pytest.mark.parametrize("kind", KINDS)
async def test_sigkill_between_publish_and_record_loses_nothing(
    kind: str, pg_url: str, tmp_path: Path
) -> None:
    pg = urlsplit(pg_url)
    async with (
        open_consumer(kind) as consumer,
        start_relay(ADDRESSES[kind]) as broker,
        start_relay((pg.hostname or "127.0.0.1", pg.port or 5432)) as database,
        processes(tmp_path, pg_url, concurrency=CONCURRENCY) as procs,
    ):
        broker.slow(SLOW_S)
        server, doomed = await asyncio.gather(
            procs.server("api"),
            procs.worker(database_url=database.url_for(pg_url), db_timeout_s=DB_TIMEOUT_S),
        )
        async with api(server) as client:
            await client.new_merchant()
            target = {"url": broker.url_for(consumer.url), "destination": consumer.destination}
            await client.add_route(target, f"to {kind}", timeout_s=ROUTE_TIMEOUT_S)
            delivery_ids = await client.ingest_all(EVENTS, BATCH)

            async def published() -> bool:
                return bool(await consumer.deliveries())

            await until(published, 45, "the first message in the broker")
            broker.stall()  # the publishes in flight wait in the relay, and the next ones ...
            await asyncio.sleep(FILL_S)
            database.stall()  # ... the worker's records from now on hang ...
            await broker.heal()  # ... and the broker takes and acknowledges what waited (at full speed)
            await doomed.wait_log("holding ", 20)  # acknowledged, and not recorded
            doomed.kill()
            recorded = {d["id"] for d in await client.deliveries("success")}
            unrecorded = set(await consumer.deliveries()) - recorded
            assert len(recorded) < len(delivery_ids), "the run ended before the kill: make it longer"
            database.reset()  # the dead worker's sessions end (their transactions roll back) ...
            await database.heal()  # ... and the relay forwards again
            await procs.worker()  # restarted, as a supervisor would

            every = "every delivery success"
            await until(lambda: client.all_succeeded(delivery_ids), 60 + LEASE_S, every, 0.3)
            assert await client.deliveries("pending") == []
            await asyncio.sleep(0.3)  # a publish sent twice would be in by now
            counts = await consumer.deliveries()

    assert set(counts) == set(delivery_ids), "a delivery never reached the broker"
    duplicates = sum(n - 1 for n in counts.values())
    # The kill fell between publish and record: the broker had deliveries the database did not record.
    assert unrecorded, "no delivery was published and not recorded at the kill"
    # Those were published again (twice in all); nothing but what the dead worker held came twice.
    assert all(counts[d] == 2 for d in unrecorded), counts
    assert max(counts.values()) == 2 and duplicates <= CONCURRENCY, counts
    print(
        f"\n[kill -9 between publish and record, {kind}] deliveries={len(delivery_ids)}, "
        f"unrecorded_at_kill={len(unrecorded)}, duplicates={duplicates}"
    )
