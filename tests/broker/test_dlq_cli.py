"""`onegrid dlq list|replay` show and resend what a service failed to handle."""
import json

import amqp
import pytest
from click.testing import CliRunner
from kombu import Connection, Queue

from onegrid.cli import main
from onegrid.runtime.consume import dead_letter_queue

pytestmark = pytest.mark.broker


def dead_letter(amqp_uri, service, event_id, origin_queue):
    body = json.dumps({"event_id": event_id, "event_type": "TicketOpened", "stream_id": "t-1",
                       "version": 1}).encode()
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        Queue(dead_letter_queue(service), durable=True)(channel).declare()
        Queue(origin_queue, durable=True)(channel).declare()
        channel.basic_publish(amqp.Message(body, content_type="application/json", application_headers={
            "x-onegrid-attempts": 5, "x-onegrid-queue": origin_queue,
            "x-onegrid-source": "tickets", "x-onegrid-error": "RuntimeError: boom"}),
            exchange="", routing_key=dead_letter_queue(service))


def test_list_shows_dead_letters_and_replay_sends_the_chosen_one_back(amqp_uri, unique, monkeypatch):
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    service, origin = f"grid{unique}", f"evt-tickets--grid{unique}"
    dead_letter(amqp_uri, service, "e-1", origin)
    dead_letter(amqp_uri, service, "e-2", origin)
    runner = CliRunner()
    listed = runner.invoke(main, ["dlq", "list", service, "--json"])
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.output)
    assert [(l["event_id"], l["attempts"], l["error"]) for l in letters] == [
        ("e-1", 5, "RuntimeError: boom"), ("e-2", 5, "RuntimeError: boom")]
    replayed = runner.invoke(main, ["dlq", "replay", service, "--event-id", "e-2"])
    assert replayed.exit_code == 0 and "replayed 1" in replayed.output
    left = json.loads(runner.invoke(main, ["dlq", "list", service, "--json"]).output)
    assert [l["event_id"] for l in left] == ["e-1"]
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        message = channel.basic_get(origin, no_ack=True)
        assert json.loads(message.body)["event_id"] == "e-2"
        assert message.headers["x-onegrid-attempts"] == 0
        Queue(origin)(channel).delete()
        Queue(dead_letter_queue(service))(channel).delete()
