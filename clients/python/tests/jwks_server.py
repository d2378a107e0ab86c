"""Test helpers: the shared vectors, and a real HTTP server on 127.0.0.1 serving a JWKS document."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "standard-webhooks.json").read_text()
)


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def whpk(key: Ed25519PrivateKey) -> str:
    return "whpk_" + base64.b64encode(public_raw(key)).decode()


def jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(public_raw(key)).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": x[:8], "use": "sig"}


PATH = "/jwks/tgt_1.json"


class JwksServer:
    """Serves ``document`` (with ``status``) at ``url``, redirects every other path there; counts requests."""

    def __init__(self) -> None:
        self.document: Any = {"keys": []}
        self.status = 200
        self.requests = 0
        self.url = ""


@contextlib.contextmanager
def serving() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            body = json.dumps(state.document).encode()
            if self.path != PATH:  # elsewhere: moved permanently to the document
                self.send_response(301)
                self.send_header("Location", PATH)
                self.end_headers()
                return
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
