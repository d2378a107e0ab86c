"""A webhook's details page shows its ``whsec_`` Standard Webhooks secret (and its signing key) masked until
revealed, and verification code that works: the Python and Node snippets, run as the page shows them, accept
a delivery hookline made and refuse a tampered one."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from conftest import OPERATOR_KEY, Client
from support.dashboard import make_route, signed_in
from support.events import event
from support.receiver import Receiver

SNIPPET = re.compile(r'<code id="snippet-(\w+)">(.*?)</code>', re.S)


def snippets(page: str) -> dict[str, str]:
    return {language: html.unescape(code) for language, code in SNIPPET.findall(page)}


async def delivered(merchant: Client, receiver: Receiver, route: dict[str, Any]) -> Any:
    operator = Client(merchant.http, OPERATOR_KEY)
    params = {"merchant": merchant.merchant_id}  # type: ignore[attr-defined]
    await operator.ok("POST", "/v1/events", 202, params=params, json=event("order.reminder", "evt-secret"))
    [request] = await receiver.wait_for(1, timeout=30, path="/hooks")
    return request


async def test_the_secret_is_masked_until_revealed(http: httpx.AsyncClient, merchant: Client) -> None:
    route = await make_route(merchant, "http://127.0.0.1:9/hooks")
    keys = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    secret = keys["standard_webhooks_secret"]
    assert secret.startswith("whsec_")
    await signed_in(http, merchant.key)
    page = (await http.get(f"/dashboard/routes/{route['id']}")).text
    assert "Standard Webhooks secret" in page and 'placeholder="whsec_••••' in page
    assert secret not in page and keys["signing_key"] not in page  # masked: not even in the page source
    revealed = (await http.get(f"/dashboard/routes/{route['id']}", params={"reveal": "1"})).text
    assert f'value="{secret}"' in revealed and f'value="{keys["signing_key"]}"' in revealed
    answer = (await http.get(f"/dashboard/routes/{route['id']}/key")).json()  # what Reveal fetches
    assert answer["standard_webhooks_secret"] == secret and answer["signing_key"] == keys["signing_key"]
    assert set(snippets(page)) == {"python", "node"}


async def test_the_python_snippet_verifies_a_delivery(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = await make_route(merchant, receiver.url + "/hooks")
    secret = (await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key"))[
        "standard_webhooks_secret"
    ]
    request = await delivered(merchant, receiver, route)
    await signed_in(http, merchant.key)
    code = snippets((await http.get(f"/dashboard/routes/{route['id']}")).text)["python"]
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    scope: dict[str, Any] = {}
    exec(compile(code, "snippet.py", "exec"), scope)  # the code as the page shows it
    assert scope["verified"](request.body, dict(request.headers))["id"] == "evt-secret"
    with pytest.raises(WebhookVerificationError):
        scope["verified"](request.body + b" ", dict(request.headers))


HARNESS = """
const input = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
const body = Buffer.from(input.body, "base64");
const tampered = Buffer.concat([body, Buffer.from(" ")]);
console.log(JSON.stringify([verified(body, input.headers), verified(tampered, input.headers)]));
"""


async def test_the_node_snippet_verifies_a_delivery(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing")
        pytest.skip("node is missing")
    route = await make_route(merchant, receiver.url + "/hooks")
    secret = (await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key"))[
        "standard_webhooks_secret"
    ]
    request = await delivered(merchant, receiver, route)
    await signed_in(http, merchant.key)
    code = snippets((await http.get(f"/dashboard/routes/{route['id']}")).text)["node"]
    script, data = tmp_path / "verify.js", tmp_path / "request.json"
    script.write_text(code + HARNESS)
    data.write_text(
        json.dumps({"body": base64.b64encode(request.body).decode(), "headers": dict(request.headers)})
    )
    env = {**os.environ, "WEBHOOK_SECRET": secret}
    ran = subprocess.run([node, str(script), str(data)], capture_output=True, text=True, env=env, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [True, False]  # as received: verified; tampered: refused
