"""The dashboard's notifications form: shows the settings, saves them through the same rules as the API."""

from __future__ import annotations

import httpx

from conftest import Client
from support.dashboard import checkbox, signed_in


async def test_the_form_saves_and_refuses_like_the_api(http: httpx.AsyncClient, merchant: Client) -> None:
    csrf = await signed_in(http, merchant.key)
    assert 'href="/dashboard/notifications"' in (await http.get("/dashboard/")).text  # in the main menu
    page = await http.get("/dashboard/notifications")
    assert page.status_code == 200
    assert "checked" in checkbox(page.text, "route.halted") and "checked" in checkbox(
        page.text, "route.failing"
    )

    form = {
        "csrf": csrf,
        "emails": "ops@example.com\noncall@example.com, ops@example.com",
        "slack_webhook_url": "https://hooks.slack.example/services/T0/B0/x",
        "on": "route.halted",
    }
    saved = await http.post("/dashboard/notifications", data=form)
    assert saved.status_code == 303 and saved.headers["location"].endswith("/notifications?saved=1")
    assert await merchant.ok("GET", "/v1/notifications") == {
        "emails": ["ops@example.com", "oncall@example.com"],
        "slack_webhook_url": "https://hooks.slack.example/services/T0/B0/x",
        "on": ["route.halted"],
    }
    page = await http.get(saved.headers["location"])
    assert "Notifications saved." in page.text and "oncall@example.com" in page.text
    assert "checked" not in checkbox(page.text, "route.failing")

    refused = await http.post("/dashboard/notifications", data={**form, "emails": "not-an-address"})
    assert refused.status_code == 400
    assert "The notifications were not saved" in refused.text and 'id="err-emails"' in refused.text
    assert "not-an-address" in refused.text  # what was typed is kept
    assert "“not-an-address” is not an e-mail address" in refused.text and "emails[" not in refused.text
    slack = await http.post("/dashboard/notifications", data={**form, "slack_webhook_url": "ftp://x"})
    assert slack.status_code == 400 and "The Slack webhook URL" in slack.text
    assert "slack_webhook_url is" not in slack.text
    assert (await merchant.ok("GET", "/v1/notifications"))["emails"] == [
        "ops@example.com",
        "oncall@example.com",
    ]

    # Without the session's CSRF token nothing changes.
    forged = await http.post("/dashboard/notifications", data={**form, "csrf": "forged", "emails": ""})
    assert forged.status_code in (400, 403)
    assert (await merchant.ok("GET", "/v1/notifications"))["emails"] == [
        "ops@example.com",
        "oncall@example.com",
    ]
