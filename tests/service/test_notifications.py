"""Merchant notifications end to end: settings over the API, e-mail through a real SMTP server and a Slack
post to a real HTTP receiver when a route halts or is failing; on both engines."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.sender.http import open_sender
from hookline.sender.mail import Mailer
from hookline.sender.mail import parse as parse_smtp
from hookline.sender.port import Options
from hookline.service.notifier import NO_SMTP, RETRY_S, Notifier, NotifierSettings
from hookline.storage import notifications as store
from hookline.storage.database import Database
from support.events import event
from support.receiver import Receiver, Status
from support.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the fixture smtp_server)

FAST_RETRY = {"initial_interval_s": 1, "max_interval_s": 1, "max_attempts": 10}
DEFAULTS = {"emails": [], "slack_webhook_url": None, "on": ["route.halted", "route.failing"]}


async def _merchant(http: Any, name: str = "Acme") -> Client:
    body = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": name})
    client = Client(http, body["api_key"])
    client.merchant_id = body["id"]  # type: ignore[attr-defined]
    return client


async def _route(merchant: Client, url: str, name: str, **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    body = {"name": name, "target_id": target["id"], "event_types": ["order.*"], "retry": FAST_RETRY}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json={**body, **extra})
    return route


async def test_settings_default_then_replaced_and_read_back(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        assert await merchant.ok("GET", "/v1/notifications") == DEFAULTS
        body = {
            "emails": ["ops@example.com", "OPS@example.com", "oncall+hooks@mail.example.co.uk"],
            "slack_webhook_url": "https://hooks.slack.example/services/T0/B0/x",
            "on": ["route.failing", "route.halted"],
        }
        saved = await merchant.ok("PUT", "/v1/notifications", json=body)
        assert saved == {
            "emails": ["ops@example.com", "oncall+hooks@mail.example.co.uk"],  # duplicates dropped
            "slack_webhook_url": "https://hooks.slack.example/services/T0/B0/x",
            "on": ["route.halted", "route.failing"],
        }
        assert await merchant.ok("GET", "/v1/notifications") == saved
        # PUT replaces the whole resource: missing fields take their defaults.
        assert await merchant.ok("PUT", "/v1/notifications", json={"on": []}) == {**DEFAULTS, "on": []}
        # The operator acts for a merchant with ?merchant=.
        operator = Client(http, OPERATOR_KEY)
        mid = merchant.merchant_id  # type: ignore[attr-defined]
        await operator.ok("PUT", f"/v1/notifications?merchant={mid}", json={"emails": ["a@example.com"]})
        assert (await merchant.ok("GET", "/v1/notifications"))["emails"] == ["a@example.com"]


BAD_BODIES = [
    ({"emails": ["not-an-address"]}, "emails.0"),
    ({"emails": ["ops@example.com", "a@b"]}, "emails.1"),
    ({"emails": ["a@example.com, b@example.com"]}, "emails.0"),
    ({"emails": ["a@example.com\r\nBcc: x@example.com"]}, "emails.0"),
    ({"emails": [f"user{i}@example.com" for i in range(11)]}, "emails"),
    ({"emails": [3]}, "emails.0"),
    ({"emails": "ops@example.com"}, "emails"),
    ({"slack_webhook_url": "ftp://hooks.example/x"}, "slack_webhook_url"),
    ({"slack_webhook_url": "hooks.example/x"}, "slack_webhook_url"),
    ({"slack_webhook_url": "http://127.0.0.1:9/x"}, "slack_webhook_url"),
    ({"slack_webhook_url": "http://10.1.2.3/x"}, "slack_webhook_url"),
    ({"slack_webhook_url": "http://169.254.169.254/latest"}, "slack_webhook_url"),
    ({"slack_webhook_url": "http://localhost/x"}, "slack_webhook_url"),
    ({"on": ["route.deleted"]}, "on"),
    ({"on": "route.halted"}, "on"),
    ({"emails": [], "unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
async def test_bad_settings_answer_400_and_change_nothing(
    db_url: str, body: dict[str, Any], field: str
) -> None:
    # Private targets refused, as in production: the Slack URL follows the targets' rules.
    async with running_app(app_settings(db_url, allow_private_targets=False), worker=False) as http:
        merchant = await _merchant(http)
        good = {"emails": ["ops@example.com"], "slack_webhook_url": None, "on": ["route.halted"]}
        await merchant.ok("PUT", "/v1/notifications", json=good)
        answer = await merchant.call("PUT", "/v1/notifications", json=body)
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].startswith(field) for e in problem["errors"]), problem
        assert await merchant.ok("GET", "/v1/notifications") == good


async def test_each_merchant_sees_and_changes_only_its_own_settings(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        acme, other = await _merchant(http, "Acme"), await _merchant(http, "Other")
        mine = {"emails": ["ops@acme.example"], "slack_webhook_url": None, "on": ["route.halted"]}
        await acme.ok("PUT", "/v1/notifications", json=mine)
        assert await other.ok("GET", "/v1/notifications") == DEFAULTS
        acme_id = acme.merchant_id  # type: ignore[attr-defined]
        # A merchant key cannot act for another merchant.
        answer = await other.call("PUT", f"/v1/notifications?merchant={acme_id}", json={"emails": []})
        assert answer.status_code in (403, 404), answer.text
        await other.ok("PUT", "/v1/notifications", json={"emails": ["ops@other.example"]})
        assert await acme.ok("GET", "/v1/notifications") == mine


async def test_an_auto_halt_sends_one_email_and_one_slack_post(
    db_url: str, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    receiver.respond("/down", Status(503))
    settings = app_settings(db_url, smtp_url=smtp_server.url, smtp_from="hookline@example.com")
    async with running_app(settings) as http:
        merchant = await _merchant(http)
        bystander = await _merchant(http, "Bystander")  # configured too, but its routes are fine
        await bystander.ok(
            "PUT",
            "/v1/notifications",
            json={"emails": ["ops@bystander.example"], "slack_webhook_url": receiver.url + "/slack-other"},
        )
        channels = {
            "emails": ["ops@example.com", "oncall@example.com"],
            "slack_webhook_url": receiver.url + "/slack",
        }
        await merchant.ok("PUT", "/v1/notifications", json=channels)
        route = await _route(
            merchant, receiver.url + "/down", "Orders to ERP", auto_halt={"failures": 3, "window_s": 1}
        )
        await merchant.ok("POST", "/v1/events", 202, json=event("order.reminder"))

        [post] = await receiver.wait_for(1, path="/slack", timeout=20)
        [mail] = await smtp_server.wait_for(1, timeout=20)
        halted = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert halted["state"] == "halted"

        text = post.json()["text"]
        assert post.headers["content-type"] == "application/json"
        assert set(post.json()) == {"text"}
        for words in (
            "'Orders to ERP'",
            route["id"],
            f"/v1/routes/{route['id']}/resume",
            "halted",
            "HTTP 503",
        ):
            assert words in text

        assert mail["From"] == "hookline@example.com"
        assert mail["To"] == "ops@example.com, oncall@example.com"
        assert smtp_server.envelopes == [("hookline@example.com", ["ops@example.com", "oncall@example.com"])]
        assert mail["Subject"] == "hookline: route 'Orders to ERP' was halted"
        body = mail.get_content()
        assert route["id"] in body and f"POST /v1/routes/{route['id']}/resume" in body
        assert halted["halted_reason"] in body

        # Exactly one of each: the held route makes no more attempts, so nothing more is said.
        await asyncio.sleep(2.5)
        assert len(smtp_server.messages) == 1
        assert len(receiver.on("/slack")) == 1
        assert receiver.on("/slack-other") == []

        db = Database(db_url)
        try:
            sent = await store.outbox(db, merchant.merchant_id)  # type: ignore[attr-defined]
        finally:
            await db.close()
        assert sorted((n["channel"], n["status"], n["attempts"]) for n in sent) == [
            ("email", "sent", 1),
            ("slack", "sent", 1),
        ]


async def test_a_failing_route_is_reported_once_and_stays_active(
    db_url: str, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    receiver.respond("/flaky", Status(500))
    settings = app_settings(
        db_url,
        smtp_url=smtp_server.url,
        notify_failing_min_attempts=4,
        notify_failing_rate=0.5,
        notify_failing_window_s=60.0,
    )
    async with running_app(settings) as http:
        merchant = await _merchant(http)
        await merchant.ok(
            "PUT",
            "/v1/notifications",
            json={"slack_webhook_url": receiver.url + "/slack", "on": ["route.failing"]},
        )
        route = await _route(merchant, receiver.url + "/flaky", "Flaky", auto_halt={"failures": 0})
        for i in range(2):
            await merchant.ok("POST", "/v1/events", 202, json=event("order.reminder", event_id=f"e{i}"))
        [post] = await receiver.wait_for(1, path="/slack", timeout=20)
        text = post.json()["text"]
        assert "'Flaky'" in text and route["id"] in text and "failing" in text
        # Attempts go on failing, but one notice per route per hour.
        attempts = len(receiver.on("/flaky"))
        await receiver.wait_for(attempts + 4, path="/flaky", timeout=20)
        await asyncio.sleep(1.5)
        assert len(receiver.on("/slack")) == 1
        assert smtp_server.messages == []  # no e-mail address was given
        assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] == "active"


async def test_a_notice_whose_sender_died_is_sent_again_after_its_lease(db_url: str) -> None:
    """Durability: a claimed notice that is never recorded is due again once its lease runs out."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        await merchant.ok("PUT", "/v1/notifications", json={"emails": ["ops@example.com"]})
        route = await _route(merchant, "https://hooks.example/h", "R")
    db = Database(db_url)
    try:
        now = time.time()
        assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, now) == 1
        assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, now + 1) == 0  # within the hour
        [claimed] = await store.claim(db, now + 2, 30, 10)
        assert claimed.channel == "email" and claimed.destination == ["ops@example.com"]
        assert await store.claim(db, now + 3, 30, 10) == []  # leased
        [again] = await store.claim(db, now + 40, 30, 10)  # the first claimer died
        assert again.id == claimed.id
        assert not await store.record(db, claimed, now + 41, None, None)  # its lease is gone
        assert await store.record(db, again, now + 41, "SMTP 451: later", now + 100)
        assert await store.claim(db, now + 50, 30, 10) == []
        [retry] = await store.claim(db, now + 100, 30, 10)
        assert retry.attempts == 1
        assert await store.record(db, retry, now + 101, None, None)
        assert await store.claim(db, now + 10_000, 30, 10) == []
    finally:
        await db.close()


async def test_a_refused_notice_is_retried_until_it_goes_out(
    db_url: str, receiver: Receiver, smtp_server: SmtpServer
) -> None:
    """The notifier against a real SMTP server and Slack receiver that fail first, on a fake clock."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        channels = {"emails": ["ops@example.com"], "slack_webhook_url": receiver.url + "/slack"}
        await merchant.ok("PUT", "/v1/notifications", json=channels)
        route = await _route(merchant, "https://hooks.example/h", "R")
    receiver.script("/slack", Status(500))
    smtp_server.refuse = True
    clock = [time.time()]
    db = Database(db_url)
    try:
        async with open_sender(Options(allow_private=True)) as sender:
            mailer = Mailer(parse_smtp(smtp_server.url), "hookline@example.com")
            notifier = Notifier(db, sender, mailer, NotifierSettings(), clock=lambda: clock[0])
            assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, clock[0]) == 2
            assert await notifier.send_due() == 2
            rows = {n["channel"]: n for n in await store.outbox(db, merchant.merchant_id)}  # type: ignore[attr-defined]
            assert rows["email"]["last_error"] == "SMTP 451: try again later"
            assert rows["slack"]["last_error"] == "HTTP 500"
            assert {n["status"] for n in rows.values()} == {"pending"}
            assert await notifier.send_due() == 0  # not due before its back-off
            smtp_server.refuse = False
            clock[0] += RETRY_S[0]
            assert await notifier.send_due() == 2
            rows = {n["channel"]: n for n in await store.outbox(db, merchant.merchant_id)}  # type: ignore[attr-defined]
            assert {(n["status"], n["attempts"]) for n in rows.values()} == {("sent", 2)}
            assert len(smtp_server.messages) == 1
            assert len(receiver.on("/slack")) == 2
            assert "'R'" in receiver.on("/slack")[1].json()["text"]
    finally:
        await db.close()


async def test_email_notices_wait_while_no_smtp_server_is_set(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        await merchant.ok("PUT", "/v1/notifications", json={"emails": ["ops@example.com"]})
        route = await _route(merchant, "https://hooks.example/h", "R")
    db = Database(db_url)
    try:
        async with open_sender(Options(allow_private=True)) as sender:
            notifier = Notifier(db, sender, None, NotifierSettings())
            assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, time.time()) == 1
            assert await notifier.send_due() == 1
            [row] = await store.outbox(db, merchant.merchant_id)  # type: ignore[attr-defined]
            assert (row["status"], row["last_error"]) == ("pending", NO_SMTP)
    finally:
        await db.close()


async def test_finished_notices_are_purged_after_the_retention(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        await merchant.ok("PUT", "/v1/notifications", json={"emails": ["ops@example.com"]})
        route = await _route(merchant, "https://hooks.example/h", "R")
    db = Database(db_url)
    try:
        now = time.time()
        await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, now)
        await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, now + 4000)
        [first] = await store.claim(db, now, 30, 1)
        assert await store.record(db, first, now + 1, None, None)  # sent
        assert await store.purge(db, now) == 0  # sent after the cutoff
        assert await store.purge(db, now + 5000) == 1  # the pending one stays, however old
        [left] = await store.outbox(db, merchant.merchant_id)  # type: ignore[attr-defined]
        assert left["status"] == "pending"
    finally:
        await db.close()


async def test_no_failing_notice_for_a_route_that_is_not_active(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        await merchant.ok("PUT", "/v1/notifications", json={"emails": ["ops@example.com"]})
        route = await _route(merchant, "https://hooks.example/h", "R")
        await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    db = Database(db_url)
    try:
        assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, time.time()) == 0
        assert await store.enqueue_failing(db, "rte_missing", 9, 10, 900, 3600, time.time()) == 0
        assert await store.outbox(db, merchant.merchant_id) == []  # type: ignore[attr-defined]
    finally:
        await db.close()


async def test_the_slack_post_is_guarded_when_sent_too(db_url: str, receiver: Receiver) -> None:
    """A URL saved while private addresses were allowed is refused once they are not (a loopback one here),
    at once, as a delivery's would be: trying again would change nothing."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await _merchant(http)
        await merchant.ok("PUT", "/v1/notifications", json={"slack_webhook_url": receiver.url + "/slack"})
        route = await _route(merchant, "https://hooks.example/h", "R")
    db = Database(db_url)
    try:
        async with open_sender(Options(allow_private=False)) as sender:
            notifier = Notifier(db, sender, None, NotifierSettings())
            assert await store.enqueue_failing(db, route["id"], 9, 10, 900, 3600, time.time()) == 1
            assert await notifier.send_due() == 1
        [row] = await store.outbox(db, merchant.merchant_id)  # type: ignore[attr-defined]
        assert row["status"] == "failed" and row["attempts"] == 1
        assert (
            row["last_error"].startswith("configuration error, not retried: ")
            and "loopback" in row["last_error"]
        )
        assert receiver.on("/slack") == []
    finally:
        await db.close()
