"""``hookline doctor`` reaches broker targets on their brokers' default ports."""

from __future__ import annotations

import pytest

from hookline.cli.doctor import _host_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:secret@cache.example.com/0", ("cache.example.com", 6379)),
        ("nats://nats.example.com", ("nats.example.com", 4222)),
        ("amqp://u:p@mq.example.com/", ("mq.example.com", 5672)),
        ("amqps://u:p@mq.example.com/", ("mq.example.com", 5671)),
        ("amqp://mq.example.com:5673/", ("mq.example.com", 5673)),
        ("https://hooks.example.com/x", ("hooks.example.com", 443)),
        ("http://hooks.example.com/x", ("hooks.example.com", 80)),
    ],
)
def test_default_ports(url: str, expected: tuple[str, int]) -> None:
    assert _host_port(url) == expected
