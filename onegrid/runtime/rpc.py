"""``@rpc`` as nameko's, but the worker also learns the request's own id.

The id nameko puts on an RPC request message (its ``correlation_id``) survives the
message's redelivery after a crash, so it can serve as the command id when a caller gives
none: the command run again on redelivery is recognised and answered with its first result.
"""
from __future__ import annotations

from nameko.rpc import Rpc as NamekoRpc

#: the worker context key under which the request's id travels
REQUEST_ID = "onegrid_request_id"


class Rpc(NamekoRpc):
    def unpack_message_headers(self, message):
        data = super().unpack_message_headers(message)
        data[REQUEST_ID] = message.properties.get("correlation_id")
        return data


rpc = Rpc.decorator


def request_id(worker_ctx) -> str | None:
    """The id of the RPC request this worker serves (None outside an RPC)."""
    if worker_ctx is None or not isinstance(worker_ctx.entrypoint, Rpc):
        return None
    return worker_ctx.data.get(REQUEST_ID)
