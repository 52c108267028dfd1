"""Two toy services for the ride-out tests, run as their own processes with ``nameko run``.

``ledger`` takes ``note`` commands through ``Commands`` (so each runs once per command id)
and stores one ``Noted`` event each; ``echo`` consumes ``ledger``'s ``Noted`` events through
``@consume``/``Inbox`` and stores one ``Echoed`` event each. Counting the two in the
services' stores tells how many effects each command had.
"""
import dataclasses
import time

from marshmallow import Schema, fields

from onegrid.envelope import NewEvent
from onegrid.runtime import Commands, EventLogRpc, Inbox, Store, consume
from onegrid.runtime.rpc import rpc


@dataclasses.dataclass(frozen=True)
class Note:
    note_id: str
    text: str
    pause: float = 0.0  # seconds the command takes (a slow one is in flight at an outage)


class NoteSchema(Schema):
    note_id = fields.Str(required=True)
    text = fields.Str(required=True)
    pause = fields.Float(load_default=0.0)


def note(uow, cmd, ctx):
    if cmd.pause:
        time.sleep(cmd.pause)  # on the thread pool, inside the transaction
    uow.tx.append(f"note/{cmd.note_id}", 0, [NewEvent("Noted", {"text": cmd.text})])
    return {"note_id": cmd.note_id, "text": cmd.text}


def echo(uow, event, ctx):
    uow.tx.append(f"echo/{event.stream_id}", 0,
                  [NewEvent("Echoed", {"of": event.event_id, "text": event.payload["text"]})])


REACTIONS = {"ledger": {"Noted": echo}}


class Ledger(EventLogRpc):
    name = "ledger"
    store = Store()
    commands = Commands({Note: note}, {Note: NoteSchema()})

    @rpc
    def note(self, actor=None, **fields_):
        return self.commands.run(Note, fields_, actor, new_id="note_id")

    @rpc
    def ping(self):
        return "ledger"


class Echo(EventLogRpc):
    name = "echo"
    store = Store()
    inbox = Inbox(REACTIONS)

    @consume(REACTIONS)
    def react(self, source, event):
        return self.inbox.apply(source, event)

    @rpc
    def ping(self):
        return "echo"
