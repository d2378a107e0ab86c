"""Real local servers for endpoint authentication: a receiver that answers 401 without the credentials it
wants, and an OAuth2 token endpoint (client credentials) that issues numbered tokens."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class AuthServer:
    """``/hook`` answers 200 to a request whose Authorization is in ``accepted``, else 401; ``/token`` gives
    ``tok-1``, ``tok-2``… to the client ``client_id``/``client_secret`` (HTTP Basic), else 401."""

    client_id: str = "hookline"
    client_secret: str = "cl13nt-s3cret"
    expires_in: float | None = 3600
    url: str = ""
    accepted: set[str] = field(default_factory=set)
    token_forms: list[dict[str, str]] = field(default_factory=list)  # every token request's form
    seen: list[str | None] = field(default_factory=list)  # every /hook request's Authorization

    def accept_tokens(self, *tokens: str) -> None:
        self.accepted = {f"Bearer {token}" for token in tokens}

    async def hook(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization")
        self.seen.append(given)
        await request.read()
        if given in self.accepted:
            return web.json_response({"ok": True})
        return web.json_response({"error": "unauthorized"}, status=401)

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_forms.append({k: str(v) for k, v in form.items()})
        if request.headers.get("Authorization") != basic(self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        answer: dict[str, object] = {"access_token": f"tok-{len(self.token_forms)}", "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)


@contextlib.asynccontextmanager
async def start_auth_server(server: AuthServer | None = None) -> AsyncIterator[AuthServer]:
    server = server or AuthServer()
    app = web.Application()
    app.router.add_post("/hook", server.hook)
    app.router.add_post("/token", server.token)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        yield server
    finally:
        await runner.cleanup()
