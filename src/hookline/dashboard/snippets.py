"""Short receiver code shown beside a webhook's secret: check the Standard Webhooks signature with it.

Each defines ``verified(body, headers)`` over the raw body as received and the request's headers (lower-case
names), reading the ``whsec_…`` secret from ``HOOKLINE_WEBHOOK_SECRET``. ``tests/test_dashboard_secret.py``
runs both, as the page shows them, on a delivery hookline made (and on a tampered one, which must fail).
"""

from __future__ import annotations

PYTHON = '''\
import os

from standardwebhooks.webhooks import Webhook  # pip install standardwebhooks

webhook = Webhook(os.environ["HOOKLINE_WEBHOOK_SECRET"])  # the whsec_… secret


def verified(body: bytes, headers: dict[str, str]) -> dict:
    """The event if the request is signed with this webhook's secret (body: the raw bytes as received);
    raises WebhookVerificationError when the signature is wrong or more than 5 minutes old."""
    return webhook.verify(body, headers)
'''

NODE = """\
const crypto = require("node:crypto");
const secret = Buffer.from(process.env.HOOKLINE_WEBHOOK_SECRET.replace(/^whsec_/, ""), "base64");

// Whether a request is signed with this webhook's secret. rawBody: the bytes as received (a Buffer).
function verified(rawBody, headers) {
  const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false; // too old: a replay
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), rawBody]);
  const expected = crypto.createHmac("sha256", secret).update(signed).digest();
  return (headers["webhook-signature"] || "").split(" ").some((entry) => {
    const given = Buffer.from(entry.startsWith("v1,") ? entry.slice(3) : "", "base64");
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}
"""
