"""Projections fold the log with a checkpoint, and a replay rebuilds them exactly."""
import pytest
import sqlalchemy as sa

from onegrid.envelope import NewEvent
from onegrid.projections import Projection, catch_up, checkpoint_name, replay
from onegrid.store import TrackingConflict
from onegrid.store.sql import SqlEventStore
from onegrid.testing import at_once


class OpenTickets(Projection):
    name = "open_tickets"
    metadata = sa.MetaData()
    table = sa.Table("open_tickets", metadata,
                     sa.Column("ticket_id", sa.String(40), primary_key=True),
                     sa.Column("title", sa.String(100)), sa.Column("state", sa.String(20)))
    event_types = frozenset({"TicketOpened", "TicketClosed"})

    def __init__(self):
        self.pages = []

    def apply_page(self, conn, envelopes):
        self.pages.append(len(envelopes))
        super().apply_page(conn, envelopes)

    def apply(self, conn, e):
        if e.event_type == "TicketOpened":
            conn.execute(self.table.insert().values(ticket_id=e.stream_id, title=e.payload["title"],
                                                    state="open"))
        else:
            conn.execute(self.table.update().where(self.table.c.ticket_id == e.stream_id)
                         .values(state="closed"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, unique):
    if request.param == "sqlite":
        s = SqlEventStore(f"sqlite:///{tmp_path}/p.sqlite", node_id="n")
    else:
        s = SqlEventStore(request.getfixturevalue("database_url"), node_id="n", prefix=f"p{unique}_")
    OpenTickets.table.name = f"open_tickets_{unique}"  # several stores may share a database
    yield s
    OpenTickets.metadata.drop_all(s.engine)
    if request.param == "postgres":
        s.drop_all()
    s.close()


def rows(store):
    with store.reading() as conn:
        return [tuple(r) for r in conn.execute(sa.select(OpenTickets.table).order_by("ticket_id"))]


def fill(store, n):
    for i in range(n):
        store.append(f"t-{i:03}", 0, [NewEvent("TicketOpened", {"title": f"leak {i}"}),
                                      NewEvent("TicketAccepted", {})])
        if i % 3 == 0:
            store.append(f"t-{i:03}", 2, [NewEvent("TicketClosed", {})])


def test_catch_up_applies_each_event_once_and_moves_the_checkpoint(store):
    projection = OpenTickets()
    projection.create(store.engine)
    fill(store, 10)
    assert catch_up(store, projection, page_size=7) == store.last_position()
    assert catch_up(store, projection) == 0  # nothing new: nothing applied twice
    assert store.get_position(checkpoint_name(projection)) == store.last_position()
    fill_more = [NewEvent("TicketOpened", {"title": "late"})]
    store.append("t-999", 0, fill_more)
    assert catch_up(store, projection) == 1
    assert rows(store)[-1] == ("t-999", "late", "open")
    assert [r[2] for r in rows(store)].count("closed") == 4


def test_replay_rebuilds_exactly_what_the_live_fold_built_reading_in_pages(store):
    live = OpenTickets()
    live.create(store.engine)
    fill(store, 25)
    catch_up(store, live, page_size=4)
    built_live = rows(store)
    rebuilt = OpenTickets()
    assert replay(store, rebuilt, page_size=10) == store.last_position()
    assert rows(store) == built_live
    assert max(rebuilt.pages) <= 10 and len(rebuilt.pages) == -(-store.last_position() // 10)


# SQLite serialises writers, so two runners can only race inside one page on PostgreSQL
@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_runner_that_lost_the_race_for_a_page_rolls_it_back(store, monkeypatch):
    projection = OpenTickets()
    projection.create(store.engine)
    fill(store, 3)
    original = projection.apply_page

    def racing(conn, envelopes):
        original(conn, envelopes)
        # another replica applied this page and moved the checkpoint meanwhile
        store.set_position(checkpoint_name(projection), envelopes[-1].position)

    monkeypatch.setattr(projection, "apply_page", racing)
    with pytest.raises(TrackingConflict):
        catch_up(store, projection)
    assert rows(store) == []


class EventCount(Projection):
    """A row per event folded: a page applied twice would leave twice the rows."""

    name = "event_count"
    metadata = sa.MetaData()
    table = sa.Table("event_count", metadata, sa.Column("event_id", sa.String(40)))

    def __init__(self, barrier):
        self.barrier = barrier

    def apply_page(self, conn, envelopes):
        conn.execute(self.table.insert(), [{"event_id": e.event_id} for e in envelopes])
        self.barrier.wait()  # both runners folded the same page and are about to move on


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_runners_folding_the_same_page_at_once_apply_it_once(store, unique):
    from eventlet.patcher import original

    real_threading = original("threading")
    EventCount.table.name = f"event_count_{unique}"
    projection = EventCount(real_threading.Barrier(2, timeout=10))
    projection.create(store.engine)
    fill(store, 3)
    outcomes = at_once(lambda: catch_up(store, projection, max_pages=1), 2,
                       conflict=TrackingConflict, threads=real_threading)
    with store.reading() as conn:
        counted = conn.execute(sa.select(sa.func.count()).select_from(EventCount.table)).scalar()
    EventCount.metadata.drop_all(store.engine)
    assert sorted(outcomes, key=str) == [store.last_position(), "conflict"]
    assert counted == store.last_position()
