"""The README's walk-through, run as printed against ``serve --demo``: it must end on a delivered, verified
webhook.

hookline is started as the README's first command starts it (``serve --demo``; ``python -m hookline`` is
what ``./scripts/hookline`` runs after setting up ``.venv``), in a folder of the test's own and on free ports
(8080 and 8081 may be taken on a shared machine). The block marked ``sh walk-through`` then runs in bash,
unchanged, in that folder, where the demo wrote ``hookline-demo.env``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from crash.helpers import Proc, free_port
from docs.markdown_files import ROOT, block

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_the_walk_through_ends_on_a_delivered_verified_webhook(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_PORT=str(free_port()), PYTHONIOENCODING="utf-8")
    args = ["serve", "--demo", "--demo-port", str(free_port())]
    demo = Proc("demo", args, env, tmp_path / "demo.log", cwd=tmp_path)
    try:
        await demo.wait_log("hookline demo: running", timeout=90)
        assert (tmp_path / "hookline-demo.env").exists()
        walk = block(ROOT / "README.md", "sh walk-through").code
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walk],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        delivery = json.loads(done.stdout[done.stdout.index("{\n") :])  # the last command's pretty answer
        assert delivery["status"] == "success" and delivery["event_type"] == "item.out_of_stock"
        last = delivery["attempts"][-1]
        assert last["response"]["status"] == 200
        assert json.loads(last["response"]["body"]) == {"status": "ok"}  # the receiver checked the signature
        assert "Ordergroove-Signature" in last["request"]["headers"]
        assert json.loads(last["request"]["body"])["id"] == "evt-first-1"
        lines = [line for line in demo.log(tail=1_000_000).splitlines() if delivery["id"] in line]
        assert any("200 item.out_of_stock" in line and "signature ✓" in line for line in lines), lines
        demo.send(signal.SIGTERM)
        assert await demo.wait_exit(40) == 0, demo.log()
    finally:
        demo.stop()
