"""The boundary: command input validation and event payloads that survive JSON both ways."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from onegrid.eventdocs import service_events_markdown
from onegrid.registry import EventRegistry
from onegrid.testing import CST
from services.tickets.domain import (EVENT_TYPES, AssigneeKind, Channel, DeadlineClass, Level,
                                     Rating, TicketOpened)
from services.tickets.domain import commands as c
from services.tickets.schemas import (COMMAND_SCHEMAS, EVENT_SCHEMAS, dump_event, load_command,
                                      load_event)

from .helpers import opened_ticket

GOOD_OPEN = {
    "ticket_id": "t-1", "actor_id": "operator-1", "channel": "hotline_12345",
    "category_code": "noise_nuisance", "title": "Karaoke at night",
    "description": "Loud singing after 23:00 every night", "street": "shazhou",
    "community": "zhongcheng", "lat": 32.01, "lng": 118.72, "address": "12 Lushan Rd",
    "reporter_name": "Li Ming", "reporter_phone": "13912345678",
    "attachments": ["https://files.example/noise.mp3"],
}


def test_every_event_and_every_command_has_a_schema():
    assert set(EVENT_SCHEMAS) == set(EVENT_TYPES)
    assert set(COMMAND_SCHEMAS) == set(c.COMMAND_TYPES)


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_an_event_schema_has_exactly_the_fields_of_its_dataclass(event_class):
    names = {f.name for f in dataclasses.fields(event_class)}
    assert set(EVENT_SCHEMAS[event_class]().fields) == names


@pytest.mark.parametrize("command_class", c.COMMAND_TYPES, ids=lambda cls: cls.__name__)
def test_a_command_schema_has_exactly_the_fields_of_its_command(command_class):
    names = {f.name for f in dataclasses.fields(command_class)}
    assert set(COMMAND_SCHEMAS[command_class]().fields) == names


def test_a_good_open_ticket_input_becomes_a_command_with_a_tuple_of_attachments():
    command = load_command(c.OpenTicket, GOOD_OPEN)
    assert command.attachments == ("https://files.example/noise.mp3",)
    assert command.grid_code is None


def refused(command: type, data: dict) -> dict:
    """The messages of the ValidationError that loading ``data`` as ``command`` raises."""
    with pytest.raises(ValidationError) as error:
        load_command(command, data)
    return error.value.messages


def test_bad_input_gets_an_error_naming_each_bad_field_and_why():
    bad = {**GOOD_OPEN, "channel": "fax", "lat": 91, "lng": -181, "title": "   ",
           "reporter_phone": "12345", "attachments": ["ftp://x"]}
    del bad["street"]
    messages = refused(c.OpenTicket, bad)
    assert set(messages) == {"channel", "lat", "lng", "title", "reporter_phone", "attachments",
                             "street"}
    assert "hotline_12345" in messages["channel"][0]
    assert "Missing data" in messages["street"][0]


@pytest.mark.parametrize("phone", ["13812345678", "+8613812345678", "025-83123456",
                                   "02583123456"])
def test_mobile_and_landline_numbers_are_accepted(phone):
    assert load_command(c.OpenTicket, {**GOOD_OPEN, "reporter_phone": phone})


def test_a_ticket_needs_some_location():
    data = {k: v for k, v in GOOD_OPEN.items() if k not in {"lat", "lng", "address"}}
    assert "location" in refused(c.OpenTicket, data)
    assert load_command(c.OpenTicket, {**data, "grid_code": "SZ-ZC-03"}).grid_code == "SZ-ZC-03"


def test_lat_without_lng_is_refused_naming_lng():
    assert "lng" in refused(c.OpenTicket, {**GOOD_OPEN, "lng": None})


def test_a_callback_rating_must_be_one_of_the_three_answers():
    data = {"ticket_id": "t", "actor_id": "a", "rating": "great"}
    assert "rating" in refused(c.RecordCallback, data)


def test_a_deadline_in_a_command_must_carry_its_offset():
    data = {"ticket_id": "t", "actor_id": "a", "note": "hurry",
            "new_deadline": "2026-03-06T18:00:00"}
    assert "new_deadline" in refused(c.SuperviseTicket, data)
    loaded = load_command(c.SuperviseTicket, {**data, "new_deadline": "2026-03-06T18:00:00+08:00"})
    assert loaded.new_deadline == dt.datetime(2026, 3, 6, 18, tzinfo=CST)


def test_unknown_input_fields_are_refused_by_name():
    data = {"ticket_id": "t", "actor_id": "a", "urgent": True}
    assert "urgent" in refused(c.AcceptTicket, data)


def test_merging_a_ticket_into_itself_is_refused_at_the_boundary():
    data = {"ticket_id": "t", "actor_id": "a", "into_ticket_id": "t"}
    assert "into_ticket_id" in refused(c.MergeTicket, data)


def test_an_opened_event_dumps_to_json_with_iso_offsets_and_loads_back_equal():
    event = opened_ticket("t-9").opened
    assert isinstance(event, TicketOpened)
    payload = dump_event(event)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["at"] == "2026-03-02T09:00:00+08:00"
    assert payload["attachments"] == ["https://files.example/a.jpg"]
    assert load_event("TicketOpened", payload) == event


def test_a_public_payload_has_no_reporter_and_still_loads():
    event = opened_ticket("t-9").opened
    public = dump_event(event, public=True)
    assert "reporter_name" not in public and "reporter_phone" not in public
    assert "Wang Fang" not in json.dumps(public, ensure_ascii=False)
    loaded = load_event("TicketOpened", public)
    assert (loaded.reporter_name, loaded.reporter_phone) == (None, None)
    assert loaded.title == event.title


def test_the_kernel_registry_takes_the_schemas_table_as_it_is():
    registry = EventRegistry("tickets")
    registry.register_all(EVENT_SCHEMAS)
    event = opened_ticket("t-9").opened
    new_event = registry.to_new_event(event)
    assert new_event.event_type == "TicketOpened"
    assert registry.validate("TicketOpened", new_event.payload) == new_event.payload


# -- every event round-trips, with generated field values ---------------------------------------

WHEN = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31),
                    timezones=st.sampled_from([CST, dt.timezone.utc]))
TEXT = st.text(min_size=1, max_size=40).filter(str.strip)
CHOICES = {
    "channel": Channel, "deadline_class": DeadlineClass, "assignee_kind": AssigneeKind,
    "rating": Rating, "level": Level,
}


def _strategy(name: str, hint) -> st.SearchStrategy:
    optional = type(None) in typing.get_args(hint)
    if optional:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if name in CHOICES:
        base = st.sampled_from([member.value for member in CHOICES[name]])
    elif name == "lat":
        base = st.floats(-90, 90, allow_nan=False)
    elif name == "lng":
        base = st.floats(-180, 180, allow_nan=False)
    elif hint is dt.datetime:
        base = WHEN
    elif hint is bool:
        base = st.booleans()
    elif hint == tuple[str, ...]:
        base = st.lists(TEXT, max_size=3).map(tuple)
    else:
        base = TEXT
    return st.one_of(st.none(), base) if optional else base


def _events(event_class) -> st.SearchStrategy:
    hints = typing.get_type_hints(event_class)
    return st.builds(event_class, **{f.name: _strategy(f.name, hints[f.name])
                                     for f in dataclasses.fields(event_class)})


@pytest.mark.parametrize("event_class", EVENT_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_event_round_trips_through_json_to_an_equal_dataclass(event_class, data):
    event = data.draw(_events(event_class))
    payload = json.loads(json.dumps(dump_event(event)))
    assert load_event(event_class.__name__, payload) == event


def test_the_events_page_lists_every_event_and_marks_the_private_fields():
    page = "\n".join(service_events_markdown("tickets"))
    for event_class in EVENT_TYPES:
        assert f"## {event_class.__name__}\n" in page
    assert "| `reporter_phone` | string | no | **private" in page
