"""NATS JetStream: one publish per attempt, acknowledged by the stream that stores it.

The headers travel as NATS message headers and the payload as the message data. A keyed delivery (per-key
ordering) goes to ``<subject>.<key>`` (``keyed``), so a stream for an ordered route covers ``<subject>.>``.
Only a JetStream acknowledgement (the stream's name and the message's sequence) counts: a subject no
stream covers is a refusal, as core NATS would drop the message without a word when nobody is subscribed.
A ``tls://`` URL connects with TLS (the server's certificate verified against the system's CAs); a server
that does not require TLS is refused rather than published to in clear (nats-py has sent its CONNECT by
then: docs/destinations.md says what that means for credentials). The client does not reconnect on its own
(``allow_reconnect=False``): a lost connection fails the attempt and ``port.Connections`` opens a new one,
with backoff, for the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import nats
from nats import errors
from nats.aio.client import Client
from nats.js import errors as js_errors

from hookline.sender.destinations import keyed, spec
from hookline.sender.destinations.port import Connections, Pooled, Refused, Unreachable

CONNECT_TIMEOUT_S = 5.0


async def _ignore(_: Exception) -> None:
    """The client's own error reports: the attempt that meets the error reports it."""


async def _open(url: str) -> Client:
    client = await _connect(url)
    if spec.scheme_of(url) == "tls" and not _tls_started(client):
        await client.close()
        raise Unreachable(
            "the server does not require TLS, so the connection stayed in clear: not published "
            "(a tls:// URL is TLS or nothing; use nats:// for a server without TLS)"
        )
    return client


def _tls_started(client: Client) -> bool:
    """Whether the client upgraded the connection to TLS: nats-py does (verifying the server's certificate)
    when the server's INFO says ``tls_required``, whatever the URL's scheme, and otherwise stays in clear."""
    info: Any = getattr(client, "_server_info", None)  # no public accessor in nats-py
    return isinstance(info, dict) and bool(info.get("tls_required"))


async def _connect(url: str) -> Client:
    try:
        return await nats.connect(
            url,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=CONNECT_TIMEOUT_S,
            error_cb=_ignore,
        )
    except errors.NoServersError as exc:
        raise Unreachable(str(exc) or "no server could be reached") from None
    except (errors.AuthorizationError, errors.InvalidUserCredentialsError) as exc:
        raise Unreachable(f"authorization failed: {exc}") from None


async def _close(client: Client) -> None:
    await client.close()


def _alive(client: Client) -> bool:
    return bool(client.is_connected)


class NatsBroker(Pooled[Client]):
    def __init__(self) -> None:
        super().__init__(Connections(_open, _close, _alive))

    async def publish(
        self,
        url: str,
        destination: Mapping[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> str:
        client = await self._connections.get(url)
        subject = keyed.suffixed(str(destination["subject"]), headers)
        try:
            ack = await client.jetstream().publish(subject, body, timeout=timeout_s, headers=dict(headers))
        except js_errors.NoStreamResponseError:
            raise Refused(f"no JetStream stream covers the subject {subject!r}") from None
        except js_errors.APIError as exc:  # the stream answered with an error (full, wrong sequence …)
            raise Refused(str(exc)) from None
        except errors.TimeoutError:
            raise TimeoutError from None
        except (
            errors.ConnectionClosedError,
            errors.ConnectionReconnectingError,
            errors.StaleConnectionError,
        ):
            raise Unreachable("connection lost") from None
        return f"JetStream ack: stream {ack.stream}, seq {ack.seq}"
