"""A halt's notices outlive a crash: a worker process killed while it sends them leaves them to the next one.

The first ``serve`` halts a route, then dies (SIGKILL) with its Slack post in flight (the receiver stalls)
and its e-mail refused (no SMTP server where it looks). The second ``serve`` finds both in the outbox: the
Slack post once the dead process's lease ran out, the e-mail at its retry. Nobody asked anything again.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from crash.helpers import api, processes, until
from support.events import event
from support.receiver import Receiver, Stall, Status
from support.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the fixture smtp_server)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_notices_of_a_halt_are_sent_after_the_sender_is_killed(
    db_url: str, receiver: Receiver, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    receiver.respond("/r0", Status(503))
    receiver.respond("/slack", Stall(60))
    with socket.create_server(("127.0.0.1", 0)) as sock:
        nowhere = f"smtp://127.0.0.1:{sock.getsockname()[1]}"
    async with processes(tmp_path, db_url) as procs:
        first = await procs.server("serve", smtp_url=nowhere)
        async with api(first) as client:
            retry = {"initial_interval_s": 1, "max_interval_s": 1, "max_attempts": 10}
            [route_id] = await client.setup(
                receiver, 1, retry=retry, auto_halt={"failures": 3, "window_s": 1}
            )
            channels = {"emails": ["ops@example.com"], "slack_webhook_url": receiver.url + "/slack"}
            await client.ok("PUT", "/v1/notifications", 200, client.merchant_key, json=channels)
            await client.ingest([event("order.reminder", event_id="evt-1")])
            await receiver.wait_for(1, path="/slack", timeout=30)  # in flight: the receiver stalls it
            merchant_key = client.merchant_key
        first.kill()

        receiver.respond("/slack", Status(200))
        second = await procs.server("serve", smtp_url=smtp_server.url)
        async with api(second) as client:
            route = await client.ok("GET", f"/v1/routes/{route_id}", 200, merchant_key)
            assert route["state"] == "halted"
            [mail] = await smtp_server.wait_for(1, timeout=40)
            assert route_id in mail.get_content()
            await until(lambda: _posts(receiver) >= 2, 40, "the Slack post sent again")
        [_, again] = receiver.on("/slack")
        assert route_id in again.json()["text"]
        assert len(smtp_server.messages) == 1


def _posts(receiver: Receiver) -> int:
    return len(receiver.on("/slack"))
