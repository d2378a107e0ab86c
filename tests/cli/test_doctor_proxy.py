"""``hookline doctor`` checks the egress proxy: it accepts connections, it does not, the URL is wrong."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from cli.command import environment, hookline

pytestmark = [pytest.mark.slow]


def _proxy_check(tmp_path: Path, proxy_url: str) -> dict[str, Any]:
    env = environment(database_url=f"sqlite:///{tmp_path}/none/hookline.db", egress_proxy=proxy_url)
    ran = hookline("doctor", "--json", cwd=tmp_path, env=env)
    assert ran.code == 1, ran  # no database here; the proxy check runs all the same
    checks = [c for c in json.loads(ran.stdout) if c["check"] == "egress proxy"]
    assert len(checks) == 1, ran
    check: dict[str, Any] = checks[0]
    return check


async def test_doctor_checks_the_egress_proxy(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        check = await asyncio.to_thread(_proxy_check, tmp_path, f"http://127.0.0.1:{port}")
    assert check["status"] == "ok" and "accepts connections" in check["detail"], check

    with socket.create_server(("127.0.0.1", 0)) as sock:
        closed = sock.getsockname()[1]
    check = _proxy_check(tmp_path, f"http://127.0.0.1:{closed}")
    assert check["status"] == "FAIL" and f"127.0.0.1:{closed}" in check["detail"], check

    check = _proxy_check(tmp_path, "https://proxy.example:3128")
    assert check["status"] == "FAIL" and "HOOKLINE_EGRESS_PROXY" in check["detail"], check
