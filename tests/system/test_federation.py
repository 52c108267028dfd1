"""deploy/rabbitmq: a street node's events reach the district node through RabbitMQ federation.

Two virtual hosts on the test broker stand for the two nodes' brokers. The district imports
deploy/rabbitmq/district.definitions.json with the Shazhou upstream pointed at the street's
vhost; nothing of ours relays between them.
"""
import json
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from onegrid.envelope import NewEvent
from onegrid.relay import Relay
from onegrid.store.sql import SqlEventStore
from onegrid.testing import wait_until

pytestmark = pytest.mark.broker
DEFINITIONS = Path(__file__).resolve().parents[2] / "deploy" / "rabbitmq"


def test_shazhou_ticket_events_reach_the_district_on_their_own_exchange(vhosts, unique, tmp_path):
    street_vhost, district_vhost = f"shazhou-{unique}", f"district-{unique}"
    street_uri, district_uri = vhosts(street_vhost), vhosts(district_vhost)
    admin = vhosts.admin
    admin.import_definitions(street_vhost, json.loads((DEFINITIONS / "node.definitions.json").read_text()))
    admin.import_definitions(district_vhost, json.loads((DEFINITIONS / "node.definitions.json").read_text()))
    district = json.loads((DEFINITIONS / "district.definitions.json").read_text())
    district["parameters"] = [p for p in district["parameters"] if p["name"] == "shazhou-tickets"]
    district["parameters"][0]["value"]["uri"] = street_uri  # the street node's broker
    district["policies"] = [p for p in district["policies"] if p["name"] == "onegrid-federate-shazhou-tickets"]
    district["exchanges"] = [e for e in district["exchanges"] if e["name"] == "shazhou.tickets.events"]
    admin.import_definitions(district_vhost, district)

    # a district dashboard's queue on the federated exchange
    federated = Exchange("shazhou.tickets.events", type="topic", durable=True)
    dashboard = Queue(f"dashboard-{unique}", exchange=federated, routing_key="#", durable=False,
                      auto_delete=False)
    # and a queue on the district's own tickets.events, which street events must not reach
    own = Queue(f"own-{unique}", exchange=Exchange("tickets.events", type="topic", durable=True),
                routing_key="#", durable=False, auto_delete=False)
    with Connection(district_uri) as conn:
        dashboard(conn.default_channel).declare()
        own(conn.default_channel).declare()
    # the link is up once its queue on the street's broker is bound to tickets.events with
    # the dashboard's binding (federation propagates bindings a moment after they are made)
    wait_until(lambda: any(src == "tickets.events" and dest.startswith("federation:")
                           and key == "#" for src, dest, key in admin.bindings(street_vhost)),
               timeout=60, message="the federation link did not start (rabbitmq_federation enabled?)")

    store = SqlEventStore(f"sqlite:///{tmp_path}/tickets.sqlite", node_id="shazhou")
    store.append("t-1", 0, [NewEvent("TicketOpened", {"title": "Stairwell 3 not cleaned"})])
    relay = Relay(store, street_uri, "tickets")
    assert relay.drain() == 1
    relay.close()

    def received():
        with Connection(district_uri) as conn:
            message = conn.default_channel.basic_get(dashboard.name, no_ack=True)
            return message and json.loads(message.body)

    body = wait_until(received, timeout=30, message="the event never reached the district")
    assert (body["node_id"], body["event_type"], body["payload"]["title"]) == (
        "shazhou", "TicketOpened", "Stairwell 3 not cleaned")
    # the district's own services never mistake a street's event for one of their own
    with Connection(district_uri) as conn:
        assert conn.default_channel.basic_get(own.name, no_ack=True) is None
    store.close()
