"""SQLite on a full disk: posts answer 507 at once, nothing accepted is lost, all is well once space returns.

``hookline serve`` runs with its database on a small tmpfs of its own: a private mount namespace (``unshare``)
in which the file system is mounted over a directory of the test's, so nothing outlives the process and no
other process sees it. The test reaches that file system through ``/proc/<pid>/root`` and fills it with a
ballast file until the kernel answers ENOSPC, then deletes the ballast.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from crash.helpers import all_delivered_and_succeeded, api, duplicates, event, processes, until
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

DISK = "16m"
MOUNT = 'mount -t tmpfs -o size={size} tmpfs "$0" && exec "$@"'
RECOVERY_S = 2.0


def _namespace(directory: Path) -> list[str]:
    """A command prefix that runs its arguments with a tmpfs of ``DISK`` on ``directory``; skips if this
    machine allows no private mount namespace (neither as root nor in a user namespace)."""
    for unshare in (["unshare", "--mount", "--propagation", "private"], ["unshare", "-r", "--mount"]):
        wrapper = [*unshare, "sh", "-c", MOUNT.format(size=DISK), str(directory)]
        if (
            shutil.which("unshare")
            and subprocess.run([*wrapper, "true"], capture_output=True).returncode == 0
        ):
            return wrapper
    if os.environ.get("CI"):
        pytest.fail("no private mount namespace here (unshare): the full-disk test cannot run")
    pytest.skip("no private mount namespace here (unshare --mount): cannot make a small file system")


def _fill(path: Path) -> int:
    """Write ``path`` until the file system is full; the bytes written."""
    chunk, written = b"\0" * 65536, 0
    with path.open("wb", buffering=0) as ballast:
        while True:
            try:
                written += ballast.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                chunk = chunk[: len(chunk) // 2]  # the last few blocks, then nothing at all
                if not chunk:
                    return written


async def test_a_full_disk_is_507_and_nothing_accepted_is_lost(receiver: Receiver, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    wrapper = _namespace(disk)
    async with processes(tmp_path, f"sqlite:///{disk}/hookline.db") as procs:
        server = await procs.server("serve", wrapper)
        seen = Path(f"/proc/{server.pid}/root") / disk.relative_to("/")  # the tmpfs, as the server sees it
        async with api(server) as client:
            await client.setup(receiver, fan_out=2)
            accepted = await client.ingest_all(20, 10, "before")
            ballast = seen / "ballast"
            filled = _fill(ballast)

            # Posting on: sooner or later SQLite needs a page the disk does not have.
            refused: list[list[dict[str, object]]] = []
            for batch in range(200):
                events = [event(f"full-{batch}-{i}") for i in range(10)]
                started = time.monotonic()
                response = await client.post_events(events)
                took = time.monotonic() - started
                if response.status_code == 202:
                    accepted += [d for answer in response.json() for d in answer["deliveries"]]
                    continue
                assert response.status_code == 507, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.headers["retry-after"] == "1"
                assert took < 1.0, f"a 507 took {took:.2f}s"
                refused.append(events)
                if len(refused) == 3:
                    break
            assert refused, f"the disk never filled up ({filled} bytes of ballast)"
            assert "database unavailable (full)" in server.log(tail=100_000)

            ballast.unlink()  # space is back
            freed = time.monotonic()
            for events in refused:  # the client posts the refused events again, with the same ids
                response = await client.post_events(events)
                assert response.status_code == 202, response.text
                accepted += [d for answer in response.json() for d in answer["deliveries"]]
            recovered = time.monotonic() - freed
            assert recovered <= RECOVERY_S, f"accepted again {recovered:.2f}s after space returned"

            await all_delivered_and_succeeded(client, receiver, accepted, timeout=30)
            assert duplicates(receiver) == 0
            await until(
                lambda: "database available again" in server.log(tail=100_000), 10, "the recovery line"
            )
            assert server.alive()
    print(
        f"\n[full disk] deliveries={len(accepted)}, refused_batches={len(refused)}, ballast={filled}, "
        f"accepted_again_s={recovered:.2f}, duplicates={duplicates(receiver)}"
    )
