"""``hookline serve --demo`` as a newcomer runs it: the keys in a file and again at the end, ``--quiet``.

Two starts on one SQLite file without a configured operator key: the first generates the key, writes it to
the keys file (mode 0600) with the merchant's key, prints a summary line every few seconds with ``--quiet``,
and, stopped with SIGTERM, says so and prints the keys again. The second start cannot show the stored
operator key from the database (it is stored hashed), so it takes it from the keys file after checking that
it still opens this database.
"""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import httpx
import pytest

from cli.command import environment
from crash.helpers import Proc, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _start(tmp_path: Path, name: str, keys: Path) -> Proc:
    env = environment(
        database_url=f"sqlite:///{tmp_path}/demo.db", host="127.0.0.1", port=free_port(), poll_interval_s=0.2
    )
    args = ["serve", "--demo", "--quiet", "--demo-port", "0", "--demo-keys", str(keys)]
    return Proc(name, args, env, tmp_path / f"{name}.log")


def _read(keys: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in keys.read_text().splitlines() if "=" in line)
    return {name: value for name, value in pairs}


async def test_demo_keys_are_kept_in_a_file_and_shown_again_on_exit(tmp_path: Path) -> None:
    keys = tmp_path / "keys.env"
    first = _start(tmp_path, "demo-1", keys)
    try:
        await first.wait_log("hookline demo: running", timeout=60)
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        written = _read(keys)
        assert written["OPERATOR_KEY"].startswith("hl_op_") and written["MERCHANT_KEY"].startswith("hl_mk_")
        assert written["API_URL"] == first.url
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
            routes = await http.get(
                "/v1/routes", headers={"Authorization": f"Bearer {written['MERCHANT_KEY']}"}
            )
            assert routes.status_code == 200 and len(routes.json()["data"]) == 2
            merchants = await http.get(
                "/v1/merchants", headers={"Authorization": f"Bearer {written['OPERATOR_KEY']}"}
            )
            assert [m["id"] for m in merchants.json()["data"]] == [written["MERCHANT_ID"]]
        await first.wait_log("webhooks in the last 5 s", timeout=30)
        first.send(signal.SIGTERM)
        assert await first.wait_exit(40) == 0, first.log()
    finally:
        first.stop()
    log = first.log(tail=100_000)
    assert "demo receiver:" not in log  # --quiet: summaries, not a line per webhook
    assert "SIGTERM received: stopping" in log
    farewell = log[log.index("hookline demo: stopped") :]
    assert written["MERCHANT_KEY"] in farewell and written["OPERATOR_KEY"] in farewell
    assert str(keys) in farewell
    assert log.rstrip().endswith("hookline: stopped")

    second = _start(tmp_path, "demo-2", keys)
    try:
        await second.wait_log("hookline demo: running", timeout=60)
        again = _read(keys)
        assert again["OPERATOR_KEY"] == written["OPERATOR_KEY"]  # taken from the file, checked first
        assert again["MERCHANT_KEY"] != written["MERCHANT_KEY"]  # a new key per start
        assert f"operator key  {written['OPERATOR_KEY']}" in second.log(tail=100_000)
    finally:
        second.stop()
