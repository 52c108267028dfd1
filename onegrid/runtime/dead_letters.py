"""Operator tools over a service's dead-letter queue (used by ``onegrid dlq``)."""
from __future__ import annotations

import json
from typing import Iterable, Optional

import kombu
from kombu import Queue

from .consume import ATTEMPTS, dead_letter_queue


class DeadLetters:
    """Operator tools over a service's dead-letter queue (used by ``onegrid dlq``)."""

    def __init__(self, amqp_uri: str, service: str):
        self.amqp_uri = amqp_uri
        self.service = service
        self.queue = dead_letter_queue(service)

    def list(self, limit: int = 1000) -> list[dict]:
        """Look at the dead letters without taking them (they go back on the queue)."""
        out = []
        with kombu.Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            Queue(self.queue, durable=True)(channel).declare()
            for _ in range(limit):
                message = channel.basic_get(self.queue, no_ack=False)
                if message is None:
                    break
                out.append(_describe(message))
            channel.close()  # unacked messages return to the queue in order
        return out

    def replay(self, event_ids: Optional[Iterable[str]] = None) -> int:
        """Send dead letters (all, or those with these event ids) back to their queues."""
        wanted = set(event_ids) if event_ids is not None else None
        replayed = 0
        with kombu.Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            channel = conn.channel()
            Queue(self.queue, durable=True)(channel).declare()
            producer = kombu.Producer(conn.channel())
            while True:
                message = channel.basic_get(self.queue, no_ack=False)
                if message is None:
                    break
                info = _describe(message)
                if wanted is not None and info["event_id"] not in wanted:
                    continue  # left unacked: it goes back to the queue when the channel closes
                headers = dict(message.headers or {})
                headers[ATTEMPTS] = 0
                producer.publish(message.body, exchange="", routing_key=info["queue"],
                                 headers=headers, delivery_mode=2,
                                 content_type=message.properties.get("content_type"),
                                 content_encoding=message.properties.get("content_encoding"))
                channel.basic_ack(message.delivery_tag)
                replayed += 1
            channel.close()  # the ones not chosen go back to the dead-letter queue
        return replayed


def _describe(message) -> dict:
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except ValueError:
        body = {}
    return {
        "event_id": body.get("event_id") or message.properties.get("message_id"),
        "event_type": body.get("event_type"),
        "stream_id": body.get("stream_id"),
        "version": body.get("version"),
        "queue": headers.get("x-onegrid-queue"),
        "source": headers.get("x-onegrid-source"),
        "attempts": headers.get(ATTEMPTS),
        "error": headers.get("x-onegrid-error"),
        "failed_at": headers.get("x-onegrid-failed-at"),
    }
