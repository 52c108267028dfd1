"""A command with ``settle`` returns once the service's read models show its change."""
import time

import pytest
import sqlalchemy as sa
from nameko.rpc import rpc

from onegrid.envelope import NewEvent
from onegrid.projections import Projection
from onegrid.runtime import Store
from onegrid.testing import rpc_client, running

pytestmark = pytest.mark.broker


def make_service(unique):
    table = sa.Table(f"notes{unique}", sa.MetaData(), sa.Column("text", sa.String(40)))

    class SlowNotes(Projection):
        name = f"notes{unique}"
        metadata = table.metadata

        def apply(self, conn, envelope):
            time.sleep(0.3)  # a slow fold (a real thread: projections run on tpool)
            conn.execute(table.insert().values(text=envelope.payload["text"]))

    class Notes:
        name = f"notes{unique}"
        store = Store(projections=[SlowNotes()])

        @rpc
        def note(self, text, settle):
            def decide(uow):
                uow.tx.append(f"n-{text}", 0, [NewEvent("Noted", {"text": text})])
            self.store.command(decide, settle=settle)

        @rpc
        def notes(self):
            return self.store.query(lambda q: [r.text for r in q.connection.execute(sa.select(table))])

    return Notes


def test_a_settled_command_is_visible_in_the_read_model_when_it_returns(amqp_uri, tmp_path, unique):
    Notes = make_service(unique)
    config = {"AMQP_URI": amqp_uri, "ONEGRID_RELAY": False,
              f"{Notes.name.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/n.sqlite"}
    with running(Notes, config=config), rpc_client(config) as rpc_:
        notes = getattr(rpc_, Notes.name)
        notes.note("unsettled", False)
        assert notes.notes() == []  # the fold takes 0.3 s: not there yet
        notes.note("settled", True)
        assert notes.notes() == ["unsettled", "settled"]
