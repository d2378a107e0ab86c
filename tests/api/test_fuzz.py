"""The OpenAPI document, fuzzed with schemathesis against the app in-process (SQLite only: this is about the
HTTP surface). Bounded and deterministic: a fixed seed, ``MAX_EXAMPLES`` per operation and phase.

Checks: no 5xx; each answer conforms to the document (status code, content type, body schema where
documented: every error is a problem document, ``{"detail"}`` under ``/webhook_targets``); and what the
document says is valid is accepted (``valid_input_accepted``): the document states every rule a JSON Schema
can (``api/openapi.py``), and the few it cannot (between values, about stored data, in a language of its
own) are listed in ``NOT_IN_A_SCHEMA``, each answered with a 400 that names it.

Text never holds NUL (hookline refuses it: PostgreSQL cannot store it; the document says so), so the
fuzzer does not generate it (``allow-x00``); that every NUL is refused with a 400 is the hostile suite's
to show (``tests/hostile``). The app offers the ``entitlement`` family, which the document lists.

Each operation is fuzzed as a merchant with the ids the fuzzer makes up (mostly 404s and validation
errors); those that take ids (in the path, or a route's ``target_id``) again, with other generated data and
the ids of the merchant's real objects, so that generated bodies and queries reach the services. In a
DELETE, the object deleted (the last path parameter) is a spare one, so the other operations keep theirs.
The operator's own operations (``/v1/merchants``) are fuzzed with the operator key too. Nothing is excluded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import checks
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.asgi import create_app

MAX_EXAMPLES = 15
# One operation's examples take ~9 s on an idle machine (POST /v1/events, the slowest); beside three other
# test workers on two busy cores that was seen to pass 60 s once. A bound far above both.
pytestmark = pytest.mark.timeout(240)
SEED = 20_240_601
# Schema-valid input that hookline rightly refuses for a rule no JSON Schema can state: (the field the
# problem names, words of its detail). Under /webhook_targets, where errors are {"detail"}, the field is "".
NOT_IN_A_SCHEMA = [
    ("cursor", "not one this API gave out"),  # opaque: only the values the API gave out
    ("target_id", "not found"),  # must name one of the merchant's targets
    ("target", "disabled"),  # a route whose target another case disabled: no resend, replay or test
    ("since", "before until"),  # between two values
    ("since", "window too long"),  # the series' buckets between since and until
    ("retry.max_interval_s", "less than initial_interval_s"),
    # A target's destination: which shape (or none) follows from its url's scheme.
    ("destination", "only a broker target"),
    ("destination", "needs a destination"),
    ("destination.", "unknown field; a "),
    ("snapshot", "cannot be added to"),  # order and item data on subscriber and subscription events
    ("snapshot", "does not subscribe to"),  # a family's objects on a route that takes none of its events
    ("fields_exclude", "cannot be excluded"),  # id and type are always sent
    ("transform", ""),  # a JMESPath expression, checked when saved
    ("headers", ""),  # the headers hookline sets itself, in any case
    ("objects[", "duplicate"),  # one object twice in a batch
    ("event", "not with event_id"),  # a preview of an accepted event, or of one given: not both
    ("auth.certificate", "PEM"),  # a certificate and its key, as PEM: checked by parsing them
    ("auth.private_key", "PEM"),
    ("auth.private_key", "not the private key of the certificate"),
    ("data.", "does not match public_id"),  # an object's own id field and its address
    ("event_types", "not subscribed"),  # test events: of the route's own types
    ("event_types", "none"),
    ("event_types", "more than 20 types"),  # test events: the types the wildcards stand for, 20 at most
    ("", "more than 100 event types"),  # all of a target's filters together
    ("body", "give either response_status"),  # a listen report: an answer or an error, not both or none
]


def _named_in_a_schema_gap(response: Any) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    named = body.get("errors") or [{"field": "", "detail": body.get("detail", "")}]
    return all(
        any(
            str(e.get("field", "")).startswith(f)
            and w in str(e.get("detail", "")) + str(body.get("detail", ""))
            for f, w in NOT_IN_A_SCHEMA
        )
        for e in named
    )


@schemathesis.check
def valid_input_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, but for the rules of ``NOT_IN_A_SCHEMA``, answered with a 400."""
    try:
        accepted: bool | None = checks.positive_data_acceptance(ctx, response, case)
        return accepted
    except RejectedPositiveData:
        if response.status_code == 400 and _named_in_a_schema_gap(response):
            return None
        raise


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    valid_input_accepted,
]


def _config(seed: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": seed,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "allow-x00": False,
            },
        }
    )


def _document() -> dict[str, Any]:
    # The document `/openapi.json` serves (`api` checks that it is the same): building it needs no database,
    # so the tests are generated at collection and the app (with its lifespan) starts only when they run.
    document: dict[str, Any] = create_app(
        app_settings("sqlite:///unused.db"), worker=False, migrate_db=False
    ).openapi()
    return document


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config(SEED))
# Again, with other generated data, the operations that take ids of the merchant's objects: in their path
# (each operation that has path parameters) or, creating a route, in the body (see `_use_known_ids`).
other_data = schemathesis.openapi.from_dict(DOCUMENT, config=_config(SEED + 1))
with_ids = other_data.include(path_regex=r"\{").include(method="POST", path="/v1/routes")


@dataclass
class Api:
    app: FastAPI
    keys: dict[str, str] = field(default_factory=dict)  # caller: API key
    known: dict[str, str] = field(default_factory=dict)  # path parameter: id of the merchant's object
    spare: dict[str, str] = field(default_factory=dict)  # path parameter: id of an object to delete


class _Seeder:
    """Makes the merchant's objects through the API itself, in the app schemathesis runs."""

    def __init__(self, served: Any, api: Api) -> None:
        self.served = served
        self.api = api

    def call(self, caller: str, method: str, path: str, status: int, **case: Any) -> Any:
        # (schemathesis keeps, and trims, the dicts it is given: each call gets copies)
        headers = {"Authorization": f"Bearer {self.api.keys[caller]}"}
        case = {name: dict(value) if isinstance(value, dict) else value for name, value in case.items()}
        response = self.served[path][method].Case(headers=headers, **case).call()
        assert response.status_code == status, response.text
        return response.json()

    def seed(self) -> None:
        api, known, spare = self.api, self.api.known, self.api.spare
        merchant = self.call("operator", "POST", "/v1/merchants", 201, body={"name": "Fuzz Coffee"})
        api.keys["merchant"], known["merchant_id"] = merchant["api_key"], merchant["id"]
        key_path = "/v1/merchants/{merchant_id}/api-keys"
        spare["key_id"] = self.call("operator", "POST", key_path, 201, path_parameters=known)["id"]
        for ids in (known, spare):
            target = self.call("merchant", "POST", "/v1/targets", 201, body={"url": "http://127.0.0.1:9/"})
            ids["target_id"] = target["id"]
            route = {"name": "fuzz", "target_id": known["target_id"], "event_types": ["*"]}
            ids["route_id"] = self.call("merchant", "POST", "/v1/routes", 201, body=route)["id"]
            og = self.call(
                "merchant", "POST", "/webhook_targets", 201, body={"target_url": "http://127.0.0.1:9/"}
            )
            ids["og:target_id"] = og["id"]
            og_filter = self.call(
                "merchant",
                "POST",
                "/webhook_targets/{target_id}/filters",
                201,
                path_parameters={"target_id": known["og:target_id"]},
                body={"pattern": "order.*"},
            )
            ids["filter_id"] = og_filter["id"]
        known.update(kind="customer", public_id="cust-1")
        customer = {"merchant_user_id": "cust-1", "email": "ada@example.com"}
        self.call(
            "merchant", "PUT", "/v1/objects/{kind}/{public_id}", 200, path_parameters=known, body=customer
        )
        event = {"type": "subscriber.create", "data": {"object": {"type": "subscriber", **customer}}}
        accepted = self.call("merchant", "POST", "/v1/events", 202, body=event)
        known["event_id"], known["delivery_id"] = accepted["id"], accepted["deliveries"][0]
        job = self.call(
            "merchant", "POST", "/v1/routes/{route_id}/resend", 202, path_parameters=known, body={}
        )
        known["job_id"] = job["job"]["id"]
        known["event_type"] = "order.success"  # GET /v1/event-types/{event_type}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app on a fresh SQLite database, its lifespan run by schemathesis' ASGI client, a merchant and its
    objects; the lifespan is ended when the module is done."""
    db = tmp_path_factory.mktemp("fuzz") / "hookline.db"
    # A case may make the merchant's target a listener (listen://): its stream then ends at once.
    settings = app_settings(f"sqlite:///{db}", entitlements=True, listen_stream_s=0.05)
    api = Api(create_app(settings, worker=False, migrate_db=True))
    api.keys["operator"] = OPERATOR_KEY
    try:
        served = schemathesis.openapi.from_asgi("/openapi.json", api.app, config=_config(SEED))
        assert served.raw_schema == DOCUMENT
        _Seeder(served, api).seed()
        yield api
    finally:
        asgi.shutdown_lifespans()


def _use_known_ids(case: Any, api: Api) -> None:
    names = re.findall(r"\{(\w+)\}", case.operation.path)  # in path order
    for name in names:
        key = f"og:{name}" if case.path.startswith("/webhook_targets") and name == "target_id" else name
        # `case.method` may differ: schemathesis also tries methods an operation does not have.
        deleted = case.operation.method.upper() == "DELETE" and name == names[-1]
        case.path_parameters[name] = (api.spare if deleted else api.known)[key]
    if case.path.startswith("/v1/routes") and isinstance(case.body, dict) and "target_id" in case.body:
        case.body["target_id"] = api.known["target_id"]


def _fuzz(case: Any, api: Api, caller: str, ids: str) -> None:
    if ids == "known":
        _use_known_ids(case, api)
    case.call_and_validate(
        app=api.app, headers={"Authorization": f"Bearer {api.keys[caller]}"}, checks=CHECKS
    )


# `caller` and `ids` are also pytest parameters so that each operation's test has a node id of its own
# (schemathesis 4.32 and pytest 9 otherwise give all of them the function's name).
@pytest.mark.parametrize(("caller", "ids"), [("merchant", "generated")])
@schema.parametrize()
def test_fuzz(case: Any, api: Api, caller: str, ids: str) -> None:
    _fuzz(case, api, caller, ids)


@pytest.mark.parametrize(("caller", "ids"), [("merchant", "known")])
@with_ids.parametrize()
def test_fuzz_with_known_ids(case: Any, api: Api, caller: str, ids: str) -> None:
    _fuzz(case, api, caller, ids)


# The operator's own operations; elsewhere an operator acts for a merchant as the merchant does.
@pytest.mark.parametrize(("caller", "ids"), [("operator", "generated")])
@schema.include(tag="merchants").parametrize()
def test_fuzz_as_operator(case: Any, api: Api, caller: str, ids: str) -> None:
    _fuzz(case, api, caller, ids)


@pytest.mark.parametrize(("caller", "ids"), [("operator", "known")])
@other_data.include(tag="merchants", path_regex=r"\{").parametrize()
def test_fuzz_as_operator_with_known_ids(case: Any, api: Api, caller: str, ids: str) -> None:
    _fuzz(case, api, caller, ids)


# ---- what the fuzzer found, as plain tests -----------------------------------------------------------------


def test_every_operation_documents_its_errors() -> None:
    """Problem documents (``{"detail"}`` under ``/webhook_targets``) per error status, not FastAPI's unused
    422 (``/readyz`` answers its own 503)."""
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            media = "application/json" if path.startswith("/webhook_targets") else "application/problem+json"
            assert "422" not in responses and "400" in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")) and path != "/readyz":
                    assert list(response["content"]) == [media], (method, path, status)


async def test_ordergroove_body_that_is_not_utf8_answers_detail(tmp_path: Any) -> None:
    """A body FastAPI cannot decode (not UTF-8) was answered as a problem document under ``/webhook_targets``,
    where every error is Ordergroove's ``{"detail"}`` (found on PATCH ``/webhook_targets/{id}``)."""
    async with running_app(app_settings(f"sqlite:///{tmp_path}/hookline.db"), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = Client(
            http, (await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"}))["api_key"]
        )
        target = await merchant.ok(
            "POST", "/webhook_targets", 201, json={"target_url": "http://127.0.0.1:9/"}
        )
        for method, path in [
            ("POST", "/webhook_targets"),
            ("PATCH", f"/webhook_targets/{target['id']}"),
            ("POST", f"/webhook_targets/{target['id']}/filters"),
        ]:
            response = await merchant.call(
                method,
                path,
                content=b'{"target_url": "\xff\xfe"}',
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 400, (path, response.text)
            assert response.headers["content-type"] == "application/json", path
            assert response.json() == {"detail": "There was an error parsing the body"}
        # The rest of the API answers the same body with a problem document.
        response = await merchant.call(
            "POST", "/v1/targets", content=b'{"url": "\xff"}', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
