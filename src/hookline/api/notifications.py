"""``/v1/notifications``: who a merchant's notices go to (e-mail, a Slack-compatible webhook), and which."""

from __future__ import annotations

from fastapi import APIRouter

from hookline.api.deps import Ctx, MerchantId
from hookline.api.render import JSON
from hookline.api.schemas import NotificationsIn
from hookline.service import notifications

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@router.get("")
async def get_notifications(ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """The merchant's notification settings: e-mail addresses, Slack webhook URL, the kinds sent."""
    return JSON(await notifications.get(ctx, merchant_id))


@router.put("")
async def put_notifications(body: NotificationsIn, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Replace the merchant's notification settings: who is told when a route halts or is failing.

    At most 10 e-mail addresses; the Slack URL follows the rules of a target's URL. Nothing changes when
    a value is refused (400).
    """
    row = await notifications.put(ctx, merchant_id, body.emails, body.slack_webhook_url, body.on)
    return JSON(row)
