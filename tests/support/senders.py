"""Both HTTP clients, for tests that must hold for each: a test that takes ``open_client`` runs twice."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeAlias

import pytest

from hookline.sender.curl import CurlSender, open_curl_sender
from hookline.sender.http import Sender, open_sender
from hookline.sender.port import Options

BODY = b'{"type":"order.placed","id":"evt_1"}'

AnySender: TypeAlias = Sender | CurlSender
Opener: TypeAlias = Callable[..., contextlib.AbstractAsyncContextManager[AnySender]]


@pytest.fixture(params=["aiohttp", "curl"])
def open_client(request: pytest.FixtureRequest) -> Opener:
    """Each sender test runs against both clients: they must answer the same endpoints the same way."""
    opener = open_sender if request.param == "aiohttp" else open_curl_sender

    def opened(**options: Any) -> contextlib.AbstractAsyncContextManager[AnySender]:
        """The client, made with ``Options(**options)``."""
        return opener(Options(**options))

    return opened
