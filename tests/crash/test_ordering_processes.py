"""Per-key ordering with real processes: two workers on one PostgreSQL database, one killed with SIGKILL.

Whatever the workers do, a key's deliveries reach the receiver one at a time, in the order their events were
accepted (numbers 1, 2, 3 …), none lost; only the delivery the dead worker had in flight may come twice.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

from crash.helpers import all_delivered_and_succeeded, api, processes, received, until
from support.events import event
from support.receiver import Received, Receiver, Stall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

KEYS, PER_KEY, STALL_S = 6, 25, 0.05


def _by_key(requests: list[Received]) -> dict[str, list[tuple[int, Received]]]:
    found: dict[str, list[tuple[int, Received]]] = defaultdict(list)
    for r in requests:
        found[r.headers["hookline-ordering-key"]].append((int(r.headers["hookline-sequence"]), r))
    return found


async def test_two_workers_and_a_kill_keep_each_key_in_order(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.respond("/r0", Stall(STALL_S))
    async with processes(tmp_path, pg_url, concurrency=10) as procs:
        server, doomed, _ = await asyncio.gather(procs.server("api"), procs.worker(), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, 1, ordering="object")
            batch = [
                event("order.reminder", f"e{i:03}", public_id=f"k{i % KEYS}") for i in range(KEYS * PER_KEY)
            ]
            delivery_ids = [
                d
                for start in range(0, len(batch), 30)
                for d in await client.ingest(batch[start : start + 30])
            ]
            await until(lambda: len(receiver.requests) >= len(batch) // 4, 30, "a quarter of the deliveries")
            doomed.kill()
            await procs.worker()  # restarted, as a supervisor would
            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=60)
            await asyncio.sleep(0.3)

    assert set(received(receiver)) == set(delivery_ids)
    for key, sent in _by_key(receiver.requests).items():
        numbers = [n for n, _ in sent]
        # In order, each once, but for a repeat of the one a dead worker held (at least once).
        assert sorted(set(numbers)) == list(range(1, PER_KEY + 1)), key
        assert numbers == sorted(numbers), f"{key} out of order: {numbers}"
        assert len(numbers) - PER_KEY <= 1, f"{key} repeated more than the killed worker's one: {numbers}"
        # One at a time: the next delivery of a key arrives only once the one before was answered.
        for (n1, first), (n2, then) in itertools.pairwise(sent):
            if n2 != n1:
                assert then.at >= first.at + STALL_S * 0.9, f"{key} #{n2} overlapped #{n1}"
        # The events' own order: sequence n is the n-th event of the key.
        assert [r.json()["id"] for n, r in sent] == [f"e{(n - 1) * KEYS + int(key[1:]):03}" for n, _ in sent]
