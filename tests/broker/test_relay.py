"""The relay publishes the committed log to the broker: confirmed, in order, never skipping."""
import pytest
from kombu import Connection, Exchange, Queue
from nameko.events import event_handler

from onegrid.envelope import NewEvent
from onegrid.relay import Relay
from onegrid.store.sql import SqlEventStore
from onegrid.testing import running, wait_until

pytestmark = pytest.mark.broker


@pytest.fixture
def store(tmp_path):
    s = SqlEventStore(f"sqlite:///{tmp_path}/src.sqlite", node_id="shazhou")
    yield s
    s.close()


def bind_queue(amqp_uri, service, unique):
    """A durable queue bound to every event of ``service``, like a consumer would have."""
    exchange = Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)
    queue = Queue(f"test-{unique}", exchange=exchange, routing_key="#", durable=True,
                  auto_delete=False)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain_queue(amqp_uri, queue):
    bodies = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        while True:
            message = channel.basic_get(queue.name, no_ack=True)
            if message is None:
                break
            bodies.append(message)
        queue(channel).delete()
    return bodies


def append_notes(store, count, stream="s-1"):
    version = store.stream_version(stream)
    store.append(stream, version, [NewEvent("Noted", {"n": i}) for i in range(count)])


def test_relay_publishes_each_event_once_persistent_and_in_log_order(store, amqp_uri, unique):
    service = f"src{unique}"
    queue = bind_queue(amqp_uri, service, unique)
    append_notes(store, 25)
    relay = Relay(store, amqp_uri, service, page_size=10)
    assert relay.drain() == 25
    relay.close()
    messages = drain_queue(amqp_uri, queue)
    import json
    bodies = [json.loads(m.body) for m in messages]
    assert [b["version"] for b in bodies] == list(range(1, 26))
    assert {m.delivery_info["routing_key"] for m in messages} == {"Noted"}
    assert all(m.properties["delivery_mode"] == 2 for m in messages)
    assert bodies[0]["service"] == service and bodies[0]["node_id"] == "shazhou"
    assert store.get_position(f"relay:{service}") == 25


def test_a_crash_after_publishing_but_before_saving_publishes_again_and_skips_nothing(
        store, amqp_uri, unique, monkeypatch):
    service = f"src{unique}"
    queue = bind_queue(amqp_uri, service, unique)
    append_notes(store, 5)
    crashing = Relay(store, amqp_uri, service)

    def crash(*_args):
        raise RuntimeError("killed between publish and save")

    monkeypatch.setattr(store, "set_position", crash)
    with pytest.raises(RuntimeError):
        crashing.publish_page()
    crashing.close()
    monkeypatch.undo()
    append_notes(store, 2)
    restarted = Relay(store, amqp_uri, service)
    assert restarted.drain() == 7
    restarted.close()
    import json
    versions = [json.loads(m.body)["version"] for m in drain_queue(amqp_uri, queue)]
    assert versions == [1, 2, 3, 4, 5] + [1, 2, 3, 4, 5, 6, 7]


def test_only_the_relay_holding_the_lease_publishes(store, amqp_uri, unique):
    service = f"src{unique}"
    first = Relay(store, amqp_uri, service, holder="replica-a", lease_ttl=30)
    second = Relay(store, amqp_uri, service, holder="replica-b", lease_ttl=30)
    assert first.holds_lease()
    assert not second.holds_lease()
    store.release_lease(first.lease_name, "replica-a")
    first._lease_until = 0.0
    assert second.holds_lease()
    assert not first.holds_lease()


def test_nameko_event_handlers_receive_what_the_relay_publishes(store, amqp_uri, unique, tmp_path):
    service = f"src{unique}"
    received = []

    class Listener:
        name = f"listener{unique}"

        @event_handler(service, "Noted")
        def on_noted(self, body):
            received.append(body)

    config = {"AMQP_URI": amqp_uri}
    with running(Listener, config=config):
        append_notes(store, 3)
        relay = Relay(store, amqp_uri, service)
        relay.drain()
        relay.close()
        wait_until(lambda: len(received) == 3, message=f"got {len(received)} of 3 events")
    assert [b["payload"]["n"] for b in received] == [0, 1, 2]
    assert received[0]["event_type"] == "Noted" and received[0]["stream_id"] == "s-1"


def test_two_replicas_of_a_service_publish_each_event_exactly_once(amqp_uri, unique, tmp_path):
    import json

    from nameko.rpc import rpc

    from onegrid.runtime import Store
    from onegrid.testing import rpc_client

    service = f"src{unique}"

    class Source:
        name = service
        store = Store()

        @rpc
        def note(self, stream_id, n):
            def decide(uow):
                uow.tx.append(stream_id, uow.tx.stream_version(stream_id),
                              [NewEvent("Noted", {"n": n})])
            self.store.command(decide)

    queue = bind_queue(amqp_uri, service, unique)
    config = {"AMQP_URI": amqp_uri, "ONEGRID_POLL_SECONDS": 0.02, "ONEGRID_LEASE_SECONDS": 2,
              f"{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{service}.sqlite"}
    with running(Source, Source, config=config) as replicas, rpc_client(config) as rpc_:
        keepers = [next(e for e in c.shared_extensions.values() if hasattr(e, "relay"))
                   for c in replicas]
        for n in range(60):
            getattr(rpc_, service).note(f"s-{n % 6}", n)  # calls land on either replica
        wait_until(lambda: all(k.store.get_position(f"relay:{service}") == 60 for k in keepers))
        publishers = [k.relay.published for k in keepers]
    numbers = sorted(json.loads(m.body)["payload"]["n"] for m in drain_queue(amqp_uri, queue))
    assert numbers == list(range(60))
    assert sorted(publishers) == [0, 60], "one replica's relay published everything"
