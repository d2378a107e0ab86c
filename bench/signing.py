"""What signing costs per delivery: the headers the worker builds, with and without Standard Webhooks ``v1a``.

On the ~1.5 KB order event of ``common.event_body``, in one process, one core:

- ``hmac``: ``signing.headers`` with one HMAC key and no Ed25519 key (what a delivery cost before ``v1a``);
- ``hmac+v1a``: one HMAC key and one Ed25519 key (every delivery now);
- ``rotation``: two of each (a target inside its 24 h rotation window);
- ``load``: loading an Ed25519 private key into OpenSSL from its stored text, which the worker does once
  per key version (``keypairs.signer``), and ``cached``: the look-up it does for every other delivery.

Rounds alternate the variants so that the machine's drift falls on all of them; figures are medians of the
rounds, in microseconds of this process's CPU time per call.

    .venv/bin/python bench/signing.py [--rounds 7] [--calls 2000]

Writes bench/results/signing.{json,md}.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson
from common import event_body, write
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hookline.core import keypairs, signing

KEYS = (b"bench-signing-key-new", b"bench-signing-key-old")
STORED = (keypairs.new_private_key(), keypairs.new_private_key())
SIGNERS = tuple(keypairs.signer(k) for k in STORED)


def variants(body: bytes) -> dict[str, Callable[[], Any]]:
    ts = int(time.time())
    seed = base64.b64decode(STORED[0])
    return {
        "hmac": lambda: signing.headers(KEYS[:1], "dlv_1", "evt", ts, body),
        "hmac+v1a": lambda: signing.headers(KEYS[:1], "dlv_1", "evt", ts, body, SIGNERS[:1]),
        "rotation": lambda: signing.headers(KEYS, "dlv_1", "evt", ts, body, SIGNERS),
        "load": lambda: Ed25519PrivateKey.from_private_bytes(seed),
        "cached": lambda: keypairs.signer(STORED[0]),
    }


def per_call_us(work: Callable[[], Any], calls: int) -> float:
    # CPU time of this process, not wall time: on a shared machine, time spent waiting for a core is not
    # the work's.
    start = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]})
    work = variants(body)
    runs: dict[str, list[float]] = {name: [] for name in work}
    for fn in work.values():  # warm-up
        per_call_us(fn, args.calls // 10)
    for _ in range(args.rounds):
        for name, fn in work.items():
            runs[name].append(round(per_call_us(fn, args.calls), 2))
    median = {name: round(statistics.median(values), 2) for name, values in runs.items()}
    extra = round(median["hmac+v1a"] - median["hmac"], 2)
    result = {
        "body_bytes": len(body),
        "rounds": args.rounds,
        "calls": args.calls,
        "median_us": median,
        "runs_us": runs,
        "v1a_extra_us": extra,
        "load_average": os.getloadavg(),
    }
    rows = "\n".join(f"| {name} | {median[name]} | {', '.join(map(str, runs[name]))} |" for name in work)
    markdown = (
        "# Signing cost per delivery\n\n"
        f"{len(body)}-byte body; {args.rounds} rounds of {args.calls} calls, variants alternating; "
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
        "Run: `.venv/bin/python bench/signing.py`.\n\n"
        "| variant | median CPU µs/call | rounds |\n|---|---|---|\n"
        f"{rows}\n\n"
        f"- `v1a` adds **{extra} µs** per delivery (hmac+v1a minus hmac); "
        f"loading a key costs {median['load']} µs, done once per key version; a cached look-up "
        f"{median['cached']} µs.\n"
    )
    write("signing", result, markdown)


if __name__ == "__main__":
    main()
