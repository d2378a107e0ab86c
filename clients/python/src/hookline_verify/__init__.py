"""Verify webhooks from hookline: ``Ordergroove-Signature`` and Standard Webhooks (``v1`` HMAC, ``v1a``
Ed25519 with a public key or a JWKS URL)."""

from __future__ import annotations

from hookline_verify.errors import KeyFetchError, VerificationError
from hookline_verify.ordergroove import Ordergroove
from hookline_verify.standard_webhooks import StandardWebhooks

__version__ = "0.1.0"
__all__ = ["KeyFetchError", "Ordergroove", "StandardWebhooks", "VerificationError", "__version__"]
