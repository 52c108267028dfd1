"""The node's services, in a process that dies between a command's commit and its reply.

``nameko run crashing:TicketsService crashing:GridService`` (with ``tests/system`` on the
path). ``ONEGRID_CRASH_IN_REPLY`` names an RPC method; the first time a call of it has
committed and is about to be answered, the process is killed (``os._exit``), so the
request stays unacked and the broker redelivers it to the next incarnation.
``ONEGRID_CRASH_MARKER`` is a file that records that the crash happened (it happens once).
"""
import os

from onegrid.runtime.rpc import Rpc

_answer = Rpc.handle_result


def _handle_result(self, message, worker_ctx, result, exc_info):
    marker = os.environ.get("ONEGRID_CRASH_MARKER", "")
    if (self.method_name == os.environ.get("ONEGRID_CRASH_IN_REPLY") and exc_info is None
            and marker and not os.path.exists(marker)):
        with open(marker, "w") as done:
            done.write(repr(result))
        os._exit(9)
    return _answer(self, message, worker_ctx, result, exc_info)


Rpc.handle_result = _handle_result

from services.grid.service import GridService  # noqa: E402,F401
from services.tickets.service import TicketsService  # noqa: E402,F401
