"""Per-route shaping of a webhook body: field selection and a sandboxed transformation.

PLACEHOLDER signature only, to be completed: ``apply`` must keep this signature.
"""

from __future__ import annotations

from typing import Any

import orjson


class Failed(Exception):
    """The route's transformation could not produce a body (error, too slow, too large)."""


def apply(
    body: dict[str, Any],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    expression: str | None = None,
) -> bytes:
    """The final body bytes for one route; raises Failed when the transformation fails."""
    if include or exclude or expression:
        raise Failed("payload shaping is not implemented yet")
    return orjson.dumps(body)
