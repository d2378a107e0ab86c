"""RabbitMQ (AMQP 0-9-1): one publish per attempt, acknowledged by a publisher confirm.

The headers travel as AMQP message headers (the payload's content type also as ``content_type``), the
payload as the message body, persistent. The publish is ``mandatory``: a message no queue is bound to
receive comes back (``NO_ROUTE``) and is a refusal, as is an exchange that does not exist; only the broker's
confirm (``Basic.Ack``) is success. Each publish has a channel of its own on the URL's one long-lived
connection while it is in flight: a refusal closes the channel it happened on, and so cannot fail other
deliveries in flight. A channel whose publish was confirmed is kept for the next one (up to
``IDLE_CHANNELS`` per connection), since opening and closing a confirm channel costs two round trips and
most of the CPU of a publish; a channel that saw any failure is closed, never reused.
A keyed delivery (per-key ordering) on a named exchange is published with ``<routing_key>.<key>``
(``keyed``, within the 255 bytes a routing key may have): a topic exchange binding ``<routing_key>.#``
receives it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection

from hookline.sender.destinations import keyed
from hookline.sender.destinations.port import Connections, Pooled, Refused, Unreachable, describe

CONNECT_TIMEOUT_S = 5.0
IDLE_CHANNELS = 64  # confirmed channels kept open per connection for the next publishes


async def _open(url: str) -> AbstractConnection:
    try:
        return await aio_pika.connect(url, timeout=CONNECT_TIMEOUT_S)
    except aiormq.exceptions.ProbableAuthenticationError as exc:
        raise Unreachable(f"authentication failed: {exc}") from None


async def _close(connection: AbstractConnection) -> None:
    await connection.close()


def _alive(connection: AbstractConnection) -> bool:
    return not connection.is_closed


class AmqpBroker(Pooled[AbstractConnection]):
    def __init__(self) -> None:
        super().__init__(Connections(_open, _close, _alive))
        # Per connection (a new one after a reconnect starts empty): channels free for the next publish.
        self._idle: weakref.WeakKeyDictionary[AbstractConnection, list[AbstractChannel]] = (
            weakref.WeakKeyDictionary()
        )

    async def _channel(self, connection: AbstractConnection) -> AbstractChannel:
        idle = self._idle.setdefault(connection, [])
        while idle:
            channel = idle.pop()
            if not channel.is_closed:
                return channel
        return await connection.channel(publisher_confirms=True, on_return_raises=True)

    async def _done(self, connection: AbstractConnection, channel: AbstractChannel, confirmed: bool) -> None:
        """Keep a channel whose publish was confirmed for the next one; close any other."""
        if channel.is_closed:
            return
        idle = self._idle.setdefault(connection, [])
        if confirmed and not connection.is_closed and len(idle) < IDLE_CHANNELS:
            idle.append(channel)
        else:
            await channel.close()

    async def publish(
        self,
        url: str,
        destination: Mapping[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> str:
        connection = await self._connections.get(url)
        name, routing_key = str(destination["exchange"]), str(destination["routing_key"])
        if name:  # on the default exchange the routing key names the queue: it is never suffixed
            try:
                routing_key = keyed.suffixed(routing_key, headers, limit=keyed.ROUTING_KEY_MAX)
            except keyed.NoRoom as exc:  # a routing key stored before the limit left room for the key
                raise Refused(f"the routing key is too long to take the ordering key: {exc}") from None
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        message = aio_pika.Message(
            body,
            headers=dict(headers),
            content_type=content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            channel = await self._channel(connection)
        except Exception as exc:  # the connection went away since it was last used
            raise Unreachable(f"cannot open a channel: {describe(exc)}") from None
        confirmed = False
        try:
            exchange = (
                channel.default_exchange if not name else await channel.get_exchange(name, ensure=False)
            )
            await exchange.publish(message, routing_key, mandatory=True, timeout=timeout_s)
            confirmed = True
        except aiormq.exceptions.ChannelClosed as exc:  # NOT_FOUND, ACCESS_REFUSED …: RabbitMQ said no
            raise Refused(_reply(exc)) from None
        except aiormq.exceptions.PublishError:
            where = f"exchange {name or '(default)'!r}, routing key {routing_key!r}"
            raise Refused(f"no queue is bound to receive it ({where}): NO_ROUTE") from None
        except aiormq.exceptions.DeliveryError:
            raise Refused("the broker did not confirm the message (nack)") from None
        finally:
            await self._done(connection, channel, confirmed)
        return f"confirmed: exchange {name or '(default)'!r}, routing key {routing_key!r}"


def _reply(exc: aiormq.exceptions.ChannelClosed) -> str:
    """The broker's reply text (``NOT_FOUND - no exchange 'x' in vhost '/'``), else the exception."""
    args = exc.args
    return str(args[1]) if len(args) > 1 and isinstance(args[0], int) else str(exc)
