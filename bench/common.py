"""Shared pieces of the benchmarks: free ports, child processes, the receiver's counters, results files."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PG = os.environ.get("HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OPERATOR = "hl_op_bench_operator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str] | None = None, ready: str | None = None) -> Iterator[Any]:
    """A child process, stopped (TERM, then KILL) when the block ends; optionally wait for a line."""
    proc = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE if ready else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        if ready:
            assert proc.stdout is not None
            deadline = time.monotonic() + 30
            for line in proc.stdout:
                if ready in line or time.monotonic() > deadline:
                    break
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def receiver(delay: float = 0.0) -> Iterator[str]:
    port = free_port()
    with process([sys.executable, str(HERE / "receiver.py"), str(port), str(delay)], ready="ready"):
        yield f"http://127.0.0.1:{port}"


def stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/stats", timeout=5) as response:
        data: dict[str, float] = json.loads(response.read())
        return data


def reset(url: str) -> None:
    urllib.request.urlopen(url + "/reset", timeout=5).close()


def wait_count(url: str, expected: int, timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        current = stats(url)
        if current["n"] >= expected or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def write(name: str, result: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def event_body(i: int) -> dict[str, Any]:
    """A realistic order event of about 1.5 KB once enveloped."""
    return {
        "id": f"evt-{i}",
        "type": "order.reminder",
        "data": {
            "object": {
                "type": "order",
                "merchant": "bench",
                "public_id": f"ord-{i}",
                "customer": f"cust-{i % 997}",
                "payment": "pay-1",
                "shipping_address": "addr-1",
                "sub_total": "25.00",
                "tax_total": "2.00",
                "shipping_total": "0.00",
                "discount_total": "2.50",
                "total": "24.50",
                "created": 1_700_000_000,
                "place": "2026-12-05",
                "cancelled": None,
                "tries": 0,
                "generic_error_count": 0,
                "status": 1,
                "status_display": "Unsent",
                "order_merchant_id": None,
                "rejected_message": None,
                "extra_data": {"note": "x" * 700},
            }
        },
    }
