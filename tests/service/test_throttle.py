"""The failure limiter on its own: burst, pace, Retry-After, address keys and the bound on its table."""

from __future__ import annotations

from hookline.service.throttle import FailureLimiter, client_key


def test_a_burst_then_one_failure_per_interval() -> None:
    limiter = FailureLimiter(limit=5, window_s=60.0)
    for _ in range(5):
        assert limiter.wait("a", 1000.0) is None
        limiter.failed("a", 1000.0)
    assert limiter.wait("a", 1000.0) == 12  # 60 s / 5 failures
    assert limiter.wait("b", 1000.0) is None  # another address is not concerned
    assert limiter.wait("a", 1011.5) == 1
    assert limiter.wait("a", 1012.0) is None
    limiter.failed("a", 1012.0)
    assert limiter.wait("a", 1012.0) == 12  # paced: one more failure, then wait again
    assert limiter.wait("a", 1100.0) is None and len(limiter) == 0  # paid off: forgotten


def test_throttled_attempts_do_not_add_to_the_debt() -> None:
    limiter = FailureLimiter(limit=2, window_s=10.0)
    limiter.failed("a", 0.0)
    limiter.failed("a", 0.0)
    for _ in range(100):
        assert limiter.wait("a", 0.0) == 5
    assert limiter.wait("a", 5.0) is None


def test_zero_turns_throttling_off() -> None:
    limiter = FailureLimiter(limit=0)
    for _ in range(1000):
        limiter.failed("a", 0.0)
    assert limiter.wait("a", 0.0) is None and len(limiter) == 0


def test_the_table_is_bounded_and_forgets_the_oldest_failure_first() -> None:
    limiter = FailureLimiter(limit=1, window_s=600.0, max_addresses=1000)
    limiter.failed("first", 0.0)
    for i in range(20_000):  # an attacker rotating through addresses
        limiter.failed(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", 1.0)
    assert len(limiter) == 1000
    assert limiter.wait("first", 2.0) is None  # forgotten: it failed longest ago
    assert limiter.wait("10.0.78.31", 2.0) is not None  # the latest are still throttled


def test_addresses_are_counted_by_host_or_ipv6_network() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key(None) == "unknown" and client_key("testclient") == "testclient"
