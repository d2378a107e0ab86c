"""One deadline for all the database work of a request, so that a request the database cannot serve answers
503 within ``HOOKLINE_DB_TIMEOUT_S`` of its first transaction, however many transactions it makes."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class DatabaseDeadline:
    """ASGI middleware: the request runs inside ``Database.deadline`` (see there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = getattr(scope["app"].state, "context", None) if "app" in scope else None
        if scope["type"] != "http" or context is None:
            await self.app(scope, receive, send)
            return
        with context.db.deadline():
            await self.app(scope, receive, send)
