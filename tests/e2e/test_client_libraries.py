"""The verification libraries of ``clients/`` against real deliveries: hookline runs as a process (``serve``),
delivers to a local receiver before and during a key rotation, and every captured request is verified with
the Python library and with the Node library (a ``node`` process), by each key the target published (its
``signing_key``, ``whsec_`` secret, ``whpk_`` public key, and its JWKS URL fetched from the running hookline).
The Node library's own tests (``node --test``) run here too, so that ``./scripts/test`` covers them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hookline_verify import Ordergroove, StandardWebhooks, VerificationError

from crash.helpers import api, processes
from support import events
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
NODE_LIBRARY = ROOT / "clients" / "node"
NODE_TIMEOUT_S = 60


@pytest.fixture
def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("node is required under CI (the Node verification library is tested with it)")
        pytest.skip("node is not installed")
    return found


async def _run(*args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), NODE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _delivered(receiver: Receiver, event_id: str) -> dict[str, Any]:
    """The request that carried ``event_id``, waited for."""
    for _ in range(200):
        found = [r for r in receiver.on("/hook") if json.loads(r.body)["id"] == event_id]
        if found:
            [request] = found
            return {"body": request.body, "headers": request.headers}
        await asyncio.sleep(0.05)
    raise AssertionError(f"{event_id} was not delivered")


def _verify_with_python(jwks_url: str, request: dict[str, Any], keys: list[dict[str, Any]]) -> list[str]:
    """Every way of verifying ``request`` with the Python library; the checks made. Runs on a thread: the
    JWKS fetch blocks."""
    body, headers = request["body"], request["headers"]
    verifiers: dict[str, Any] = {"jwks": StandardWebhooks(jwks_url=jwks_url)}
    for k in keys:
        verifiers[f"ordergroove {k['signing_key'][:6]}"] = Ordergroove(k["signing_key"])
        verifiers[f"v1 {k['standard_webhooks_secret'][:12]}"] = StandardWebhooks(
            secret=k["standard_webhooks_secret"]
        )
        verifiers[f"v1a {k['standard_webhooks_public_key'][:12]}"] = StandardWebhooks(
            public_key=k["standard_webhooks_public_key"]
        )
    for verifier in verifiers.values():
        verifier.verify(body, headers)
        with pytest.raises(VerificationError):
            verifier.verify(body + b" ", headers)
    return sorted(verifiers)


async def test_both_libraries_verify_real_deliveries_before_and_during_a_rotation(
    db_url: str, receiver: Receiver, tmp_path: Path, node: str
) -> None:
    async with processes(tmp_path, db_url) as procs:
        server = await procs.server("serve")
        async with api(server) as client:
            merchant = await client.ok("POST", "/v1/merchants", 201, json={"name": "Verified Coffee"})
            key = merchant["api_key"]
            target = await client.ok("POST", "/v1/targets", 201, key, json={"url": receiver.url + "/hook"})
            route = {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
            await client.ok("POST", "/v1/routes", 201, key, json=route)
            keys_path = f"/v1/targets/{target['id']}/signing-key"
            old = await client.ok("GET", keys_path, 200, key)

            event = events.event("order.reminder", public_id="ord-1")
            await client.ok("POST", "/v1/events", 202, key, json={**event, "id": "evt-before"})
            before = await _delivered(receiver, "evt-before")
            new = await client.ok("POST", keys_path + "/rotate", 200, key)
            await client.ok("POST", "/v1/events", 202, key, json={**event, "id": "evt-during"})
            during = await _delivered(receiver, "evt-during")
            assert len(during["headers"]["webhook-signature"].split(" ")) == 4  # v1, v1, v1a, v1a

            jwks_url = f"{server.url}/jwks/{target['id']}.json"
            cases = [(before, [old]), (during, [new, old])]
            checked = [await asyncio.to_thread(_verify_with_python, jwks_url, r, k) for r, k in cases]
            assert [len(names) for names in checked] == [4, 7]

            requests = [
                {
                    "body": base64.b64encode(r["body"]).decode(),
                    "headers": r["headers"],
                    "ordergroove": [k["signing_key"] for k in ks],
                    "secret": [k["standard_webhooks_secret"] for k in ks],
                    "public_key": [k["standard_webhooks_public_key"] for k in ks],
                }
                for r, ks in cases
            ]
            captured = tmp_path / "captured.json"
            captured.write_text(json.dumps({"jwks_url": jwks_url, "requests": requests}))
            script = str(ROOT / "tests" / "support" / "verify_captured.js")
            code, out, err = await _run(node, script, str(captured))
    assert code == 0, err
    results = json.loads(out)
    by_request = [sorted({r["check"] for r in results if r["request"] == i}) for i in range(2)]
    assert by_request == checked  # the same checks as in Python, each made by Node
    wrong = [r for r in results if r["ok"] == r["tampered"]]
    assert wrong == [], wrong  # every genuine request verified, every tampered one refused


async def test_node_library_passes_its_own_tests(node: str) -> None:
    code, out, err = await _run(node, "--test", cwd=NODE_LIBRARY)
    assert code == 0, out[-4000:] + err[-2000:]
    summary = dict(line[2:].split(" ", 1) for line in out.splitlines() if line.startswith("# "))
    assert int(summary["fail"]) == 0 and int(summary["pass"]) >= 50, summary
