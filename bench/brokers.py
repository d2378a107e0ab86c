"""Publish throughput to each broker: hookline's destination port against a bare client of the same library.

N messages of a ~1.5 KB signed event, C in flight, from this process to the local Redis (6379), NATS
JetStream (4222) and RabbitMQ (5672, guest), each way in one run:

- ``hookline``: ``sender.destinations.publisher.Publisher.publish`` as the worker calls it (the broker
  module's pooled connection, the timeout, the header vocabulary, the ``Outcome``);
- ``bare``: the same library driven directly, publishing the same bytes with the same headers and waiting
  for the same acknowledgement: redis-py asyncio ``XADD … NOMKSTREAM`` on a 64-connection pool (the entry
  id), nats-py ``js.publish`` (the stream's ack), aio-pika ``publish(mandatory=True)`` on one channel in
  confirm mode (the publisher confirm);
- ``bare, channel per publish`` (RabbitMQ only): aio-pika as hookline uses it, a confirm channel opened and
  closed per message, so that the port's own cost and its design choice can be told apart.

Rounds alternate the clients' order so the box's noise falls on all; figures are medians of the rounds, with
every run listed. CPU is this process's user+sys time over the timed phase; a warm-up is excluded. Each run
publishes to a stream, subject or exchange of its own, deleted afterwards. The load average before the run
is recorded: on a shared machine the absolute figures move with the neighbours, the ratios less.

    .venv/bin/python bench/brokers.py [--n 5000] [--concurrency 50] [--rounds 5] [--warmup 500]
        [--brokers redis,nats,amqp]

Writes bench/results/brokers.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import metadata
from typing import Any, Protocol

import aio_pika
import nats
import orjson
from common import event_body, write
from redis import asyncio as aioredis

from hookline.core import keypairs, signing
from hookline.sender.destinations.publisher import open_publisher

URLS = {
    "redis": "redis://127.0.0.1:6379/0",
    "nats": "nats://127.0.0.1:4222",
    "amqp": "amqp://guest:guest@127.0.0.1:5672/",
}
CLIENTS = {
    "redis": ("hookline", "bare"),
    "nats": ("hookline", "bare"),
    "amqp": ("hookline", "bare", "bare, channel per publish"),
}
TIMEOUT_S = 30.0
KEY = b"bench-signing-key"


class Publish(Protocol):
    async def __call__(self, body: bytes, headers: dict[str, str]) -> bool:
        """Publish one message and wait for its acknowledgement; whether it was acknowledged."""
        ...


def message() -> tuple[bytes, dict[str, str]]:
    """The payload and headers every client publishes: a signed order event as a delivery carries it."""
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]})
    signer = keypairs.signer(keypairs.new_private_key())
    headers = signing.headers([KEY], "msg_bench", "evt", int(time.time()), body, (signer,))
    return body, {**headers, "Content-Type": "application/json", "User-Agent": "hookline-bench"}


# Where each run publishes: made before, removed after ------------------------------------------------


@contextlib.asynccontextmanager
async def place(kind: str) -> AsyncIterator[dict[str, Any]]:
    """A new stream, subject or exchange (with a queue bound) for one run; its destination."""
    tag = uuid.uuid4().hex[:10]
    if kind == "redis":
        client = aioredis.Redis.from_url(URLS[kind])
        stream = f"hookline-bench-{tag}"
        await client.xgroup_create(stream, "bench", "$", mkstream=True)
        try:
            yield {"stream": stream}
        finally:
            await client.delete(stream)
            await client.aclose()
    elif kind == "nats":
        nc = await nats.connect(URLS[kind])
        js = nc.jetstream()
        name, subject = f"hookline-bench-{tag}", f"hookline.bench.{tag}"
        await js.add_stream(name=name, subjects=[subject])
        try:
            yield {"subject": subject}
        finally:
            await js.delete_stream(name)
            await nc.close()
    else:
        connection = await aio_pika.connect(URLS[kind])
        channel = await connection.channel()
        name = f"hookline-bench-{tag}"
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT)
        queue = await channel.declare_queue(name)
        await queue.bind(exchange, "orders")
        try:
            yield {"exchange": name, "routing_key": "orders"}
        finally:
            await channel.queue_delete(name)
            await channel.exchange_delete(name)
            await connection.close()


# The clients ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def hookline_client(kind: str, destination: dict[str, Any]) -> AsyncIterator[Publish]:
    async with open_publisher(allow_private=True) as publisher:

        async def publish(body: bytes, headers: dict[str, str]) -> bool:
            outcome = await publisher.publish(URLS[kind], destination, body, headers, TIMEOUT_S)
            return outcome.error is None

        yield publish


@contextlib.asynccontextmanager
async def bare_redis(destination: dict[str, Any]) -> AsyncIterator[Publish]:
    pool = aioredis.BlockingConnectionPool.from_url(URLS["redis"], max_connections=64, timeout=None)
    client = aioredis.Redis.from_pool(pool)

    async def publish(body: bytes, headers: dict[str, str]) -> bool:
        fields: dict[Any, Any] = {name.lower(): value for name, value in headers.items()}
        fields["body"] = body
        return bool(await client.xadd(destination["stream"], fields, nomkstream=True))

    try:
        yield publish
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def bare_nats(destination: dict[str, Any]) -> AsyncIterator[Publish]:
    nc = await nats.connect(URLS["nats"])
    js = nc.jetstream()

    async def publish(body: bytes, headers: dict[str, str]) -> bool:
        ack = await js.publish(destination["subject"], body, timeout=TIMEOUT_S, headers=headers)
        return ack.seq > 0

    try:
        yield publish
    finally:
        await nc.close()


def _amqp_message(body: bytes, headers: dict[str, str]) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        headers=dict(headers),
        content_type=headers.get("Content-Type"),
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


@contextlib.asynccontextmanager
async def bare_amqp(destination: dict[str, Any], per_publish: bool) -> AsyncIterator[Publish]:
    connection = await aio_pika.connect(URLS["amqp"])
    shared = await connection.channel(publisher_confirms=True, on_return_raises=True)
    name, routing_key = destination["exchange"], destination["routing_key"]
    shared_exchange = await shared.get_exchange(name, ensure=False)

    async def publish(body: bytes, headers: dict[str, str]) -> bool:
        message = _amqp_message(body, headers)
        if not per_publish:
            await shared_exchange.publish(message, routing_key, mandatory=True, timeout=TIMEOUT_S)
            return True
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            exchange = await channel.get_exchange(name, ensure=False)
            await exchange.publish(message, routing_key, mandatory=True, timeout=TIMEOUT_S)
        finally:
            await channel.close()
        return True

    try:
        yield publish
    finally:
        await connection.close()


def client(
    kind: str, name: str, destination: dict[str, Any]
) -> contextlib.AbstractAsyncContextManager[Publish]:
    if name == "hookline":
        return hookline_client(kind, destination)
    if kind == "redis":
        return bare_redis(destination)
    if kind == "nats":
        return bare_nats(destination)
    return bare_amqp(destination, per_publish=name != "bare")


# Measuring --------------------------------------------------------------------------------------------


async def drive(publish: Publish, body: bytes, headers: dict[str, str], n: int, concurrency: int) -> int:
    """Publish ``n`` messages from ``concurrency`` lanes; the number not acknowledged."""
    numbers = iter(range(n))
    failed = 0

    async def lane() -> None:
        nonlocal failed
        for _ in numbers:
            try:
                failed += not await publish(body, headers)
            except Exception:
                failed += 1

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return failed


async def measure(kind: str, name: str, n: int, concurrency: int, warmup: int) -> dict[str, Any]:
    body, headers = message()
    async with place(kind) as destination, client(kind, name, destination) as publish:
        await drive(publish, body, headers, warmup, concurrency)
        before = resource.getrusage(resource.RUSAGE_SELF)
        clock = time.perf_counter()
        failed = await drive(publish, body, headers, n, concurrency)
        seconds = time.perf_counter() - clock
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "messages": n,
        "failed": failed,
        "seconds": round(seconds, 3),
        "per_s": round(n / seconds, 1),
        "cpu_us_per_message": round(cpu / n * 1e6, 1),
    }


def _runner() -> tuple[str, Callable[[Awaitable[Any]], Any]]:
    """uvloop as ``hookline`` runs on it, else the stock loop."""
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.run
    return "uvloop", uvloop.run


def _markdown(result: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in result["load_average_before"])
    lines = [
        "# Broker publishing: hookline's destination port vs the bare client",
        "",
        f"{result['n']} messages (~{result['message_bytes']} bytes, signed) per run, {result['concurrency']} "
        f"in flight, {result['rounds']} rounds interleaved, {result['loop']}; each message acknowledged "
        f"(XADD id, JetStream ack, publisher confirm). {result['cpus']} cores shared with other work: "
        f"load average before the run {load} (1, 5, 15 min). Run: `{result['command']}`.",
        "",
        "| broker | client | median msgs/s | runs | median CPU µs / msg | failed |",
        "|---|---|---|---|---|---|",
    ]
    for kind, clients in result["brokers"].items():
        for name, row in clients.items():
            runs = ", ".join(f"{r['per_s']:,.0f}" for r in row["runs"])
            lines.append(
                f"| {kind} | {name} | **{row['per_s']:,.0f}** | {runs} | {row['cpu_us_per_message']:.0f} "
                f"| {row['failed']} |"
            )
    lines += ["", *(f"- {k}: **{v}x**" for k, v in result["ratios"].items()), ""]
    lines += [f"Versions: {result['versions']}.", ""]
    return "\n".join(lines)


def ratios(brokers: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """hookline against each other client of its broker: msgs/s, and CPU per message (the steadier figure
    on a loaded machine)."""
    found = {}
    for kind, clients in brokers.items():
        ours = clients["hookline"]
        for name, row in clients.items():
            if name != "hookline":
                found[f"{kind}: hookline / {name}, msgs/s"] = round(ours["per_s"] / row["per_s"], 2)
                cpu = ours["cpu_us_per_message"] / row["cpu_us_per_message"]
                found[f"{kind}: hookline / {name}, CPU per message"] = round(cpu, 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--brokers", default="redis,nats,amqp")
    args = parser.parse_args()
    kinds = [k for k in args.brokers.split(",") if k]
    unknown = set(kinds) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown brokers: {', '.join(sorted(unknown))} (redis, nats, amqp)")
    load = os.getloadavg()
    print(f"load average before the run: {load}", flush=True)
    loop_name, run = _runner()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {k: {c: [] for c in CLIENTS[k]} for k in kinds}
    for round_ in range(args.rounds):
        for kind in kinds:
            order = list(CLIENTS[kind]) if round_ % 2 == 0 else list(reversed(CLIENTS[kind]))
            for name in order:
                row = run(measure(kind, name, args.n, args.concurrency, args.warmup))
                runs[kind][name].append(row)
                print(f"round {round_ + 1} {kind} {name}: {row}", flush=True)
    brokers = {
        kind: {
            name: {
                "per_s": statistics.median(r["per_s"] for r in rows),
                "cpu_us_per_message": statistics.median(r["cpu_us_per_message"] for r in rows),
                "failed": sum(r["failed"] for r in rows),
                "runs": rows,
            }
            for name, rows in clients.items()
        }
        for kind, clients in runs.items()
    }
    body, _ = message()
    result = {
        "n": args.n,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "loop": loop_name,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load],
        "message_bytes": len(body),
        "command": f".venv/bin/python bench/brokers.py --n {args.n} --concurrency {args.concurrency} "
        f"--rounds {args.rounds} --warmup {args.warmup} --brokers {','.join(kinds)}",
        "brokers": brokers,
        "ratios": ratios(brokers),
        "versions": f"Python {platform.python_version()}, "
        + ", ".join(f"{p} {metadata.version(p)}" for p in ("redis", "nats-py", "aio-pika", "aiormq")),
    }
    write("brokers", result, _markdown(result))


if __name__ == "__main__":
    main()
