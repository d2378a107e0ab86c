"""The words of a notification: the route named, what happened, and how to resume."""

from __future__ import annotations

from hookline.core import notices

ROUTE = notices.Route("rte_1", "Orders to ERP", "https://erp.example/hooks")


def test_a_halt_notice_names_the_route_the_reason_and_the_way_back() -> None:
    message = notices.halted(ROUTE, "3 consecutive failed attempts; last error: HTTP 503", 1_700_000_000)
    assert message.subject == "hookline: route 'Orders to ERP' was halted"
    for words in (
        "'Orders to ERP' (rte_1)",
        "2023-11-14T22:13:20Z",
        "https://erp.example/hooks",
        "last error: HTTP 503",
        "POST /v1/routes/rte_1/resume",
        "/dashboard/routes/rte_1",
        "held, not lost",
    ):
        assert words in message.body


def test_a_failing_notice_gives_the_counts_and_the_window() -> None:
    message = notices.failing(ROUTE, 12, 20, 900.0, 1_700_000_000)
    assert message.subject == "hookline: route 'Orders to ERP' is failing (60% of attempts)"
    assert "12 of its last 20 attempts in 15 min failed (60%)" in message.body


def test_slack_text_leads_with_the_subject() -> None:
    text = notices.slack_text(notices.Message("Subject", "Body"))
    assert text == "*Subject*\nBody"


def test_a_route_name_cannot_break_a_header_or_ping_a_slack_channel() -> None:
    route = notices.Route("rte_1", "evil\r\nBcc: x@example.com <!channel>", "https://erp.example/hooks")
    message = notices.halted(route, "HTTP 503 <b>", 1_700_000_000)
    assert "\n" not in message.subject and "\r" not in message.subject
    text = notices.slack_text(message)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&lt;b&gt;" in text
