"""Catch-up: events the broker never delivered (no queue yet, or the queue was lost) are
read from the source's log and applied once, each stream in version order."""
import logging

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection
from nameko.rpc import rpc

from onegrid.amqp import event_message
from onegrid.envelope import NewEvent
from onegrid.runtime import EventLogRpc, Inbox, Store, consume
from onegrid.runtime.consume import queue_name
from onegrid.testing import FakeSource, rpc_client, running, wait_until

pytestmark = pytest.mark.broker

FAILING: set = set()  # texts whose reaction fails until the test fixes the cause


def make_services(unique):
    source_name, sink_name = f"src{unique}", f"sink{unique}"
    metadata = sa.MetaData()
    seen = sa.Table(f"seen{unique}", metadata,
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("stream_id", sa.String(20)), sa.Column("version", sa.Integer),
                    sa.Column("text", sa.String(40)))

    def remember(uow, event, ctx):
        """The sink's reaction: a row per application, so a second one shows."""
        if event.payload["text"] in FAILING:
            raise RuntimeError(f"cannot handle {event.payload['text']} yet")
        uow.connection.execute(seen.insert().values(
            stream_id=event.stream_id, version=event.version, text=event.payload["text"]))

    class Source(EventLogRpc):
        name = source_name
        store = Store()

        @rpc
        def note(self, stream_id, *texts):
            """A ``Noted`` event per text; a text starting with ``-`` is a ``Skipped`` event,
            a type the sink does not react to (the catch-up does not read it)."""
            def decide(uow):
                uow.tx.append(stream_id, uow.tx.stream_version(stream_id), [
                    NewEvent("Skipped" if t.startswith("-") else "Noted", {"text": t})
                    for t in texts])
            self.store.command(decide)

        @rpc
        def published(self):
            """Whether the relay has published the whole log."""
            store = self.store._store
            return store.get_position(f"relay:{source_name}") == store.last_position()

    class Sink:
        name = sink_name
        store = Store()
        reactions = {source_name: {"Noted": remember}}
        inbox = Inbox(reactions, tables=lambda ctx: metadata)

        @consume(reactions)
        def react(self, source, event):
            return self.inbox.apply(source, event)

        @rpc
        def seen(self):
            t = seen
            return self.store.query(lambda q: [tuple(r) for r in q.connection.execute(
                sa.select(t.c.stream_id, t.c.version, t.c.text).order_by(t.c.id))])

    return Source, Sink


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def config(request, amqp_uri, tmp_path, unique):
    config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou", "ONEGRID_RETRY_DELAYS": "0.1,0.2",
              "ONEGRID_POLL_SECONDS": 0.05, "ONEGRID_LEASE_SECONDS": 2,
              "ONEGRID_CATCHUP_SECONDS": 1, "max_workers": 50}
    for service in (f"src{unique}", f"sink{unique}"):
        config[f"{service.upper()}_DATABASE_URL"] = (
            f"sqlite:///{tmp_path}/{service}.sqlite" if request.param == "sqlite"
            else request.getfixturevalue("database_url"))
    return config


def noted(rows):
    """{stream: [versions applied, in the order applied]}"""
    out: dict = {}
    for stream, version, _ in rows:
        out.setdefault(stream, []).append(version)
    return out


def settled(sink, count, periods=3):
    """Wait for ``count`` rows, then a few catch-up periods more: the rows must not change."""
    wait_until(lambda: len(sink.seen()) >= count, timeout=30,
               message=f"fewer than {count} events applied")
    eventlet.sleep(periods * 1.0 + 0.5)
    return sink.seen()


def test_events_published_before_the_consumers_queue_existed_are_applied_once(config, unique):
    Source, Sink = make_services(unique)
    with running(Source, config=config), rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        for s in range(5):  # streams that never get another event
            source.note(f"t-{s}", f"{s}.a", f"-{s}.skip", f"{s}.b")
        for i in range(30):  # and many events of one stream
            source.note("long", f"long.{i}")
        wait_until(source.published, message="the relay did not publish")
        # published to an exchange with no queue bound: the broker dropped them all
        with running(Sink, config=config):
            rows = settled(sink, 5 * 2 + 30)
    assert len(rows) == 5 * 2 + 30
    applied = noted(rows)
    for s in range(5):
        assert applied[f"t-{s}"] == [1, 3]  # v2 is Skipped: stepped over, in order
    assert applied["long"] == list(range(1, 31))


def test_events_lost_with_the_deleted_queue_are_applied_once_after_a_restart(config, unique):
    Source, Sink = make_services(unique)
    with running(Source, config=config), rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        with running(Sink, config=config):
            source.note("t-1", "1.a")
            source.note("t-2", "2.a")
            wait_until(lambda: len(sink.seen()) == 2)
        with Connection(config["AMQP_URI"]) as conn:  # lost while the consumer is stopped
            conn.default_channel.queue_delete(queue_name(Source.name, Sink.name))
        source.note("t-1", "1.b", "-1.skip", "1.c")
        source.note("t-3", "3.a")
        wait_until(source.published, message="the relay did not publish")
        with running(Sink, config=config):  # redeclares its queue; the log has the rest
            rows = settled(sink, 5)
            source.note("t-3", "3.b")  # and live delivery carries on
            rows = settled(sink, 6, periods=1)
    applied = noted(rows)
    assert applied == {"t-1": [1, 2, 4], "t-2": [1], "t-3": [1, 2]}
    assert len(rows) == 6


def test_live_delivery_and_catch_up_racing_over_the_same_events_apply_each_once(
        config, unique):
    Source, Sink = make_services(unique)
    streams, per_stream = 6, 25
    with running(Source, config=config) as [source_container], rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        for s in range(streams):
            source.note(f"t-{s}", f"{s}.0")  # before the queue: only the log has them
        wait_until(source.published)

        def write():
            for i in range(1, per_stream):
                for s in range(streams):
                    writer_rpc.note(f"t-{s}", f"{s}.{i}" if i % 5 else f"-{s}.{i}")

        with rpc_client(config) as other:
            writer_rpc = getattr(other, Source.name)  # a proxy of its own: it runs beside
            writer = eventlet.spawn(write)  # while the consumer is starting
            with running(Sink, Sink, config=config):  # two replicas, both may catch up
                writer.wait()
                # and every event once more, live, duplicates of what catch-up applied
                keeper = next(e for e in source_container.shared_extensions.values()
                              if hasattr(e, "relay"))
                log = keeper.store.read_all(0, 10_000)
                with Connection(config["AMQP_URI"]) as conn:
                    channel = conn.channel()
                    for envelope in log:
                        channel.basic_publish(
                            event_message(Source.name, envelope),
                            exchange=f"{Source.name}.events", routing_key=envelope.event_type)
                expected = sum(1 for e in log if e.event_type == "Noted")
                rows = settled(sink, expected)
    assert len(rows) == expected
    for s in range(streams):
        versions = [e.version for e in log if e.stream_id == f"t-{s}" and e.event_type == "Noted"]
        assert noted(rows)[f"t-{s}"] == versions


def test_a_source_that_does_not_answer_is_logged_once_and_caught_up_when_it_comes(
        config, unique, tmp_path, caplog):
    Source, Sink = make_services(unique)
    fake = FakeSource(config["AMQP_URI"], tmp_path, Source.name)
    fake.append([(f"t-{s}", [("Noted", {"text": f"{s}.a"}), ("Noted", {"text": f"{s}.b"})])
                 for s in range(3)])
    fake.publish()  # no queue bound yet: dropped
    caplog.set_level(logging.WARNING, logger="onegrid.runtime.catchup")
    with running(Sink, config=config), rpc_client(config) as rpc_:
        sink = getattr(rpc_, Sink.name)
        eventlet.sleep(3.5)  # a few periods with the source away
        assert sink.seen() == []
        silent = [r for r in caplog.records if "does not answer read_log" in r.getMessage()]
        assert len(silent) == 1  # once per failure spell, not once per period
        with fake.serve(config):
            rows = settled(sink, 6, periods=2)
    assert noted(rows) == {f"t-{s}": [1, 2] for s in range(3)}
    fake.close()


def test_a_reaction_failing_in_catch_up_holds_the_position_and_is_applied_once_fixed(
        config, unique):
    Source, Sink = make_services(unique)
    poison = f"poison{unique}"
    FAILING.add(poison)
    with running(Source, config=config), rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        source.note("t-1", "1.a", poison, "1.c")
        source.note("t-2", "2.a")
        wait_until(source.published)
        with running(Sink, config=config):
            rows = settled(sink, 2, periods=2)
            assert noted(rows) == {"t-1": [1], "t-2": [1]}  # t-1 waits behind its v2
            FAILING.discard(poison)  # the cause is fixed: the next period applies it
            rows = settled(sink, 4, periods=2)
    assert noted(rows) == {"t-1": [1, 2, 3], "t-2": [1]}
    assert len(rows) == 4
