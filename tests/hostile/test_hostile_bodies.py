"""Request bodies at the edge (``api/bodies.py``): size limits before and while reading, authentication
before the body, and JSON that is too deep or holds what cannot be stored.

The memory tests run a real ``hookline api`` process and send it 300 MB the way an attacker would, with a
``Content-Length`` and streamed (chunked), without a key: its peak resident memory must not move.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from crash.helpers import processes
from hookline.api import bodies
from support import events
from support.hostile import MiB, megabytes, memory_kib, post_raw, stored

HUGE = 300 * MiB
# What the process may grow by while refusing 300 MB: allocator noise, not the body.
MEMORY_SLACK_KIB = 8 * 1024
JSON = {"content-type": "application/json"}


def _nested(depth: int) -> Any:
    return json.loads("[" * depth + "]" * depth)


# ---- memory: a real process, 300 MB without a key --------------------------------------------------------


CASES = [
    ("/v1/events", {"Content-Type": "application/json"}),  # read by hand, after authentication
    ("/v1/targets", {"Content-Type": "application/json"}),  # a model: FastAPI reads it first
    ("/webhook_targets", {"Content-Type": "application/json"}),
    ("/v1/targets", {"Content-Type": "application/json", "Authorization": "Bearer hl_mk_wrong"}),
    ("/dashboard/sign-in", {"Content-Type": "application/x-www-form-urlencoded"}),
]


@pytest.mark.slow
async def test_300_mb_without_a_key_leaves_memory_alone(tmp_path: Path) -> None:
    """Found: 4 x 300 MB unauthenticated POSTs took the resident memory from 132 MB to 1.7 GB."""
    async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as group:
        api = await group.server("api")
        for path, headers in CASES:
            for chunked in (False, True):
                case = (path, headers, "streamed" if chunked else "content-length")
                before = memory_kib(api.pid)
                sent = await post_raw(
                    api.port,
                    path,
                    headers,
                    megabytes(HUGE),
                    chunked=chunked,
                    declared=None if chunked else HUGE,
                )
                after = memory_kib(api.pid)
                # The answer, or (when the client is still sending as the server closes on it, the usual
                # fate of a client that does not wait for the answer) a reset before it could be read.
                assert sent.status in (401, 413) or sent.head == b"", (case, sent)
                assert b"connection: close" in sent.head.lower() or sent.head == b"", (case, sent)
                assert sent.body_bytes_sent < 64 * MiB, (case, sent)  # cut off, not swallowed
                assert api.alive(), api.log()
                assert after["VmHWM"] - before["VmHWM"] < MEMORY_SLACK_KIB, (case, before, after)
        async with httpx.AsyncClient(base_url=api.url, timeout=5) as http:  # and it still answers
            assert (await http.get("/healthz")).status_code == 200


# ---- limits, in process ------------------------------------------------------------------------------------


@pytest.fixture
async def small(db_url: str) -> Any:
    """The app with small limits, so that the tests send kilobytes rather than megabytes."""
    settings = app_settings(db_url, max_body_bytes=40_000, max_keyless_body_bytes=2_000, max_json_depth=8)
    async with running_app(settings, worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        created = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
        await http.get("/dashboard/sign-in")  # the dashboard makes its cookie secret on first use
        yield http, Client(http, created["api_key"])


def _event(event_id: str, size: int = 0, value: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = events.object_of("order.reminder", "ord-1", note="x" * size)
    if value is not None:
        data["value"] = value
    return {"id": event_id, "type": "order.reminder", "data": {"object": data}}


async def _stream(data: bytes) -> Any:
    for at in range(0, len(data), 1000):
        yield data[at : at + 1000]


async def test_a_key_buys_the_large_allowance(small: Any, db_url: str) -> None:
    _, merchant = small
    big = json.dumps(_event("evt-big", 30_000)).encode()
    assert (await merchant.call("POST", "/v1/events", content=big)).status_code == 202
    streamed = json.dumps(_event("evt-streamed", 30_000)).encode()
    assert (await merchant.call("POST", "/v1/events", content=_stream(streamed))).status_code == 202

    before = await stored(db_url)
    too_big = json.dumps(_event("evt-too-big", 50_000)).encode()
    for content in (too_big, _stream(too_big)):  # each used once: a stream is spent once sent
        response = await merchant.call("POST", "/v1/events", content=content)
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "40000 bytes" in response.json()["detail"]
    assert await stored(db_url) == before


async def test_without_a_key_only_the_small_allowance(small: Any, db_url: str) -> None:
    http, _ = small
    body = json.dumps({"url": "http://127.0.0.1:9/" + "x" * 3_000}).encode()
    before = await stored(db_url)
    for stream in (False, True):
        response = await http.post("/v1/targets", content=_stream(body) if stream else body)
        assert response.status_code == 413, response.text
        detail = response.json()["detail"]
        assert "2000 bytes" in detail and "without a valid API key" in detail and "40000" in detail
        # Ordergroove's surface answers in its own shape (it asks for the key before it reads the body).
        response = await http.post("/webhook_targets", content=_stream(body) if stream else body)
        assert response.status_code in (401, 413) and set(response.json()) == {"detail"}, response.text
        # The dashboard's error page.
        response = await http.post(
            "/dashboard/sign-in",
            content=_stream(body) if stream else body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413 and "text/html" in response.headers["content-type"]
    assert await stored(db_url) == before


async def test_a_wrong_key_is_refused_before_the_body(small: Any, db_url: str) -> None:
    """The key is checked before the body is read: a wrong one is a 401 even where FastAPI would read a
    model's body first, and the body is never looked at (a 400 or 413 would say it was)."""
    http, _ = small
    wrong = {"Authorization": "Bearer hl_mk_wrong", "content-type": "application/json"}
    before = await stored(db_url)
    for path in ("/v1/targets", "/v1/events", "/webhook_targets", "/v1/routes"):
        for content in (b"{not json", b"x" * 10_000, _stream(b"x" * 10_000)):
            response = await http.post(path, content=content, headers=wrong)
            assert response.status_code == 401, (path, response.text)
    assert await stored(db_url) == before


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (_nested(9), "nested deeper than 8 levels"),
        ({"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}, "nested deeper than 8 levels"),
        ("\x00", "NUL"),
        ("a\\\x00", "NUL"),
    ],
    ids=["arrays", "objects", "nul", "nul-after-backslash"],
)
async def test_json_refused_at_the_edge(small: Any, db_url: str, value: Any, words: str) -> None:
    _, merchant = small
    before = await stored(db_url)
    for path, body in [
        ("/v1/events", _event("evt-1", value=value)),
        ("/v1/objects/customer/cust-1", {"merchant_user_id": "cust-1", "value": value}),
    ]:
        method = "PUT" if "objects" in path else "POST"
        response = await merchant.call(method, path, content=json.dumps(body).encode())
        assert response.status_code == 400 and words in response.json()["detail"], response.text
    assert await stored(db_url) == before


async def test_lone_surrogates_are_refused(small: Any, db_url: str) -> None:
    _, merchant = small
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/"})
    before = await stored(db_url)
    for escape in ("\\ud800", "\\udfff", "\\ud800x", "\\udc00\\ud800"):
        headers = f'{{"X-A": "{escape}"}}'
        route = f'{{"name": "r", "target_id": "{target["id"]}", "event_types": ["*"], "headers": {headers}}}'
        response = await merchant.call("POST", "/v1/routes", content=route.encode(), headers=JSON)
        assert response.status_code == 400 and "lone surrogate" in response.json()["detail"], response.text
    assert await stored(db_url) == before
    # A pair is a character; escaped backslashes are not escapes.
    for name in ("\\ud83d\\ude00", "\\\\ud800", "\\\\u0000"):
        body = f'{{"name": "{name}", "target_id": "{target["id"]}", "event_types": ["*"]}}'
        response = await merchant.call("POST", "/v1/routes", content=body.encode(), headers=JSON)
        assert response.status_code == 201, response.text


async def test_depth_at_the_limit_is_accepted(small: Any) -> None:
    _, merchant = small
    # data.object.value is 3 levels in; 5 more make 8.
    event = _event("evt-deep", value=_nested(5))
    assert (await merchant.call("POST", "/v1/events", json=event)).status_code == 202
    strings = _event("evt-strings", value=["[[[[[[[[[[[[", '"\\"[[[[[[[[[[[[', "{{{{{{{{{{{{{{"])
    assert (await merchant.call("POST", "/v1/events", json=strings)).status_code == 202


async def test_deep_objects_are_not_stored(http: httpx.AsyncClient, db_url: str) -> None:
    """Found: ``PUT /v1/objects`` at depth 253 answered 500 but stored the object, and every event that
    pulled it into a snapshot failed after. With the default limit (64) it is a 400 and nothing is stored."""
    operator = Client(http, OPERATOR_KEY)
    merchant = Client(http, (await operator.ok("POST", "/v1/merchants", 201, json={"name": "A"}))["api_key"])
    before = await stored(db_url)
    for depth in (65, 253, 600, 1_023, 5_000):
        deep = "[" * depth + "]" * depth
        body = f'{{"merchant_user_id": "cust-1", "deep": {deep}}}'
        response = await merchant.call("PUT", "/v1/objects/customer/cust-1", content=body.encode())
        assert response.status_code == 400 and "deeper than 64" in response.json()["detail"], depth
        order = f'{{"type": "order", "public_id": "o-1", "customer": "cust-1", "deep": {deep}}}'
        event = f'{{"type": "order.reminder", "data": {{"object": {order}}}}}'
        response = await merchant.call("POST", "/v1/events", content=event.encode())
        assert response.status_code == 400 and "deeper than 64" in response.json()["detail"], depth
    assert (await merchant.call("GET", "/v1/objects/customer/cust-1")).status_code == 404
    assert await stored(db_url) == before


# ---- the edge's JSON check against a plain reference ---------------------------------------------------


def _reference_depth(text: str) -> int:
    """The deepest nesting of a JSON text, character by character."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\u00e9', max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.integers(min_value=0, max_value=12), st.booleans())
def test_the_depth_check_agrees_with_a_plain_count(value: Any, limit: int, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    problem = bodies.json_problem(text.encode(), limit)
    assert (problem is not None) == (_reference_depth(text) > limit), text


def test_the_depth_check_stays_linear_on_hostile_shapes() -> None:
    """The shapes that make a bracket count work hardest, at the largest body: tens of milliseconds of CPU
    (measured 30 to 75 ms for 5 MiB), far from the seconds a quadratic count would take."""
    size = 5 * MiB
    shapes = [
        b"[]" * (size // 2),
        (b"[" * 64 + b"]" * 64) * (size // 128),
        (b"[" + b"[][" * 60 + b"]" * 61) * (size // 244),
        b'["' + b'a","' * (size // 4) + b'"]',
        b'["' + b'[","' * (size // 4) + b'"]',
    ]
    for body in shapes:
        started = time.process_time()
        bodies.json_problem(body, 64)
        assert time.process_time() - started < 1.0
