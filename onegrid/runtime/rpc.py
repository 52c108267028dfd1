"""``@rpc`` as nameko's, but the worker learns the request's own id, and a reply rides out
a broker outage.

The id nameko puts on an RPC request message (its ``correlation_id``) survives the
message's redelivery after a crash, so it can serve as the command id when a caller gives
none: the command run again on redelivery is recognised and answered with its first result.

nameko sends a reply with three quick retries and, when the broker is still away, kills the
whole container. Here a reply waits for the broker with back-off for ``ONEGRID_REPLY_PATIENCE``
seconds (300: as long as a caller's reply queue outlives its caller), then is dropped with a
log line; the container lives on. Dropping is safe: the request is still unacked, so the
broker hands it out again once it is back, and the command, stored under its command id,
answers the repeat with its first result (so does a caller's own retry with the same id).
"""
from __future__ import annotations

import logging
from functools import partial

from nameko.amqp.publish import Publisher
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER,
                              LOGIN_METHOD_CONFIG_KEY, SERIALIZER_CONFIG_KEY)
from nameko.rpc import Responder, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc

from ..amqp import patiently

log = logging.getLogger(__name__)

#: the worker context key under which the request's id travels
REQUEST_ID = "onegrid_request_id"
#: seconds a reply waits for the broker before it is dropped
DEFAULT_REPLY_PATIENCE = 300.0
#: one attempt of a reply: kombu revives a stale pooled connection once, quickly
_ONE_ATTEMPT = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


class _PatientPublisher(Publisher):
    def __init__(self, amqp_uri, *, what: str, patience: float, given_up, **options):
        super().__init__(amqp_uri, retry=True, retry_policy=_ONE_ATTEMPT, **options)
        self.what, self.patience, self.given_up = what, patience, given_up
        self.sent = None

    def publish(self, payload, **kwargs):
        self.sent = patiently(lambda: Publisher.publish(self, payload, **kwargs), self.what,
                              patience=self.patience, given_up=self.given_up, logger=log)


class Rpc(NamekoRpc):
    def setup(self):
        super().setup()
        self._stopping = False

    def stop(self):
        self._stopping = True  # a reply still waiting for the broker gives up
        super().stop()

    def unpack_message_headers(self, message):
        data = super().unpack_message_headers(message)
        data[REQUEST_ID] = message.properties.get("correlation_id")
        return data

    def handle_result(self, message, worker_ctx, result, exc_info):
        """Send the reply (waiting for the broker if need be), then ack the request."""
        config = self.container.config
        what = (f"{self.container.service_name}: the reply to {self.method_name} "
                f"({message.properties.get('correlation_id')})")
        responder = Responder(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                              config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                              ssl=config.get(AMQP_SSL_CONFIG_KEY),
                              login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        responder.publisher_cls = partial(
            _PatientPublisher, what=what, given_up=lambda: self._stopping,
            patience=float(config.get("ONEGRID_REPLY_PATIENCE", DEFAULT_REPLY_PATIENCE)))
        result, exc_info = responder.send_response(result, exc_info)
        # a request whose reply was dropped is acked only if its channel survived (then the
        # caller retries); a dead channel's unacked request is redelivered by the broker
        self.rpc_consumer.queue_consumer.ack_message(message)
        return result, exc_info


rpc = Rpc.decorator


def request_id(worker_ctx) -> str | None:
    """The id of the RPC request this worker serves (None outside an RPC)."""
    if worker_ctx is None or not isinstance(worker_ctx.entrypoint, Rpc):
        return None
    return worker_ctx.data.get(REQUEST_ID)
