"""marshmallow schemas at the grid service's boundary: commands, queries, event payloads.

Command schemas ``load`` RPC/HTTP input into the fields of a command dataclass
(``domain/commands.py``) and name every bad field; ``COMMAND_SCHEMAS`` maps each command to
its schema. Query schemas (``Locate``, ``Roster``, ``DispatchTicket``) check a read's input.
Event schemas ``dump`` an event's ``fields()`` into a JSON-safe payload and ``load`` a payload
back into the event dataclass's keyword arguments; ``EVENT_SCHEMAS`` maps each event class to
its schema, and ``REGISTRY`` holds them all.
Boundaries travel as ``[[lng, lat], ...]`` (a closed ring) or as WKT ``POLYGON ((lng lat, ...))``.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate

from onegrid.registry import EventRegistry

from .domain import commands as c
from .domain import events as ev
from .domain.errors import InvalidBoundary
from .domain.rings import as_ring


class Boundary(fields.Field):
    """A closed ring: loads from ``[[lng, lat], ...]`` or WKT; dumps as ``[[lng, lat], ...]``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return [[float(lng), float(lat)] for lng, lat in value]

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return as_ring(value, what=attr or "boundary")
        except InvalidBoundary as error:
            raise ValidationError(str(error)) from None


class StringTuple(fields.List):
    """A list of strings that loads as a tuple (event dataclasses are frozen and hashable)."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(validate=validate.Length(min=1)), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return tuple(super()._deserialize(value, attr, data, **kwargs))


def _code(**kw):
    return fields.String(required=True, validate=validate.Length(min=1, max=100), **kw)


def _optional_code():
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


def _text(**kw):
    return fields.String(required=True, **kw)


def _lat():
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(
        -90, 90, error="lat {input} is out of range: it must lie within -90..90"))


def _lng():
    return fields.Float(required=True, allow_nan=False, validate=validate.Range(
        -180, 180, error="lng {input} is out of range: it must lie within -180..180"))


def _post():
    return fields.String(required=True, validate=validate.OneOf(
        ev.POSTS, error="unknown post {input!r}: a grid has an A post and a B post"))


def _kind():
    return fields.String(required=True, validate=validate.OneOf(
        ev.GRID_KINDS, error="unknown grid kind {input!r}: use comprehensive or dedicated"))


def _at():
    return fields.AwareDateTime(required=True, error_messages={
        "invalid_awareness": "not a timezone-aware time: give an ISO 8601 time with its offset, "
                             "e.g. 2024-05-06T09:30:00+08:00"})


def _day():
    return fields.Date(required=True)


# --- commands ----------------------------------------------------------------------------------

class _Command(Schema):
    """A command's fields (who acts is the envelope's, so grid's commands don't carry it)."""


class RegisterStreet(_Command):
    street_code = _code()
    name = _text()
    name_zh = fields.String(load_default="")
    boundary = Boundary(required=True)


class RegisterCommunity(_Command):
    community_code = _code()
    street_code = _code()
    name = _text()
    name_zh = fields.String(load_default="")
    boundary = Boundary(required=True)


class DrawGrid(_Command):
    grid_code = _code()
    community_code = _code()
    kind = _kind()
    purpose = fields.String(load_default=None, allow_none=True)
    boundary = Boundary(required=True)


class DesignateGrid(_Command):
    community_code = _code()
    grid_code = _code()


class RegisterDepartment(_Command):
    department_code = _code()
    name = _text()
    name_zh = fields.String(load_default="")


class SetDepartmentCategories(_Command):
    department_code = _code()
    categories = StringTuple(required=True)


class EnrollWorker(_Command):
    worker_id = _code()
    community_code = _code()
    name = _text()


class PostWorker(_Command):
    worker_id = _code()
    community_code = _code()
    grid_code = _code()
    post = _post()


class MoveWorker(_Command):
    worker_id = _code()
    community_code = _code()
    from_grid = _code()
    to_grid = _code()
    to_post = _post()


class GrantLeave(_Command):
    worker_id = _code()
    community_code = _code()
    day = _day()


class RecordWorkerLeft(_Command):
    worker_id = _code()
    community_code = _code()
    day = _day()
    reason = _text()


class StartPatrol(_Command):
    patrol_id = _code()
    grid_code = _code()
    worker_id = _code()
    at = _at()
    lat = _lat()
    lng = _lng()


class FinishPatrol(_Command):
    patrol_id = _code()
    at = _at()
    lat = _lat()
    lng = _lng()


class ReportProblem(_Command):
    patrol_id = _code()
    problem_id = _code()
    at = _at()
    category_code = _code()
    description = _text()
    lat = _lat()
    lng = _lng()


class ReassignTickets(_Command):
    worker_id = _code()
    day = _day()
    trigger = fields.String(required=True, validate=validate.OneOf(("worker_on_leave", "worker_left")))


class _Round(fields.Tuple):
    """A (grid code, day, window) round that loads as a tuple."""

    def __init__(self, **kwargs):
        super().__init__((_code(), _day(), _code()), **kwargs)


class RecordMissedPatrols(_Command):
    rounds = fields.List(_Round(), required=True)

    @post_load
    def _as_tuple(self, data, **kwargs):
        data["rounds"] = tuple(data["rounds"])
        return data


# --- queries -------------------------------------------------------------------------------------

class Locate(Schema):
    lat = _lat()
    lng = _lng()


class Roster(Schema):
    community_code = _code()
    day = _day()


class DispatchTicket(Schema):
    """The facts of a ticket to dispatch (``services.grid.dispatch.TicketFacts``)."""

    ticket_id = _code()
    ticket_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    category_code = _code()
    day = _day()
    grid_code = _optional_code()
    lat = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                       validate=validate.Range(-90, 90, error="lat {input} is out of range: it must lie within -90..90"))
    lng = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                       validate=validate.Range(-180, 180, error="lng {input} is out of range: it must lie within -180..180"))
    community_code = _optional_code()
    street_code = _optional_code()
    exclude_workers = StringTuple(load_default=())


COMMAND_SCHEMAS: dict[type, type[Schema]] = {
    c.RegisterStreet: RegisterStreet, c.RegisterCommunity: RegisterCommunity,
    c.DrawGrid: DrawGrid, c.DesignateGrid: DesignateGrid,
    c.RegisterDepartment: RegisterDepartment, c.SetDepartmentCategories: SetDepartmentCategories,
    c.EnrollWorker: EnrollWorker, c.PostWorker: PostWorker, c.MoveWorker: MoveWorker,
    c.GrantLeave: GrantLeave, c.RecordWorkerLeft: RecordWorkerLeft,
    c.ReassignTickets: ReassignTickets, c.StartPatrol: StartPatrol,
    c.FinishPatrol: FinishPatrol, c.ReportProblem: ReportProblem,
    c.RecordMissedPatrols: RecordMissedPatrols,
}


# --- event payloads ----------------------------------------------------------------------------

class StreetRegisteredSchema(Schema):
    street_code = _code()
    name = _text()
    name_zh = _text()
    boundary = Boundary(required=True)


class CommunityRegisteredSchema(Schema):
    community_code = _code()
    street_code = _code()
    name = _text()
    name_zh = _text()
    boundary = Boundary(required=True)


class GridDrawnSchema(Schema):
    grid_code = _code()
    community_code = _code()
    street_code = _code()
    kind = _kind()
    purpose = fields.String(required=True, allow_none=True)
    boundary = Boundary(required=True)


class CommunityGridDesignatedSchema(Schema):
    community_code = _code()
    grid_code = _code()


class DepartmentRegisteredSchema(Schema):
    department_code = _code()
    name = _text()
    name_zh = _text()


class DepartmentCategoriesSetSchema(Schema):
    department_code = _code()
    categories = StringTuple(required=True)


class WorkerEnrolledSchema(Schema):
    worker_id = _code()
    community_code = _code()
    name = _text()


class WorkerPostedSchema(Schema):
    worker_id = _code()
    grid_code = _code()
    post = _post()


class WorkerMovedSchema(Schema):
    worker_id = _code()
    from_grid = _code()
    from_post = _post()
    to_grid = _code()
    to_post = _post()


class LeaveGrantedSchema(Schema):
    worker_id = _code()
    day = _day()


class WorkerLeftSchema(Schema):
    worker_id = _code()
    day = _day()
    reason = _text()


class PatrolStartedSchema(Schema):
    patrol_id = _code()
    grid_code = _code()
    worker_id = _code()
    at = _at()
    lat = _lat()
    lng = _lng()
    outside_grid = fields.Boolean(required=True)


class PatrolFinishedSchema(PatrolStartedSchema):
    pass


class PatrolMissedSchema(Schema):
    grid_code = _code()
    day = _day()
    window = _code()


class ProblemReportedSchema(Schema):
    problem_id = _code()
    patrol_id = _code()
    grid_code = _code()
    worker_id = _code()
    at = _at()
    category_code = _code()
    description = _text()
    lat = _lat()
    lng = _lng()
    community_code = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the grid's community, so a ticket can be opened from this event alone"})
    street_code = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the grid's street office"})


class DispatchDecidedSchema(Schema):
    ticket_id = _code()
    ticket_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    assignee_kind = fields.String(required=True, validate=validate.OneOf(ev.ASSIGNEE_KINDS))
    assignee_id = _code()
    grid_code = fields.String(required=True, allow_none=True)
    community_code = fields.String(required=True, allow_none=True)
    street_code = fields.String(required=True, allow_none=True)
    step = _code()
    reason = _text()
    rule_version = fields.Integer(required=True, strict=True)
    trigger = fields.String(load_default="opened", validate=validate.OneOf(ev.DISPATCH_TRIGGERS),
                            metadata={"description": "what asked for the decision: opened, "
                                      "returned, worker_on_leave or worker_left"})


EVENT_SCHEMAS: dict[type, type[Schema]] = {
    ev.StreetRegistered: StreetRegisteredSchema,
    ev.CommunityRegistered: CommunityRegisteredSchema,
    ev.GridDrawn: GridDrawnSchema,
    ev.CommunityGridDesignated: CommunityGridDesignatedSchema,
    ev.DepartmentRegistered: DepartmentRegisteredSchema,
    ev.DepartmentCategoriesSet: DepartmentCategoriesSetSchema,
    ev.WorkerEnrolled: WorkerEnrolledSchema,
    ev.WorkerPosted: WorkerPostedSchema,
    ev.WorkerMoved: WorkerMovedSchema,
    ev.LeaveGranted: LeaveGrantedSchema,
    ev.WorkerLeft: WorkerLeftSchema,
    ev.PatrolStarted: PatrolStartedSchema,
    ev.PatrolFinished: PatrolFinishedSchema,
    ev.PatrolMissed: PatrolMissedSchema,
    ev.ProblemReported: ProblemReportedSchema,
    ev.DispatchDecided: DispatchDecidedSchema,
}

REGISTRY = EventRegistry("grid")
REGISTRY.register_all(EVENT_SCHEMAS)
