"""Consumers apply other services' events once, in stream order, and never drop a failure."""
import json

import pytest
import sqlalchemy as sa
from kombu import Connection
from nameko.rpc import rpc

from onegrid.amqp import event_message
from onegrid.envelope import NewEvent
from onegrid.runtime import DeadLetters, EventLogRpc, Inbox, Store, consume
from onegrid.testing import rpc_client, running, wait_until

pytestmark = pytest.mark.broker

FAILURES: dict = {}  # text -> how many more times its reaction fails
BROKEN: set = set()  # texts whose reaction fails until an operator fixes the cause


def make_services(unique):
    source_name, sink_name = f"src{unique}", f"sink{unique}"
    seen_table = sa.Table(f"seen{unique}", sa.MetaData(),
                          sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                          sa.Column("stream_id", sa.String(20)),
                          sa.Column("version", sa.Integer), sa.Column("text", sa.String(40)))

    def remember(uow, event, ctx):
        """The sink's reaction: a read-model write in the inbox's transaction."""
        text = event.payload["text"]
        if text in BROKEN:
            raise RuntimeError(f"cannot handle {text} yet")
        if FAILURES.get(text, 0) > 0:
            FAILURES[text] -= 1
            raise RuntimeError(f"cannot handle {text} yet")
        seen_table.create(uow.connection, checkfirst=True)
        uow.connection.execute(seen_table.insert().values(
            stream_id=event.stream_id, version=event.version, text=text))

    class Source(EventLogRpc):
        name = source_name
        store = Store()

        @rpc
        def note(self, stream_id, *texts):
            def decide(uow):
                version = uow.tx.stream_version(stream_id)
                uow.tx.append(stream_id, version, [NewEvent("Noted", {"text": t}) for t in texts])
            self.store.command(decide)

    class Sink:
        name = sink_name
        store = Store()
        reactions = {source_name: {"Noted": remember}}
        inbox = Inbox(reactions)

        @consume(reactions)
        def on_source_event(self, source, event):
            return self.inbox.apply(source, event)

        @rpc
        def seen(self):
            def query(conn):
                if not sa.inspect(conn).has_table(seen_table.name):
                    return []
                t = seen_table
                rows = conn.execute(sa.select(t.c.stream_id, t.c.version, t.c.text)
                                    .order_by(t.c.stream_id, t.c.id))
                return [tuple(r) for r in rows]
            return self.store.query(lambda q: query(q.connection))

    return Source, Sink


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def config(request, amqp_uri, tmp_path, unique):
    config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou",
              "ONEGRID_RETRY_DELAYS": "0.1,0.2", "ONEGRID_POLL_SECONDS": 0.05}
    for service in (f"src{unique}", f"sink{unique}"):
        config[f"{service.upper()}_DATABASE_URL"] = (
            f"sqlite:///{tmp_path}/{service}.sqlite" if request.param == "sqlite"
            else request.getfixturevalue("database_url"))
    return config


def test_events_flow_from_a_command_through_the_relay_into_another_services_read_model(
        config, unique):
    Source, Sink = make_services(unique)
    with running(Source, Sink, config=config), rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        source.note("t-1", "a", "b")
        source.note("t-2", "c")
        rows = wait_until(lambda: len(sink.seen()) == 3 and sink.seen())
    assert rows == [["t-1", 1, "a"], ["t-1", 2, "b"], ["t-2", 1, "c"]]


def publish_raw(amqp_uri, service, envelopes):
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        for envelope in envelopes:
            channel.basic_publish(event_message(service, envelope),
                                  exchange=f"{service}.events", routing_key=envelope.event_type)


def test_a_duplicate_delivery_changes_nothing_and_a_gap_is_filled_from_the_source_log(
        config, unique):
    Source, Sink = make_services(unique)
    with running(Source, Sink, config=config) as containers, rpc_client(config) as rpc_:
        source, sink = getattr(rpc_, Source.name), getattr(rpc_, Sink.name)
        source_store = containers[0].shared_extensions
        keeper = next(iter(v for v in source_store.values() if hasattr(v, "relay")))
        keeper.relay = None  # keep the relay from publishing on its own: we deliver by hand
        source.note("t-9", "one", "two", "three", "four")
        log = keeper.store.read_stream("t-9")
        # deliver v3 first (v1, v2 must be fetched), then v3 again, then v4 twice
        publish_raw(config["AMQP_URI"], Source.name, [log[2], log[2], log[3], log[3], log[0]])
        rows = wait_until(lambda: len(sink.seen()) >= 4 and sink.seen())
        eventlet_sleep_to_let_duplicates_arrive()
        rows = sink.seen()
    assert rows == [["t-9", 1, "one"], ["t-9", 2, "two"], ["t-9", 3, "three"], ["t-9", 4, "four"]]


def eventlet_sleep_to_let_duplicates_arrive():
    import eventlet
    eventlet.sleep(0.5)


def test_a_failing_reaction_is_retried_with_backoff_and_then_succeeds(config, unique):
    Source, Sink = make_services(unique)
    FAILURES[f"flaky{unique}"] = 2
    with running(Source, Sink, config=config), rpc_client(config) as rpc_:
        getattr(rpc_, Source.name).note("t-1", f"flaky{unique}")
        rows = wait_until(lambda: getattr(rpc_, Sink.name).seen())
    assert rows == [["t-1", 1, f"flaky{unique}"]]
    assert FAILURES[f"flaky{unique}"] == 0


def test_a_reaction_that_keeps_failing_is_dead_lettered_listed_and_replayed(config, unique):
    Source, Sink = make_services(unique)
    poison = f"poison{unique}"
    BROKEN.add(poison)  # the first try and both retries fail
    dead = DeadLetters(config["AMQP_URI"], Sink.name)
    with running(Source, Sink, config=config), rpc_client(config) as rpc_:
        getattr(rpc_, Source.name).note("t-1", poison)
        letters = wait_until(lambda: dead.list(), message="nothing was dead-lettered")
        assert len(letters) == 1
        letter = letters[0]
        assert letter["event_type"] == "Noted" and letter["attempts"] == 3
        assert f"cannot handle {poison} yet" in letter["error"]
        assert getattr(rpc_, Sink.name).seen() == []
        assert len(dead.list()) == 1  # listing does not take them
        BROKEN.discard(poison)  # the operator fixed the cause; replay it
        assert dead.replay([letter["event_id"]]) == 1
        rows = wait_until(lambda: getattr(rpc_, Sink.name).seen())
    assert rows == [["t-1", 1, poison]]
    assert dead.list() == []


def test_three_replicas_apply_each_stream_in_version_order_exactly_once(config, unique):
    Source, Sink = make_services(unique)
    streams, per_stream = 6, 40
    with running(Source, Sink, Sink, Sink, config=config), rpc_client(config) as rpc_:
        source = getattr(rpc_, Source.name)
        for i in range(per_stream):
            for s in range(streams):
                source.note(f"t-{s}", f"{s}.{i}")
        sink = getattr(rpc_, Sink.name)
        rows = wait_until(lambda: len(sink.seen()) >= streams * per_stream and sink.seen(),
                          timeout=60, interval=0.2)
    assert len(rows) == streams * per_stream
    for s in range(streams):
        applied = [version for stream, version, _ in rows if stream == f"t-{s}"]
        assert applied == list(range(1, per_stream + 1))
