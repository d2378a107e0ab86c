"""``hookline doctor`` checks the notifications' SMTP server: it answers, it does not, the URL is wrong."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from cli.command import environment, hookline
from support.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the fixture smtp_server)

pytestmark = [pytest.mark.slow]


async def _mail_check(tmp_path: Path, smtp_url: str) -> dict[str, Any]:
    env = environment(database_url=f"sqlite:///{tmp_path}/none/hookline.db", smtp_url=smtp_url)
    # In a thread: the SMTP server answers from this test's event loop.
    ran = await asyncio.to_thread(hookline, "doctor", "--json", cwd=tmp_path, env=env)
    assert ran.code == 1, ran  # no database here; the mail check runs all the same
    checks = {c["check"]: c for c in json.loads(ran.stdout)}
    mail: dict[str, Any] = checks["mail"]
    return mail


async def test_doctor_checks_the_smtp_server(tmp_path: Path, smtp_server: SmtpServer) -> None:
    mail = await _mail_check(tmp_path, smtp_server.url)
    assert mail["status"] == "ok" and "answers" in mail["detail"], mail

    with socket.create_server(("127.0.0.1", 0)) as sock:
        closed = sock.getsockname()[1]
    mail = await _mail_check(tmp_path, f"smtp://127.0.0.1:{closed}")
    assert mail["status"] == "FAIL" and f"127.0.0.1:{closed}" in mail["detail"], mail

    mail = await _mail_check(tmp_path, "http://mail.example")
    assert mail["status"] == "FAIL" and "not an SMTP URL" in mail["detail"], mail
