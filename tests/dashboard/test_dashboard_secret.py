"""A webhook's details page shows its ``whsec_`` Standard Webhooks secret (and its signing key) masked until
revealed, and verification code that works: the Python, Node, Go, PHP and Ruby snippets, run as the page
shows them, accept a delivery hookline made and refuse a tampered one (a language whose tool is missing
skips, and fails under ``CI``)."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
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
    assert set(snippets(page)) == {"python", "node", "go", "php", "ruby"}


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


@dataclass(frozen=True)
class Runner:
    """How to run a snippet: its file (the snippet, then ``harness`` appended unless ``separate``), the
    command, and a harness that reads the delivery (``{"body": base64, "headers"}``) from the file given as
    the last argument and prints ``[verified as received, verified tampered]`` as JSON."""

    file: str
    command: list[str]
    harness: str
    separate: str = ""  # the harness's own file (Go: imports must come first)


RUNNERS = {
    "node": Runner(
        "verify.js",
        ["node", "verify.js"],
        """
const input = JSON.parse(require("node:fs").readFileSync(process.argv[2], "utf8"));
const body = Buffer.from(input.body, "base64");
const tampered = Buffer.concat([body, Buffer.from(" ")]);
console.log(JSON.stringify([verified(body, input.headers), verified(tampered, input.headers)]));
""",
    ),
    "go": Runner(
        "verify.go",
        ["go", "run", "verify.go", "harness.go"],
        """package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	raw, _ := os.ReadFile(os.Args[1])
	var input struct {
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(raw, &input); err != nil {
		panic(err)
	}
	body, _ := base64.StdEncoding.DecodeString(input.Body)
	header := http.Header{}
	for name, value := range input.Headers {
		header.Set(name, value)
	}
	tampered := append(append([]byte{}, body...), ' ')
	out, _ := json.Marshal([]bool{verified(body, header), verified(tampered, header)})
	fmt.Println(string(out))
}
""",
        separate="harness.go",
    ),
    "php": Runner(
        "verify.php",
        ["php", "verify.php"],
        """
$input = json_decode(file_get_contents($argv[1]), true);
$body = base64_decode($input['body']);
echo json_encode([verified($body, $input['headers']), verified($body . ' ', $input['headers'])]), "\n";
""",
    ),
    "ruby": Runner(
        "verify.rb",
        ["ruby", "verify.rb"],
        """
require "json"
input = JSON.parse(File.read(ARGV[0]))
body = input["body"].unpack1("m0")
puts JSON.generate([verified?(body, input["headers"]), verified?(body + " ", input["headers"])])
""",
    ),
}


@pytest.mark.parametrize("language", sorted(RUNNERS))
async def test_each_other_snippet_verifies_a_delivery(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver, tmp_path: Path, language: str
) -> None:
    runner = RUNNERS[language]
    program = shutil.which(runner.command[0])
    if program is None:
        if os.environ.get("CI"):
            pytest.fail(f"{runner.command[0]} is missing")
        pytest.skip(f"{runner.command[0]} is missing")
    route = await make_route(merchant, receiver.url + "/hooks")
    secret = (await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key"))[
        "standard_webhooks_secret"
    ]
    request = await delivered(merchant, receiver, route)
    await signed_in(http, merchant.key)
    code = snippets((await http.get(f"/dashboard/routes/{route['id']}")).text)[language]
    if runner.separate:
        (tmp_path / runner.file).write_text(code)
        (tmp_path / runner.separate).write_text(runner.harness)
    else:
        (tmp_path / runner.file).write_text(code + runner.harness)
    headers = {name.lower(): value for name, value in request.headers.items()}
    data = tmp_path / "request.json"
    data.write_text(json.dumps({"body": base64.b64encode(request.body).decode(), "headers": headers}))
    env = {**os.environ, "WEBHOOK_SECRET": secret, "HOME": str(tmp_path), "GOFLAGS": "-mod=mod"}
    env.setdefault("GOCACHE", str(tmp_path / "go-cache"))
    command = [program, *runner.command[1:], str(data)]
    ran = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [True, False]  # as received: verified; tampered: refused
