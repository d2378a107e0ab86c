"""The receivers of ``docs/receivers.md``, run exactly as printed, against real deliveries.

Each program is cut out of the guide, started on a free port with the target's signing key, and a running
hookline (the app with its worker, on SQLite) delivers an event to it: the program must print it and
answer 2xx, so the delivery succeeds. A resend of that delivery must be acknowledged as a duplicate without
being handled again; after a key rotation (two signatures, the old key's second) a delivery must still
verify; a request with a wrong signature, or a stale timestamp, must be refused with 401. Python and Node
are on every machine; Go, PHP and Ruby are installed by ``.ci/run`` (elsewhere their cases skip).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from crash.helpers import free_port, until
from docs.markdown_files import ROOT, block

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

GUIDE = ROOT / "docs" / "receivers.md"
# fence info -> the command that runs the file (``{file}``, ``{port}``)
PROGRAMS = {
    "python receiver.py": ["python3", "{file}"],
    "js receiver.js": ["node", "{file}"],
    "go receiver.go": ["go", "run", "{file}"],
    "php receiver.php": ["php", "-S", "127.0.0.1:{port}", "{file}"],
    "ruby receiver.rb": ["ruby", "{file}"],
}


@contextlib.contextmanager
def receiver_program(info: str, key: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The guide's program for ``info`` running on a free port: (port, its output file)."""
    command = PROGRAMS[info]
    if shutil.which(command[0]) is None:
        reason = f"{command[0]} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    source = tmp_path / info.split()[1]
    source.write_text(block(GUIDE, info).code)
    port = free_port()
    output = tmp_path / "output.txt"
    env = {**os.environ, "PORT": str(port), "SIGNING_KEY": key, "TMPDIR": str(tmp_path)}
    with output.open("wb") as log:
        process = subprocess.Popen(
            [part.format(file=source, port=port) for part in command],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: ``go run`` leaves the built program as a child
        )
        try:
            yield port, output
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the program's whole process group, then SIGKILL to what is left of it after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


async def _listening(port: int, output: Path) -> None:
    def accepts() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    # ``go run`` compiles first: allow it a minute on a busy machine.
    await until(accepts, 60, f"the receiver to listen on {port}; it said:\n{_read(output)}", every=0.1)


def _read(output: Path) -> str:
    return output.read_text(errors="replace") if output.exists() else ""


def _signature(key: str, ts: int, body: bytes) -> str:
    sig = hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"ts={ts},sig={sig}"


@pytest.fixture
async def merchant(tmp_path: Path) -> AsyncIterator[Client]:
    async with running_app(app_settings(f"sqlite:///{tmp_path}/hookline.db")) as http:
        operator = Client(http, OPERATOR_KEY)
        created = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Receiving Co"})
        client = Client(http, created["api_key"])
        client.merchant_id = created["id"]  # type: ignore[attr-defined]
        yield client


async def _delivered(merchant: Client, event_id: str) -> dict[str, object]:
    """Post ``event_id`` (as the platform, with the operator key); its delivery once it succeeded."""
    event = {
        "id": event_id,
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "c-1"}},
    }
    params = {"merchant": merchant.merchant_id}  # type: ignore[attr-defined]
    operator = Client(merchant.http, OPERATOR_KEY)
    [delivery_id] = (await operator.ok("POST", "/v1/events", 202, json=event, params=params))["deliveries"]
    return await _succeeded(merchant, delivery_id)


async def _succeeded(merchant: Client, delivery_id: str, attempts: int = 1) -> dict[str, object]:
    async def done() -> bool:
        found = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        return bool(found["status"] == "success" and len(found["attempts"]) >= attempts)

    await until(done, 30, f"delivery {delivery_id} to succeed", every=0.2)
    delivery: dict[str, object] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
    return delivery


@pytest.mark.parametrize("info", list(PROGRAMS))
async def test_the_guide_receiver_verifies_and_deduplicates(
    info: str, merchant: Client, tmp_path: Path
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:1/webhooks"})
    key = (await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key"))["signing_key"]
    with receiver_program(info, key, tmp_path) as (port, output):
        await _listening(port, output)
        url = f"http://127.0.0.1:{port}/webhooks"
        await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"url": url})
        body = {"name": "Orders", "target_id": target["id"], "event_types": ["order.*"]}
        await merchant.ok("POST", "/v1/routes", 201, json=body)

        delivery = await _delivered(merchant, "evt-guide-1")
        assert "received order.reminder evt-guide-1" in _read(output)

        # A redelivery of the same event: acknowledged, not handled twice.
        await merchant.ok("POST", f"/v1/deliveries/{delivery['id']}/resend")
        again = await _succeeded(merchant, str(delivery["id"]), attempts=2)
        assert again["attempts"][-1]["response"]["body"] == "duplicate"  # type: ignore[index]
        assert _read(output).count("received order.reminder evt-guide-1") == 1

        # During a rotation the old key's signature comes second: the receiver still has the old key.
        await merchant.ok("POST", f"/v1/targets/{target['id']}/signing-key/rotate")
        await _delivered(merchant, "evt-guide-2")
        assert "received order.reminder evt-guide-2" in _read(output)

        # Forged and replayed requests are refused.
        payload = b'{"id": "evt-forged", "type": "order.reminder", "data": {"object": {}}}'
        now = int(time.time())
        async with httpx.AsyncClient(timeout=10) as http:
            for signature in (
                _signature("not the key", now, payload),
                _signature(key, now - 600, payload),
                "",
            ):
                headers = {"Ordergroove-Signature": signature, "Hookline-Event-Id": "evt-forged"}
                answer = await http.post(url, content=payload, headers=headers)
                assert answer.status_code == 401, (signature, answer.text)
        await asyncio.sleep(0.2)
        assert "evt-forged" not in _read(output)
