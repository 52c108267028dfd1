"""marshmallow schemas at the tickets service's boundary: command input, event payloads, queries.

- ``COMMAND_SCHEMAS``: command class -> schema. ``load`` validates raw input (errors name each
  bad field) and returns the command's kwargs; ``load_command`` builds the command.
- ``EVENT_SCHEMAS``: event class -> payload schema. ``dump`` gives a JSON-safe dict
  (datetimes ISO-8601 with offset); ``load`` returns the event dataclass's kwargs (tuples
  restored). ``dump_event(event, public=True)`` leaves out the private fields.
- ``REGISTRY``: the event types the service records, with their payload schemas.
Every event type is at schema version 1 (``SCHEMA_VERSION``); add upcasters when one changes.
``onegrid docs events`` renders docs/events.md from ``EVENT_SCHEMAS``.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from onegrid.domain import DomainEvent
from onegrid.registry import EventRegistry

from .domain import commands as c
from .domain import (EVENTS_BY_NAME, PRIVATE_FIELDS, AssigneeKind, CallbackRecorded, Channel,
                     DeadlineClass, ExtensionDenied, ExtensionGranted, ExtensionRequested,
                     Level, Rating, TicketAccepted, TicketCancelled, TicketClosed,
                     TicketDispatched, TicketEscalated, TicketMerged, TicketOpened,
                     TicketOverdue, TicketReopened, TicketResolved, TicketReturned,
                     TicketState, TicketSupervised)

SCHEMA_VERSION = 1

# A mainland mobile (optionally +86) or a landline with its area code (025-83123456).
PHONE = re.compile(r"^(?:(?:\+?86[- ]?)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?)$")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _text(max_length: int, *, required: bool = True) -> fields.String:
    checks = [validate.Length(max=max_length), _not_blank]
    if required:
        return fields.String(required=True, validate=checks)
    return fields.String(load_default=None, allow_none=True, validate=checks)


def _choice(enum, *, required: bool = True) -> fields.String:
    one_of = validate.OneOf([member.value for member in enum])
    if required:
        return fields.String(required=True, validate=one_of)
    return fields.String(load_default=None, allow_none=True, validate=one_of)


def _when(*, required: bool = True) -> fields.AwareDateTime:
    if required:
        return fields.AwareDateTime(format="iso", required=True)
    return fields.AwareDateTime(format="iso", load_default=None, allow_none=True)


def _id(*, required: bool = True) -> fields.String:
    return _text(100, required=required)


def _latitude() -> fields.Float:
    return fields.Float(load_default=None, allow_none=True,
                        validate=validate.Range(min=-90, max=90))


def _longitude() -> fields.Float:
    return fields.Float(load_default=None, allow_none=True,
                        validate=validate.Range(min=-180, max=180))


def _phone() -> fields.String:
    return fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        PHONE, error="Not a phone number: give a mobile (13812345678) or a landline with "
                     "its area code (025-83123456)."))


def _attachments() -> fields.List:
    return fields.List(fields.Url(schemes={"http", "https"}), load_default=())


class _Base(Schema):
    @post_load
    def _restore_tuples(self, data: dict, **kwargs) -> dict:
        if "attachments" in data:
            data["attachments"] = tuple(data["attachments"] or ())
        return data


# -- commands ----------------------------------------------------------------------------------

class _Command(_Base):
    ticket_id = _id()
    actor_id = _id()


class OpenTicketSchema(_Command):
    channel = _choice(Channel)
    category_code = _text(64)
    title = _text(200)
    description = _text(5000)
    street = _text(64)
    community = _text(64)
    lat = _latitude()
    lng = _longitude()
    address = _text(500, required=False)
    grid_code = _text(64, required=False)
    reporter_name = _text(100, required=False)
    reporter_phone = _phone()
    attachments = _attachments()

    @validates_schema
    def _location(self, data: dict, **kwargs) -> None:
        lat, lng = data.get("lat"), data.get("lng")
        if (lat is None) != (lng is None):
            missing = "lng" if lng is None else "lat"
            raise ValidationError("Give both lat and lng, or neither.", missing)
        if lat is None and not data.get("address") and not data.get("grid_code"):
            raise ValidationError(
                "Give a location: lat and lng, an address or a grid code.", "location")


class DispatchTicketSchema(_Command):
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()
    grid_code = _text(64, required=False)
    reason = _text(1000, required=False)


class AcceptTicketSchema(_Command):
    pass


class ReturnTicketSchema(_Command):
    reason = _text(1000)


class ResolveTicketSchema(_Command):
    resolution = _text(5000)


class RecordCallbackSchema(_Command):
    rating = _choice(Rating)
    comment = _text(2000, required=False)


class CloseTicketSchema(_Command):
    pass


class ReopenTicketSchema(_Command):
    reason = _text(1000)


class RequestExtensionSchema(_Command):
    reason = _text(1000)
    requested_deadline = _when()


class GrantExtensionSchema(_Command):
    new_deadline = _when(required=False)


class DenyExtensionSchema(_Command):
    reason = _text(1000)


class MarkOverdueSchema(_Base):
    ticket_ids = fields.List(_id(), required=True)

    @post_load
    def _tuple(self, data: dict, **kwargs) -> dict:
        data["ticket_ids"] = tuple(data["ticket_ids"])
        return data


class SuperviseTicketSchema(_Command):
    note = _text(2000)
    new_deadline = _when()


class EscalateTicketSchema(_Command):
    level = fields.String(required=True, validate=validate.OneOf(
        [Level.STREET.value, Level.DISTRICT.value]))
    reason = _text(1000)


class MergeTicketSchema(_Command):
    into_ticket_id = _id()

    @validates_schema
    def _not_itself(self, data: dict, **kwargs) -> None:
        if data.get("into_ticket_id") and data.get("into_ticket_id") == data.get("ticket_id"):
            raise ValidationError("A ticket cannot be merged into itself.", "into_ticket_id")


class CancelTicketSchema(_Command):
    reason = _text(1000, required=False)


class RecordDispatchDecisionSchema(_Base):
    """The fields of the grid service's ``DispatchDecided`` the tickets service uses."""

    ticket_id = _id()
    ticket_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()
    grid_code = _text(64, required=False)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    trigger = fields.String(load_default="opened", validate=validate.OneOf(
        ["opened", "returned", "worker_on_leave", "worker_left"]))
    actor_id = fields.String(load_default="grid")


COMMAND_SCHEMAS: dict[type, type[Schema]] = {
    c.OpenTicket: OpenTicketSchema, c.DispatchTicket: DispatchTicketSchema,
    c.AcceptTicket: AcceptTicketSchema, c.ReturnTicket: ReturnTicketSchema,
    c.ResolveTicket: ResolveTicketSchema, c.RecordCallback: RecordCallbackSchema,
    c.CloseTicket: CloseTicketSchema, c.ReopenTicket: ReopenTicketSchema,
    c.RequestExtension: RequestExtensionSchema, c.GrantExtension: GrantExtensionSchema,
    c.DenyExtension: DenyExtensionSchema, c.MarkOverdue: MarkOverdueSchema,
    c.SuperviseTicket: SuperviseTicketSchema, c.EscalateTicket: EscalateTicketSchema,
    c.MergeTicket: MergeTicketSchema, c.CancelTicket: CancelTicketSchema,
    c.RecordDispatchDecision: RecordDispatchDecisionSchema,
}


def load_command(command_class: type, data: dict):
    """Validate raw input into a command; raises marshmallow.ValidationError naming bad fields."""
    return command_class(**COMMAND_SCHEMAS[command_class]().load(data))


# -- event payloads ----------------------------------------------------------------------------

class _Event(_Base):
    ticket_id = _id()
    at = _when()


class _ActedEvent(_Event):
    actor_id = _id()


class TicketOpenedSchema(_ActedEvent):
    node_id = _id()
    channel = _choice(Channel)
    category_code = _text(64)
    department = _text(64)
    deadline_class = _choice(DeadlineClass)
    title = _text(200)
    description = _text(5000)
    lat = _latitude()
    lng = _longitude()
    address = _text(500, required=False)
    grid_code = _text(64, required=False)
    street = _text(64)
    community = _text(64)
    # Private: absent from public payloads, so they load as None there.
    reporter_name = _text(100, required=False)
    reporter_phone = fields.String(load_default=None, allow_none=True)
    attachments = fields.List(fields.String(), load_default=())
    deadline = _when()


class TicketDispatchedSchema(_ActedEvent):
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()
    grid_code = _text(64, required=False)
    reason = _text(1000, required=False)


class TicketAcceptedSchema(_ActedEvent):
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()


class TicketReturnedSchema(_ActedEvent):
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()
    reason = _text(1000)


class TicketResolvedSchema(_ActedEvent):
    resolution = _text(5000)
    deadline = _when()
    on_time = fields.Boolean(required=True)


class CallbackRecordedSchema(_ActedEvent):
    rating = _choice(Rating)
    comment = _text(2000, required=False)


class TicketClosedSchema(_ActedEvent):
    rating = _choice(Rating)
    on_time = fields.Boolean(required=True)


class TicketReopenedSchema(_ActedEvent):
    reason = _text(1000)
    assignee_kind = _choice(AssigneeKind)
    assignee_id = _id()
    deadline = _when()


class ExtensionRequestedSchema(_ActedEvent):
    reason = _text(1000)
    current_deadline = _when()
    requested_deadline = _when()


class ExtensionGrantedSchema(_ActedEvent):
    previous_deadline = _when()
    new_deadline = _when()


class ExtensionDeniedSchema(_ActedEvent):
    reason = _text(1000)


class TicketOverdueSchema(_Event):
    deadline = _when()
    assignee_kind = _choice(AssigneeKind, required=False)
    assignee_id = _id(required=False)


class TicketSupervisedSchema(_ActedEvent):
    note = _text(2000)
    previous_deadline = _when()
    new_deadline = _when()


class TicketEscalatedSchema(_ActedEvent):
    level = _choice(Level)
    reason = _text(1000)


class TicketMergedSchema(_ActedEvent):
    into_ticket_id = _id()


class TicketCancelledSchema(_ActedEvent):
    reason = _text(1000, required=False)


EVENT_SCHEMAS: dict[type[DomainEvent], type[Schema]] = {
    TicketOpened: TicketOpenedSchema, TicketDispatched: TicketDispatchedSchema,
    TicketAccepted: TicketAcceptedSchema, TicketReturned: TicketReturnedSchema,
    TicketResolved: TicketResolvedSchema, CallbackRecorded: CallbackRecordedSchema,
    TicketClosed: TicketClosedSchema, TicketReopened: TicketReopenedSchema,
    ExtensionRequested: ExtensionRequestedSchema, ExtensionGranted: ExtensionGrantedSchema,
    ExtensionDenied: ExtensionDeniedSchema, TicketOverdue: TicketOverdueSchema,
    TicketSupervised: TicketSupervisedSchema, TicketEscalated: TicketEscalatedSchema,
    TicketMerged: TicketMergedSchema, TicketCancelled: TicketCancelledSchema,
}


REGISTRY = EventRegistry("tickets")
REGISTRY.register_all(EVENT_SCHEMAS)


def dump_event(event: DomainEvent, *, public: bool = False) -> dict:
    """Serialise an event's payload to a JSON-safe dict; ``public`` drops the private fields."""
    payload = EVENT_SCHEMAS[type(event)]().dump(event)
    if public:
        for name in PRIVATE_FIELDS.get(event.event_type(), ()):
            payload.pop(name, None)
    return payload


def load_event(event_type: str, payload: dict) -> DomainEvent:
    """Validate a stored or received payload and rebuild its event dataclass."""
    event_class = EVENTS_BY_NAME[event_type]
    return event_class(**EVENT_SCHEMAS[event_class]().load(payload))


# -- queries -----------------------------------------------------------------------------------

class _OneOrMany(fields.List):
    """A list field that also takes a single value (``state="opened"``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (str, bytes)):
            value = [value]
        return super()._deserialize(value, attr, data, **kwargs)


class ListTicketsSchema(Schema):
    """Filters and paging of ``list_tickets``; every filter is optional and they combine (AND)."""

    state = _OneOrMany(fields.String(validate=validate.OneOf([s.value for s in TicketState])),
                       load_default=None, metadata={"description": "one state or a list"})
    channel = _OneOrMany(fields.String(validate=validate.OneOf([c.value for c in Channel])),
                         load_default=None)
    category = _text(64, required=False)
    street = _text(64, required=False)
    community = _text(64, required=False)
    grid = _text(64, required=False)
    worker = _text(100, required=False)
    department = _text(64, required=False)
    overdue = fields.Boolean(load_default=None, allow_none=True)
    opened_from = _when(required=False)
    opened_to = _when(required=False)
    cursor = fields.String(load_default=None, allow_none=True)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def _range(self, data: dict, **kwargs) -> None:
        start, end = data.get("opened_from"), data.get("opened_to")
        if start and end and end <= start:
            raise ValidationError("Must be after opened_from.", "opened_to")


class RatesQuerySchema(Schema):
    """Scope and period of ``rates``: tickets opened in [period_start, period_end)."""

    level = fields.String(required=True, validate=validate.OneOf(
        ["grid", "community", "street", "district"]))
    code = _text(64, required=False)
    period_start = _when()
    period_end = _when()
    now = _when(required=False)

    @validates_schema
    def _scope(self, data: dict, **kwargs) -> None:
        errors = {}
        if data.get("level") not in (None, "district") and not data.get("code"):
            errors["code"] = [f"A {data['level']} scope needs a code."]
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end <= start:
            errors["period_end"] = ["Must be after period_start."]
        if errors:
            raise ValidationError(errors)
