"""Schemas at the boundary: commands name every bad field; every event round-trips."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from onegrid.envelope import Envelope, utcnow
from onegrid.registry import EventRegistry
from onegrid.testing import CST
from services.grid.domain import commands as c
from services.grid.domain import events as ev
from services.grid.schemas import (COMMAND_SCHEMAS, EVENT_SCHEMAS, DispatchTicket, DrawGrid,
                                   GrantLeave, PostWorker, StartPatrol)

AT = dt.datetime(2024, 5, 6, 9, 30, tzinfo=CST)
DAY = dt.date(2024, 5, 6)
RING = ((118.70, 32.0), (118.71, 32.0), (118.71, 32.01), (118.70, 32.0))

SAMPLES = [
    ev.StreetRegistered("shazhou", "Shazhou", "沙洲", RING),
    ev.CommunityRegistered("shazhou-zhongcheng", "shazhou", "Zhongcheng", "中城", RING),
    ev.GridDrawn("shazhou-zhongcheng-01", "shazhou-zhongcheng", "shazhou", "dedicated", "school", RING),
    ev.GridDrawn("shazhou-zhongcheng-02", "shazhou-zhongcheng", "shazhou", "comprehensive", None, RING),
    ev.CommunityGridDesignated("shazhou-zhongcheng", "shazhou-zhongcheng-02"),
    ev.DepartmentRegistered("fire_protection", "Fire protection", "消防"),
    ev.DepartmentCategoriesSet("fire_protection", ("blocked_fire_escape", "fire_hazard")),
    ev.WorkerEnrolled("w0001", "shazhou-zhongcheng", "Wang Wei"),
    ev.WorkerPosted("w0001", "shazhou-zhongcheng-01", "A"),
    ev.WorkerMoved("w0001", "shazhou-zhongcheng-01", "A", "shazhou-zhongcheng-02", "B"),
    ev.LeaveGranted("w0001", DAY),
    ev.WorkerLeft("w0001", DAY, "retired"),
    ev.PatrolStarted("p1", "shazhou-zhongcheng-01", "w0001", AT, 32.005, 118.705, False),
    ev.PatrolFinished("p1", "shazhou-zhongcheng-01", "w0001", AT, 32.5, 118.705, True),
    ev.PatrolMissed("shazhou-zhongcheng-01", DAY, "morning"),
    ev.ProblemReported("pr1", "p1", "shazhou-zhongcheng-01", "w0001", AT, "road_damage",
                       "pothole by gate 3", 32.005, 118.705),
    ev.DispatchDecided("t1", 1, "worker", "w0001", "shazhou-zhongcheng-01", "shazhou-zhongcheng",
                       "shazhou", "post_a", "A post w0001 is on duty", 1),
    ev.DispatchDecided("t2", 3, "street", "shazhou", None, None, "shazhou", "street_office",
                       "outside every grid", 1),
]


def test_every_event_has_a_schema_and_a_sample():
    assert set(EVENT_SCHEMAS) == set(ev.ALL_EVENTS) == {type(e) for e in SAMPLES}


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_json(event):
    schema = EVENT_SCHEMAS[type(event)]()
    payload = schema.dump(event.fields())
    assert json.loads(json.dumps(payload)) == payload
    assert type(event)(**schema.load(json.loads(json.dumps(payload)))) == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_the_kernel_registry(event):
    registry = EventRegistry("grid")
    registry.register_all(EVENT_SCHEMAS)
    new = registry.to_new_event(event)
    envelope = Envelope(new.event_id, "s", 1, new.event_type, new.schema_version, new.payload,
                        new.occurred_at, utcnow(), "shazhou", new.event_id, None, "system", "system")
    assert registry.to_domain(Envelope.from_message(json.loads(json.dumps(envelope.to_message())))) == event


@pytest.mark.parametrize("schema, data, field, words", [
    (PostWorker, {"worker_id": "w", "community_code": "c", "grid_code": "g", "post": "C"},
     "post", "unknown post 'C'"),
    (StartPatrol, {"patrol_id": "p", "grid_code": "g", "worker_id": "w", "at": AT.isoformat(),
                   "lat": 118.7, "lng": 32.0}, "lat", "lat 118.7 is out of range"),
    (StartPatrol, {"patrol_id": "p", "grid_code": "g", "worker_id": "w",
                   "at": "2024-05-06T09:30:00", "lat": 32.0, "lng": 118.7}, "at", "timezone"),
    (DrawGrid, {"grid_code": "g", "community_code": "c", "kind": "comprehensive",
                "boundary": [[118.70, 32.0], [118.71, 32.0], [118.71, 32.01]]},
     "boundary", "polygon does not close"),
    (DrawGrid, {"grid_code": "g", "community_code": "c", "kind": "round",
                "boundary": list(map(list, RING))}, "kind", "unknown grid kind 'round'"),
    (GrantLeave, {"worker_id": "w", "community_code": "c", "day": "tomorrow"}, "day", "date"),
    (DispatchTicket, {"ticket_id": "t", "ticket_version": 0, "category_code": "noise",
                      "day": "2024-05-06"}, "ticket_version", "greater than or equal to 1"),
], ids=["an unknown post", "lat out of range", "a naive time", "a polygon that does not close",
        "an unknown grid kind", "a day that is not a date", "a ticket version below one"])
def test_a_bad_command_names_its_bad_field(schema, data, field, words):
    errors = schema().validate(data)
    assert list(errors) == [field]
    assert words.lower() in " ".join(errors[field]).lower()


def test_a_command_missing_fields_names_each_of_them():
    assert set(PostWorker().validate({})) == {"worker_id", "community_code", "grid_code", "post"}


def test_a_good_command_loads_into_handler_keyword_arguments():
    loaded = DrawGrid().load({"grid_code": "g", "community_code": "c", "kind": "dedicated",
                              "purpose": "market",
                              "boundary": "POLYGON ((118.70 32.0, 118.71 32.0, 118.71 32.01, 118.70 32.0))"})
    assert loaded["boundary"] == RING
    ticket = DispatchTicket().load({"ticket_id": "t", "ticket_version": 2, "category_code": "noise",
                                    "day": "2024-05-06", "exclude_workers": ["w1"]})
    from services.grid.domain.dispatch_rule import TicketFacts
    assert TicketFacts(**{**ticket, "exclude_workers": frozenset(ticket["exclude_workers"])}).day == DAY


def test_every_command_schema_is_listed():
    from services.grid.handlers import COMMANDS
    assert c.PostWorker in COMMAND_SCHEMAS and len(COMMAND_SCHEMAS) == 16
    assert set(COMMAND_SCHEMAS) == set(COMMANDS)  # every command can be loaded and run


def test_a_command_sent_by_an_actor_loads_into_its_command_without_the_actor_id():
    from onegrid.inputs import actor_from, load_input
    from onegrid.runtime.commands import takes_actor_id
    fields = {"worker_id": "w", "community_code": "c", "grid_code": "g", "post": "A"}
    # the kernel fills the actor's id only into a schema that has an actor_id; PostWorker has none
    actor = actor_from({"id": "op-1", "role": "street_admin"},
                       fields if takes_actor_id(PostWorker) else None)
    assert "actor_id" not in fields and actor.id == "op-1"
    assert c.PostWorker(**load_input(PostWorker, fields)) == c.PostWorker("w", "c", "g", "A")
