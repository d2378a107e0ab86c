"""Live lists: a page's results served alone (``?partial=1``), which ``static/live.js`` fetches every few
seconds and puts in place of the old ones, so the Events and Deliveries pages update without a reload."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from hookline.dashboard import web


def partial(request: Request) -> bool:
    """Whether the request asks for the results alone."""
    return request.query_params.get("partial") == "1"


def url(request: Request, path: str, query: list[tuple[str, str]]) -> str:
    """The address live.js polls: the page with its filters, results only."""
    return f"{web.base(request)}{path}?{urlencode([*query, ('partial', '1')])}"
