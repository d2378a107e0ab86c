"""The test receiver itself: other tests lean on its scripting and waiting, so pin them down."""

from __future__ import annotations

import asyncio
import time

import pytest

from hookline.sender.http import open_sender
from hookline.sender.port import Options
from support.receiver import Receiver, Stall, Status, receiver_fixture, start_receiver  # noqa: F401


async def test_script_then_default_then_200(receiver: Receiver) -> None:
    receiver.script("/a", Status(500), Status(429))
    receiver.script("/a", Status(410))  # appended to the queue
    async with open_sender(Options(allow_private=True)) as sender:
        first = [(await sender.send(receiver.url + "/a", b"{}", {}, 5.0)).status for _ in range(4)]
        receiver.respond("/a", Status(503))
        later = [(await sender.send(receiver.url + "/a", b"{}", {}, 5.0)).status for _ in range(2)]
        other = (await sender.send(receiver.url + "/b?x=1", b"{}", {}, 5.0)).status
    assert first == [500, 429, 410, 200]
    assert later == [503, 503]
    assert other == 200
    assert len(receiver.on("/a")) == 6
    assert [r.query for r in receiver.on("/b")] == ["x=1"]


async def test_wait_for_returns_when_enough_arrived(receiver: Receiver) -> None:
    async with open_sender(Options(allow_private=True)) as sender:
        sends = asyncio.gather(*(sender.send(receiver.url + f"/p{i % 2}", b"{}", {}, 5.0) for i in range(4)))
        on_p1 = await receiver.wait_for(2, path="/p1")
        await sends
    assert {r.path for r in on_p1} == {"/p1"}
    assert len(await receiver.wait_for(4)) == 4


async def test_wait_for_times_out_with_a_clear_message(receiver: Receiver) -> None:
    with pytest.raises(AssertionError, match=r"waited 0\.1s for 1 request\(s\) to /never, got 0"):
        await receiver.wait_for(1, timeout=0.1, path="/never")


async def test_teardown_does_not_wait_for_a_stalled_request() -> None:
    async with open_sender(Options(allow_private=True)) as sender:
        clock = time.perf_counter()
        async with start_receiver() as stalling:
            stalling.respond("/slow", Stall(60))
            outcome = await sender.send(stalling.url + "/slow", b"{}", {}, 0.2)
        assert outcome.error is not None
        assert time.perf_counter() - clock < 2.0
