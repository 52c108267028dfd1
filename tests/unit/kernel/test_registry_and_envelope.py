"""Envelopes, schemas and upcasters: stored events are never edited, only lifted when read."""
import dataclasses
import datetime as dt

import pytest
from marshmallow import Schema, fields, validate

from onegrid.domain import DomainEvent
from onegrid.envelope import Actor, Envelope, NewEvent, new_event_id
from onegrid.registry import EventRegistry, InvalidEvent, UnknownEventType
from onegrid.store.memory import InMemoryEventStore


@dataclasses.dataclass(frozen=True)
class WorkerEnrolled(DomainEvent):
    worker_id: str
    name: str
    post_level: int


class WorkerEnrolledV2(Schema):
    worker_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1))
    post_level = fields.Integer(required=True, validate=validate.Range(1, 5))


def v1_to_v2(payload):
    """v1 had one ``full_name`` and no post level; level 1 was the only level then."""
    payload["name"] = payload.pop("full_name")
    payload.setdefault("post_level", 1)
    return payload


def registry():
    r = EventRegistry("grid")
    r.register("WorkerEnrolled", WorkerEnrolledV2, version=2, upcasters={1: v1_to_v2},
               event_class=WorkerEnrolled)
    return r


def test_an_old_stored_event_is_upcast_when_read_and_the_store_keeps_it_as_it_was():
    store = InMemoryEventStore()
    store.append("w-1", 0, [NewEvent("WorkerEnrolled", {"worker_id": "w-1", "full_name": "Li Wei"},
                                     schema_version=1)])
    stored = store.read_stream("w-1")[0]
    event = registry().to_domain(stored)
    assert event == WorkerEnrolled(worker_id="w-1", name="Li Wei", post_level=1)
    assert store.read_stream("w-1")[0].payload == {"worker_id": "w-1", "full_name": "Li Wei"}
    assert store.read_stream("w-1")[0].schema_version == 1


def test_a_new_event_is_written_at_the_current_schema_version():
    new = registry().to_new_event(WorkerEnrolled("w-2", "Wang Fang", 3), actor=Actor("hr-1", "street_staff"))
    assert new.schema_version == 2 and new.event_type == "WorkerEnrolled"
    assert new.payload == {"worker_id": "w-2", "name": "Wang Fang", "post_level": 3}
    assert new.actor == Actor("hr-1", "street_staff")


def test_a_bad_payload_is_refused_naming_each_field():
    with pytest.raises(InvalidEvent) as err:
        registry().validate("WorkerEnrolled", {"worker_id": "w-3", "name": "", "post_level": 9})
    assert set(err.value.errors) == {"name", "post_level"}


def test_registering_a_version_without_every_upcaster_is_refused():
    with pytest.raises(ValueError, match="upcasters from versions \\[1, 2\\]"):
        EventRegistry().register("X", WorkerEnrolledV2, version=3)


def test_an_unknown_event_type_is_a_typed_error():
    with pytest.raises(UnknownEventType):
        registry().validate("Nope", {})


def test_event_ids_are_uuid7_and_ordered_by_birth():
    ids = [new_event_id() for _ in range(50)]
    assert all(i[14] == "7" for i in ids)  # the version nibble
    assert ids == sorted(ids) and len(set(ids)) == 50


def test_an_envelope_survives_its_message_form():
    store = InMemoryEventStore(node_id="shazhou")
    when = dt.datetime(2026, 3, 2, 8, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    [stored] = store.append("w-1", 0, [NewEvent("WorkerEnrolled", {"a": 1}, occurred_at=when,
                                                 actor=Actor("op", "hotline_operator"))])
    again = Envelope.from_message(stored.to_message())
    assert again == stored


def test_a_message_missing_a_field_is_refused_by_name():
    with pytest.raises(ValueError, match="'stream_id'"):
        Envelope.from_message({"event_id": "x"})


def test_a_naive_occurred_at_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        NewEvent("X", {}, occurred_at=dt.datetime(2026, 1, 1))
