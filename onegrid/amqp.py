"""Small helpers over py-amqp/kombu shared by the relay, consumers and operator tools."""
from __future__ import annotations

import kombu

from .envelope import Envelope, dumps


def events_exchange(service: str) -> str:
    """The topic exchange a service's events are published to (nameko's own name for it)."""
    return f"{service}.events"


def connect(amqp_uri: str, **kwargs) -> kombu.Connection:
    conn = kombu.Connection(amqp_uri, **kwargs)
    conn.ensure_connection(max_retries=3)
    return conn


def declare_events_exchange(channel, service: str) -> None:
    # the same arguments nameko's EventDispatcher/EventHandler use, or RabbitMQ refuses one
    channel.exchange_declare(events_exchange(service), "topic", durable=True, auto_delete=False)


def event_message(service: str, envelope: Envelope):
    """The AMQP message for one event, in the form nameko's @event_handler decodes."""
    import amqp

    body = envelope.to_message()
    body["service"] = service
    return amqp.Message(
        dumps(body).encode(),
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=envelope.event_id,
        correlation_id=envelope.correlation_id,
        application_headers={
            "nameko.correlation_id": envelope.correlation_id,
            "onegrid.stream": envelope.stream_id,
            "onegrid.version": envelope.version,
        },
    )
