"""Which headers an attempt's record keeps as they were sent, and which read ``[redacted]``."""

from __future__ import annotations

from hookline.core.redaction import REDACTED, recorded, sensitive


def test_credentials_are_known_by_their_names() -> None:
    for name in (
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "api_key",
        "X-Auth-Token",
        "X-Shopify-Access-Token",
        "Client-Secret",
        "X-Password",
        "X-Session-Id",
    ):
        assert sensitive(name), name


def test_hookline_s_own_headers_and_plain_ones_are_kept() -> None:
    sent = {
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1,abc",
        "Ordergroove-Signature": "t=1,v1=abc",
        "Hookline-Event-Id": "evt-1",
        "Hookline-Ordering-Key": "cust-1",
        "Hookline-Sequence": "3",
        "X-Shop": "acme",
    }
    assert recorded(sent) == sent
    assert recorded({**sent, "Authorization": "Bearer t"}) == {**sent, "Authorization": REDACTED}
