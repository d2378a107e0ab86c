"""What the image does, done on this machine (no container engine runs here): build, install, run, deliver.

The build stage's steps are read from ``deploy/Dockerfile`` (its ``RUN deploy/image/…`` lines) and run with
the image's paths moved under the test's folder: the wheel and the locked requirements are built, and a
fresh virtual environment gets them. Then ``deploy/compose.yaml``'s services run from that environment as
processes on a new, empty PostgreSQL database (``migrate``, then ``api`` and the ``worker`` replicas), and
one event posted to the API reaches a real receiver, signed. The systemd units are checked by
``systemd-analyze verify`` against the same installed program.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from conftest import OPERATOR_KEY, _pg_admin_dsn
from crash.helpers import Proc, api, event, free_port, until
from support.databases import empty_postgres
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE_PATHS = ("/build", "/opt/hookline")  # where the Dockerfile builds and installs


def build_steps() -> list[list[str]]:
    """The Dockerfile's ``RUN deploy/image/…`` commands, in order."""
    text = (DEPLOY / "Dockerfile").read_text()
    return [shlex.split(line) for line in re.findall(r"^RUN (deploy/image/.+)$", text, re.MULTILINE)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's build steps run here; the ``hookline`` program of the environment they installed."""
    root = tmp_path_factory.mktemp("image")
    steps = build_steps()
    assert [step[0] for step in steps] == ["deploy/image/build", "deploy/image/install"]
    for step in steps:
        args = [str(root) + arg if arg.startswith(IMAGE_PATHS) else arg for arg in step]
        done = subprocess.run(
            [str(ROOT / args[0]), *args[1:]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{step}:\n{done.stdout}\n{done.stderr}"
    program = root / "opt" / "hookline" / "bin" / "hookline"
    assert program.exists()
    # The environment holds what uv.lock says and nothing for development.
    listed = subprocess.run(
        [str(program.parent / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "hookline==" in listed and "pytest==" not in listed and "ruff==" not in listed
    return program


def services() -> dict[str, Any]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    found: dict[str, Any] = compose["services"]
    return found


def _command(service: dict[str, Any], metrics_port: int) -> list[str]:
    args = [str(a) for a in service["command"]]
    if "--metrics-port" in args:  # each container has its own network; here they share one machine
        args[args.index("--metrics-port") + 1] = str(metrics_port)
    return args


@pytest.fixture
async def database(pg_template: str) -> AsyncIterator[str]:
    async with empty_postgres() as name:
        yield _pg_admin_dsn(name)


def _env(database_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        HOOKLINE_DATABASE_URL=database_url,
        HOOKLINE_OPERATOR_KEY=OPERATOR_KEY,
        HOOKLINE_HOST="127.0.0.1",
        HOOKLINE_PORT=str(port),
        HOOKLINE_LOG_JSON="true",
        HOOKLINE_ALLOW_PRIVATE_TARGETS="true",  # the receiver is on 127.0.0.1
        HOOKLINE_POLL_INTERVAL_S="0.2",
    )
    return env


async def test_the_compose_services_from_the_built_image_deliver_a_webhook(
    installed: Path, database: str, receiver: Receiver, tmp_path: Path
) -> None:
    defined = services()
    assert {"postgres", "migrate", "api", "worker"} <= set(defined)
    assert defined["worker"]["deploy"]["replicas"] == 2
    env = _env(database, free_port())
    program = (str(installed),)
    started: list[Proc] = []
    try:
        migrate = Proc(
            "migrate", _command(defined["migrate"], 0), env, tmp_path / "migrate.log", program=program
        )
        started.append(migrate)
        assert await migrate.wait_exit(120) == 0, migrate.log()
        server = Proc("api", _command(defined["api"], 0), env, tmp_path / "api.log", program=program)
        server.port = int(env["HOOKLINE_PORT"])
        started.append(server)
        for n in range(defined["worker"]["deploy"]["replicas"]):
            log = tmp_path / f"worker-{n}.log"
            started.append(
                Proc(f"worker-{n}", _command(defined["worker"], free_port()), env, log, program=program)
            )
        await server.wait_ready(timeout=120)
        for worker in started[2:]:
            await worker.wait_log("hookline: worker running", timeout=120)

        async with api(server) as client:
            await client.setup(receiver, fan_out=1)
            keys = await client.ok("GET", "/v1/targets", 200, client.merchant_key)
            target_id = keys["data"][0]["id"]
            signing = await client.ok("GET", f"/v1/targets/{target_id}/signing-key", 200, client.merchant_key)
            [delivery_id] = await client.ingest([event("evt-image-1")])
            await until(lambda: bool(receiver.requests), 60, "the webhook to arrive")
            await until(lambda: client.all_succeeded([delivery_id]), 30, "the delivery to be recorded", 0.2)

        [request] = receiver.requests
        assert request.headers["webhook-id"] == delivery_id
        assert _signed(signing["signing_key"], request.headers["ordergroove-signature"], request.body)
        for proc in started[1:]:
            proc.send(signal.SIGTERM)
        for proc in started[1:]:
            assert await proc.wait_exit(40) == 0, proc.log()
            assert '"level": "ERROR"' not in proc.log(tail=100_000), proc.log()
    finally:
        for proc in started:
            proc.stop()


def _signed(key: str, header: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in header.split(",") if part.startswith("ts="))
    expected = hmac.new(key.encode(), f"{parts['ts']}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sig={expected}" in header


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(installed: Path, tmp_path: Path) -> None:
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        name = unit.name.replace("@.service", "@1.service")  # a template is verified as an instance
        text = unit.read_text().replace("/opt/hookline/bin/hookline", str(installed))
        (tmp_path / name).write_text(text)
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # Complaints about the machine's own units are not ours; any about this file are.
        complaints = [line for line in done.stderr.splitlines() if str(tmp_path) in line]
        assert done.returncode == 0 and not complaints, f"{unit.name}:\n{done.stderr}"
