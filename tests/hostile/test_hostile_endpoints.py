"""The hostile-input suite: every operation of the API and every page and form of the dashboard, sent what
an attacker sends, on both engines.

The operations are walked from the OpenAPI document the app serves and the dashboard's routes from the app
itself, so an endpoint added tomorrow is walked too. Each one gets bodies too large (declared and
streamed), nested too deep, of the wrong types, not UTF-8 or not JSON, text with NUL characters and lone
surrogates, and Unicode digits (``²``, ``٣``, full-width) where numbers, times, pages and cursors are
expected; ids and query values are bent the same way. Every answer must be a 4xx (the dashboard's pages,
which fall back to their defaults for a filter they do not know, must not be a 5xx), the app must keep
answering, and nothing may be stored or changed: the database is compared row by row before and after.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from starlette.routing import Mount, Route

from conftest import OPERATOR_KEY, Client, app_settings, fresh_pg_url, running_app
from hookline.asgi import create_app
from support.hostile import stored

LIMITS = {"max_body_bytes": 20_000, "max_keyless_body_bytes": 4_000, "max_json_depth": 16}
FULL_WIDTH_2024 = "\uff12\uff10\uff12\uff14"
UNICODE_DIGITS = ["²", "٣", FULL_WIDTH_2024, "1٣", "\U0001d7d9"]  # the last: a double-struck 1
TIMES = [*UNICODE_DIGITS, FULL_WIDTH_2024 + "-01-01T00:00:00", "1e400", "nan", "-1e20", "99999999999999"]
NUL = "a\x00b"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _document() -> dict[str, Any]:
    app = create_app(app_settings("sqlite:///unused.db"), worker=False, migrate_db=False)
    document: dict[str, Any] = app.openapi()
    return document


DOCUMENT = _document()


@dataclass
class World:
    http: httpx.AsyncClient
    db_url: str
    keys: dict[str, str] = field(default_factory=dict)  # caller: key
    ids: dict[str, str] = field(default_factory=dict)  # path parameter: id of a real object
    csrf: str = ""

    def headers(self, path: str) -> dict[str, str]:
        caller = "operator" if path.startswith("/v1/merchants") else "merchant"
        return {"Authorization": f"Bearer {self.keys[caller]}"}


# One app and one database per engine for the whole module: nothing the walk sends may change anything
# (each test checks that), so the tests can share them, which keeps the suite quick.
ON_THE_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgres"])
async def engine_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('hostile')}/hookline.db"
        return
    request.getfixturevalue("pg_template")
    async with fresh_pg_url() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(engine_url: str) -> AsyncIterator[World]:
    """The app with small body limits, a merchant with one of everything, and a dashboard session."""
    db_url = engine_url
    async with running_app(app_settings(db_url, **LIMITS), worker=False) as http:
        w = World(http, db_url, {"operator": OPERATOR_KEY})
        operator = Client(http, OPERATOR_KEY)
        created = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
        w.keys["merchant"], w.ids["merchant_id"] = created["api_key"], created["id"]
        merchant = Client(http, created["api_key"])
        w.ids["key_id"] = (await operator.ok("POST", f"/v1/merchants/{created['id']}/api-keys", 201))["id"]
        # A portal link's token as minted, one character changed: opening a real link signs in (a change by
        # design), so the walk uses one that looks real and is not.
        link = await operator.ok("POST", f"/v1/merchants/{created['id']}/portal-links", 201, json={})
        token = link["url"].rsplit("/", 1)[1]
        w.ids["token"] = token[:-1] + ("A" if token[-1] != "A" else "B")
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/"})
        w.ids["target_id"] = target["id"]
        route = {"name": "r", "target_id": target["id"], "event_types": ["*"]}
        w.ids["route_id"] = (await merchant.ok("POST", "/v1/routes", 201, json=route))["id"]
        og = await merchant.ok("POST", "/webhook_targets", 201, json={"target_url": "http://127.0.0.1:9/og"})
        w.ids["og:target_id"] = og["id"]
        flt = await merchant.ok(
            "POST", f"/webhook_targets/{og['id']}/filters", 201, json={"pattern": "order.*"}
        )
        w.ids["filter_id"] = flt["id"]
        w.ids.update(kind="customer", public_id="cust-1", event_type="order.reminder")
        customer = {"type": "subscriber", "merchant_user_id": "cust-1", "email": "ada@example.com"}
        await merchant.ok("PUT", "/v1/objects/customer/cust-1", 200, json=customer)
        event = {"id": "evt-1", "type": "subscriber.create", "data": {"object": customer}}
        accepted = await merchant.ok("POST", "/v1/events", 202, json=event)
        w.ids["event_id"], w.ids["delivery_id"] = accepted["id"], accepted["deliveries"][0]
        job = await merchant.ok("POST", f"/v1/routes/{w.ids['route_id']}/resend", 202, json={})
        w.ids["job_id"] = job["job"]["id"]
        w.csrf = await _sign_in(http, created["api_key"])
        yield w


async def _sign_in(http: httpx.AsyncClient, key: str) -> str:
    form = await http.get("/dashboard/sign-in")
    answer = await http.post("/dashboard/sign-in", data={"csrf": _csrf(form.text), "key": key})
    assert answer.status_code == 303, answer.text
    return _csrf((await http.get(answer.headers["location"])).text)


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:1000]
    return found.group(1)


# ---- what to send ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    why: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    stream: bool = False
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    found: dict[str, Any] = DOCUMENT
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def _properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    schema = _schema(schema)
    found = dict(schema.get("properties", {}))
    for branch in schema.get("anyOf", []):
        found.update(_properties(branch))
    return {name: _schema(value) for name, value in found.items()}


def _types(schema: dict[str, Any]) -> set[str]:
    kinds = {schema["type"]} if isinstance(schema.get("type"), str) else set(schema.get("type") or [])
    for branch in schema.get("anyOf", []):
        kinds |= _types(_schema(branch))
    return kinds - {"null"}


def _wrong(schema: dict[str, Any]) -> Any:
    """A value of no type the property takes (Unicode digits where a number is expected)."""
    kinds = _types(schema)
    if kinds & {"integer", "number", "boolean"} and "string" not in kinds:
        return "٣"
    if "string" in kinds:
        return 12345 if not kinds & {"integer", "number"} else ["٣"]
    if "array" in kinds:
        return "٣"
    return ["٣"]


def _nested(depth: int) -> bytes:
    return b'{"a": ' + b"[" * depth + b"]" * depth + b"}"


def _body_cases(method: str, path: str, operation: dict[str, Any]) -> Iterator[Case]:
    body = operation["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    too_big = b'{"x": "' + b"a" * LIMITS["max_body_bytes"] + b'"}'
    yield Case("declared too large", method, path, content=too_big)
    yield Case("streamed too large", method, path, content=too_big, stream=True)
    yield Case("nested too deep", method, path, content=_nested(LIMITS["max_json_depth"]))
    yield Case("NUL escape", method, path, content=b'{"name": "a\\u0000", "url": "http://x/\\u0000"}')
    yield Case("lone surrogate", method, path, content=b'{"name": "\\ud800", "pattern": "\\udfff"}')
    yield Case("not UTF-8", method, path, content=b'{"name": "\xff\xfe"}')
    yield Case("not JSON", method, path, content=b"{")
    yield Case("a form, not JSON", method, path, content=b"a=1", headers={"content-type": FORM})
    values: list[object] = [[], "x", 1, True, *([None] if body.get("required") else [])]
    for value in values:
        yield Case(f"body {value!r}", method, path, content=orjson.dumps(value))
    properties = _properties(schema)
    if properties:
        wrong = {name: _wrong(prop) for name, prop in properties.items()}
        yield Case("every field wrong", method, path, content=orjson.dumps(wrong))
        for name, prop in properties.items():
            yield Case(f"{name} wrong", method, path, content=orjson.dumps({name: _wrong(prop)}))
        for name in ("since", "until"):
            if name in properties:
                for value in TIMES:
                    time_case = {"since": "2024-01-01T00:00:00Z", name: value}
                    yield Case(f"{name}={value!r}", method, path, content=orjson.dumps(time_case))


FORM = "application/x-www-form-urlencoded"
# Query parameters whose values are parsed, and what may not parse.
TYPED_QUERY = {
    "limit": [*UNICODE_DIGITS, "0", "-1", "501", "1e3", ""],
    "cursor": [*UNICODE_DIGITS, "!!!!"],
    "since": TIMES,
    "until": TIMES,
    "page": [*UNICODE_DIGITS, "0", "-1", "99999999999999999999"],
    "status": [*UNICODE_DIGITS, "pending\x00"],
    "series": [*UNICODE_DIGITS, "1h\u200b"],
}
BAD_IDS = ["x" * 5_000, "a\x00b"]


def _ids(world: World, path: str) -> dict[str, str]:
    names = re.findall(r"\{(\w+)\}", path)
    og = path.startswith("/webhook_targets")
    return {n: world.ids[f"og:{n}" if og and n == "target_id" else n] for n in names}


def _api_cases(world: World, path: str, method: str, operation: dict[str, Any]) -> Iterator[Case]:
    ids = _ids(world, path)
    real = path.format(**ids)
    yield Case("?x=NUL", method, real, params={"x": NUL})
    for name in ids:
        for value in BAD_IDS:
            bent = path.format(**{**ids, name: value.replace("\x00", "%00")})
            yield Case(f"{name}={value[:8]!r}", method, bent)
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        for value in [NUL, *TYPED_QUERY.get(name, [])]:
            yield Case(f"?{name}={value!r}", method, real, params={name: value})
        if name == "cursor" and path == "/v1/events":  # the one cursor that holds a number
            yield Case("?cursor=٣|x", method, real, params={name: "2aN8eA"})
        if name == "merchant":
            yield Case("?merchant=²", method, real, params={name: "²"})
    if "requestBody" in operation:
        yield from _body_cases(method, real, operation)


# ---- the walk ----------------------------------------------------------------------------------------------


async def _send(world: World, case: Case, headers: dict[str, str]) -> httpx.Response:
    kwargs: dict[str, Any] = {"params": case.params, "headers": {**headers, **case.headers}}
    if case.form is not None:
        kwargs["data"] = case.form
    elif case.content is not None:
        kwargs["headers"].setdefault("content-type", "application/json")
        data = case.content

        async def chunks() -> AsyncIterator[bytes]:
            for at in range(0, len(data), 1_000):
                yield data[at : at + 1_000]

        kwargs["content"] = chunks() if case.stream else data
    return await world.http.request(case.method, case.path, **kwargs)


async def _walk(world: World, cases: list[Case], headers: dict[str, str], *, pages: bool = False) -> None:
    before = await stored(world.db_url)
    for case in cases:
        response = await _send(world, case, headers)
        status = response.status_code
        if pages and case.method == "GET" and "\x00" not in str(case.params):
            assert status < 500, (case, status, response.text[:500])
        else:
            assert 400 <= status < 500, (case, status, response.text[:500])
        assert (await world.http.get("/healthz")).status_code == 200
    assert await stored(world.db_url) == before, cases[0].path


# Served by the API but left out of its document (Prometheus' text, not JSON).
UNDOCUMENTED: list[tuple[str, str, dict[str, Any]]] = [("/metrics", "GET", {})]
OPERATIONS = [
    *(
        (path, method.upper(), operation)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
    ),
    *UNDOCUMENTED,
]


@ON_THE_MODULE_LOOP
@pytest.mark.parametrize(
    ("path", "method", "operation"),
    OPERATIONS,
    ids=[f"{method} {path}" for path, method, _ in OPERATIONS],
)
async def test_every_api_operation_refuses_hostile_input(
    world: World, path: str, method: str, operation: dict[str, Any]
) -> None:
    cases = list(_api_cases(world, path, method, operation))
    if not cases:
        pytest.skip(f"{method} {path} takes no input")
    await _walk(world, cases, world.headers(path))


def _dashboard_routes() -> list[tuple[str, str]]:
    app = create_app(app_settings("sqlite:///unused.db"), worker=False, migrate_db=False)
    [mount] = [r for r in app.routes if isinstance(r, Mount) and r.path == "/dashboard"]
    found = []
    for route in mount.routes:
        if isinstance(route, Route):
            found += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


DASHBOARD = _dashboard_routes()
DASHBOARD_QUERY = [
    *("by", "q", "status", "event_type", "before", "after", "reveal", "back", "notice", "next"),
    *("customer", "since", "until", "range", "partial", "route_id"),
]
# Fields of the dashboard's forms that are parsed: numbers, times, choices.
DASHBOARD_FIELDS = [
    "name",
    "url",
    "target_url",
    "event_types",
    "timeout_s",
    "retry_max_attempts",
    "retry_initial_interval_s",
    "retry_max_interval_s",
    "auto_halt_failures",
    "auto_halt_window_s",
    "headers",
    "transform",
    "fields_include",
    "resend_since",
    "resend_until",
    "resend_status",
    "replay_since",
    "replay_until",
    "confirmed",
    "merchant_id",
    "key",
    "sample_type",
]


def _dashboard_cases(world: World, method: str, path: str) -> Iterator[Case]:
    path = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)  # a converter ({event_id:path}) takes the same values
    names = re.findall(r"\{(\w+)\}", path)
    ids = {n: "halt" if n == "action" else world.ids[n] for n in names}
    real = "/dashboard" + path.format(**ids)
    for name in names:
        for value in ["x" * 5_000, "a%00b"]:
            yield Case(f"{name}={value[:8]!r}", method, "/dashboard" + path.format(**{**ids, name: value}))
    if method == "GET":
        for name in DASHBOARD_QUERY:
            for value in [NUL, *UNICODE_DIGITS, "!!!!", "\u202e" + "x" * 300]:
                yield Case(f"?{name}={value!r}", method, real, params={name: value})
        return
    csrf = {"csrf": world.csrf}
    yield Case("no CSRF token", method, real, form={"name": "x"})
    yield Case("too large", method, real, form={**csrf, "name": "x" * LIMITS["max_keyless_body_bytes"]})
    yield Case(
        "streamed too large",
        method,
        real,
        content=b"csrf=" + world.csrf.encode() + b"&name=" + b"x" * LIMITS["max_keyless_body_bytes"],
        stream=True,
        headers={"content-type": FORM},
    )
    for name in DASHBOARD_FIELDS:
        yield Case(f"{name} with NUL", method, real, form={**csrf, name: NUL})
    if path.endswith(("/resend", "/replay")):
        kind = path.rsplit("/", 1)[1]
        for value in TIMES:
            yield Case(f"{kind}_since={value!r}", method, real, form={**csrf, f"{kind}_since": value})
    if path.endswith(("/new", "/edit")):
        every = {name: "٣" for name in DASHBOARD_FIELDS}
        yield Case("every field Unicode digits", method, real, form={**csrf, **every})


@ON_THE_MODULE_LOOP
@pytest.mark.parametrize(("method", "path"), DASHBOARD, ids=[f"{m} {p}" for m, p in DASHBOARD])
async def test_every_dashboard_page_and_form_refuses_hostile_input(
    world: World, method: str, path: str
) -> None:
    session = httpx.Cookies(world.http.cookies)
    if path == "/sign-in" and method == "POST":
        world.http.cookies.clear()  # as a visitor: the form is its own token's
    try:
        await _walk(world, list(_dashboard_cases(world, method, path)), {}, pages=True)
    finally:
        world.http.cookies = session


def test_the_walk_covers_every_endpoint() -> None:
    """Every route the app serves is walked: the API's from its OpenAPI document (the routes left out of
    it are the trailing-slash twins of ``/webhook_targets``, the documentation's own pages and the icon), the
    dashboard's from its mount."""
    app = create_app(app_settings("sqlite:///unused.db"), worker=False, migrate_db=False)
    documented = {(m, p) for p, m, _ in OPERATIONS}
    served = set()
    for included in app.router.routes:
        # A router included in the app is one entry that stands for its routes (FastAPI 0.165).
        original = getattr(included, "original_router", None)
        for route in original.routes if original is not None else [included]:
            for method in getattr(route, "methods", None) or ():
                if method != "HEAD" and isinstance(route, Route):
                    served.add((method, route.path))
    assert len(served) > 50
    twins = {(m, p.rstrip("/")) for m, p in served if p.startswith("/webhook_targets") and p.endswith("/")}
    undocumented = (
        served
        - documented
        - twins
        - {
            ("GET", "/openapi.json"),
            ("GET", "/docs"),
            ("GET", "/docs/oauth2-redirect"),
            ("GET", "/redoc"),
            ("GET", "/"),
            ("GET", "/favicon.ico"),
        }
    )
    assert {(m, p) for m, p in undocumented if not p.endswith("/")} == set()
    assert len(DASHBOARD) >= 20
