"""marshmallow schemas at the performance service's boundary: commands and event payloads.

Decimals travel as strings ("93.04"), dates as ISO strings, quarters as "2026Q3", money as
integer fen. ``COMMAND_SCHEMAS`` maps each command to the schema of its fields;
``EVENT_SCHEMAS`` maps each event class to its payload schema (schema version 1), and
``REGISTRY`` holds them.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from onegrid.registry import EventRegistry

from .domain import commands as cmd, events as ev
from .domain.errors import InvalidPolicy
from .domain.periods import Quarter
from .domain.policy import COMPONENTS, HUNDRED, Mode, PayPolicy

QUARTER = validate.Regexp(r"^\d{4}Q[1-4]$", error="a quarter is written like 2026Q3")


def Dec(**kwargs):
    return fields.Decimal(as_string=True, **kwargs)


def OptionalDec(**kwargs):
    return fields.Decimal(as_string=True, allow_none=True, load_default=None, **kwargs)


def Int(**kwargs):
    return fields.Integer(strict=True, **kwargs)


def OptionalInt(**kwargs):
    return fields.Integer(strict=True, allow_none=True, load_default=None, **kwargs)


def Text(**kwargs):
    return fields.String(validate=validate.Length(min=1), **kwargs)


# -- commands ---------------------------------------------------------------------------

def ActorId():
    """Who acts, filled in from the RPC's ``actor`` (``onegrid.inputs.actor_from``)."""
    return fields.String(load_default=None, allow_none=True)


class RecordAssessmentSchema(Schema):
    """record_assessment: the third party's score 0–100 for a worker's quarter."""

    worker_id = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    assessor = Text(required=True)
    score = Dec(required=True, validate=validate.Range(min=0, max=100, error="a score is between 0 and 100"))
    assessment_id = fields.String(load_default=None, allow_none=True)
    supersedes = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True)
    actor_id = ActorId()

    @validates_schema
    def _a_correction_needs_a_reason(self, data, **kwargs):
        if data.get("supersedes") and not (data.get("reason") or "").strip():
            raise ValidationError("a corrected score needs a reason", field_name="reason")


class WeightsSchema(Schema):
    third_party = Dec(required=True, validate=validate.Range(min=0))
    closure = Dec(required=True, validate=validate.Range(min=0))
    on_time = Dec(required=True, validate=validate.Range(min=0))
    satisfaction = Dec(required=True, validate=validate.Range(min=0))
    patrol = Dec(required=True, validate=validate.Range(min=0))
    workload = Dec(required=True, validate=validate.Range(min=0))


class BandSchema(Schema):
    grade = Text(required=True)
    min_score = Dec(required=True, validate=validate.Range(min=0, max=100))
    coefficient = Dec(required=True, validate=validate.Range(min=0))


SHARE = validate.Range(min=0, max=1)


class SetPolicySchema(Schema):
    """set_policy: a new version of a street office's pay policy; loads to a PayPolicy."""

    street = Text(required=True)
    version = Int(required=True, validate=validate.Range(min=1))
    effective_from = fields.String(required=True, validate=QUARTER)
    pay_standards = fields.Dict(keys=Text(), values=Int(validate=validate.Range(min=1)), required=True)
    performance_share = Dec(load_default=None, validate=SHARE)
    quarterly_share = Dec(load_default=None, validate=SHARE)
    annual_share = Dec(load_default=None, validate=SHARE)
    weights = fields.Nested(WeightsSchema, load_default=None)
    bands = fields.List(fields.Nested(BandSchema), load_default=None)
    mode = fields.String(load_default=None, validate=validate.OneOf([m.value for m in Mode]))
    annual_cap_on_fail = fields.String(load_default=None)

    @validates_schema(skip_on_field_errors=False)
    def _weights_sum_to_100(self, data, **kwargs):
        weights = data.get("weights")
        if weights is not None and sum(weights.values()) != HUNDRED:
            shown = ", ".join(f"{n}={weights[n]}" for n in COMPONENTS)
            raise ValidationError(f"the weights must sum to 100, they sum to {sum(weights.values())}: {shown}",
                                  field_name="weights")

    @validates_schema(skip_on_field_errors=False)
    def _shares_make_a_whole(self, data, **kwargs):
        q, a = data.get("quarterly_share"), data.get("annual_share")
        if q is not None and a is not None and q + a != 1:
            raise ValidationError("quarterly_share + annual_share must be 1", field_name="annual_share")

    @post_load
    def _make_policy(self, data, **kwargs) -> PayPolicy:
        given = {k: v for k, v in data.items() if v is not None}
        if "bands" in given:
            given["bands"] = tuple((b["grade"], b["min_score"], b["coefficient"]) for b in given["bands"])
        given["effective_from"] = Quarter.parse(given["effective_from"])
        try:
            return PayPolicy(**given)
        except InvalidPolicy as error:
            raise ValidationError(error.reason, field_name=error.field) from None


class SetPolicyCommandSchema(SetPolicySchema):
    """set_policy's fields, loaded as the SetPolicy command's: ``{"policy", "actor_id"}``."""

    def load(self, data: dict, **kwargs):
        data = dict(data)
        actor_id = data.pop("actor_id", None)
        return {"policy": super().load(data, **kwargs), "actor_id": actor_id}


class SetPayLevelSchema(Schema):
    """set_pay_level: a worker's pay level from a day (default: today)."""

    worker_id = Text(required=True)
    post_level = Text(required=True)
    on = fields.Date(load_default=None, allow_none=True)
    actor_id = ActorId()


class CloseQuarterSchema(Schema):
    street = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    actor_id = ActorId()


class CloseYearSchema(Schema):
    street = Text(required=True)
    year = fields.Integer(required=True, validate=validate.Range(1900, 9999),
                          error_messages={"invalid": "a year is written like 2026"})
    actor_id = ActorId()


COMMAND_SCHEMAS = {
    cmd.RecordAssessment: RecordAssessmentSchema,
    cmd.SetPolicy: SetPolicyCommandSchema,
    cmd.SetPayLevel: SetPayLevelSchema,
    cmd.CloseQuarter: CloseQuarterSchema,
    cmd.CloseYear: CloseYearSchema,
}


# -- event payloads ---------------------------------------------------------------------

class EventSchema(Schema):
    """Base of event payload schemas: loads to the event's fields, lists become tuples."""

    event_class: type = None

    @post_load
    def _fields(self, data, **kwargs):
        return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}

    def dump_event(self, event) -> dict:
        return self.dump(event.fields())


COMPONENT = fields.Tuple((fields.String(), Dec(allow_none=True), Dec()))


class WorkerPostedSchema(EventSchema):
    event_class = ev.WorkerPosted
    worker_id = Text(required=True)
    street = Text(required=True)
    grid = Text(required=True)
    post = fields.String(required=True)
    post_level = Text(required=True)
    on = fields.Date(required=True)
    source_event_id = Text(required=True)


class WorkerLeftPostSchema(EventSchema):
    event_class = ev.WorkerLeftPost
    worker_id = Text(required=True)
    on = fields.Date(required=True)
    source_event_id = Text(required=True)


class TicketCreditedSchema(EventSchema):
    event_class = ev.TicketCredited
    worker_id = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    ticket_id = Text(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(ev.TICKET_OUTCOMES))
    source_event_id = Text(required=True)


class PatrolCreditedSchema(EventSchema):
    event_class = ev.PatrolCredited
    worker_id = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    patrol_id = Text(required=True)
    completed = fields.Boolean(required=True)
    source_event_id = Text(required=True)


class AssessmentRecordedSchema(EventSchema):
    event_class = ev.AssessmentRecorded
    worker_id = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    assessment_id = Text(required=True)
    assessor = Text(required=True)
    score = Dec(required=True, validate=validate.Range(min=0, max=100))
    supersedes = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)


class PolicySetSchema(EventSchema):
    event_class = ev.PolicySet
    street = Text(required=True)
    version = Int(required=True)
    effective_from = fields.String(required=True, validate=QUARTER)
    pay_standards = fields.List(fields.Tuple((fields.String(), Int())), required=True)
    performance_share = Dec(required=True)
    quarterly_share = Dec(required=True)
    annual_share = Dec(required=True)
    weights = fields.List(fields.Tuple((fields.String(), Dec())), required=True)
    bands = fields.List(fields.Tuple((fields.String(), Dec(), Dec())), required=True)
    mode = fields.String(required=True, validate=validate.OneOf([m.value for m in Mode]))
    annual_cap_on_fail = fields.String(required=True)


class QuarterClosedSchema(EventSchema):
    event_class = ev.QuarterClosed
    street = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    policy_version = Int(required=True)
    closed_on = fields.Date(required=True)
    workload_median = Dec(required=True)
    budget_fen = OptionalInt()
    total_pay_fen = Int(required=True)
    workers = fields.List(fields.String(), required=True)


class QuarterlyGradeAwardedSchema(EventSchema):
    event_class = ev.QuarterlyGradeAwarded
    street = Text(required=True)
    quarter = fields.String(required=True, validate=QUARTER)
    worker_id = Text(required=True)
    grid = fields.String(required=True)
    post = fields.String(required=True)
    post_level = fields.String(required=True)
    days_in_post = Int(required=True)
    components = fields.List(COMPONENT, required=True)
    composite = OptionalDec()
    grade = Text(required=True)
    coefficient = Dec(required=True)
    policy_version = Int(required=True)


class _PaySchema(EventSchema):
    street = Text(required=True)
    worker_id = Text(required=True)
    mode = fields.String(required=True, validate=validate.OneOf([m.value for m in Mode]))
    standard_fen = Int(required=True)
    share = Dec(required=True)
    days_in_post = Int(required=True)
    period_days = Int(required=True)
    coefficient = Dec(required=True)
    pay_fen = Int(required=True)
    budget_fen = OptionalInt()
    total_weight = OptionalDec()
    floor_fen = OptionalInt()
    remainder_fen = Int(load_default=0)


class QuarterlyPayComputedSchema(_PaySchema):
    event_class = ev.QuarterlyPayComputed
    quarter = fields.String(required=True, validate=QUARTER)
    base_pay_fen = Int(required=True)


class YearClosedSchema(EventSchema):
    event_class = ev.YearClosed
    street = Text(required=True)
    year = Int(required=True)
    policy_version = Int(required=True)
    closed_on = fields.Date(required=True)
    budget_fen = OptionalInt()
    total_pay_fen = Int(required=True)
    workers = fields.List(fields.String(), required=True)


class AnnualGradeAwardedSchema(EventSchema):
    event_class = ev.AnnualGradeAwarded
    street = Text(required=True)
    year = Int(required=True)
    worker_id = Text(required=True)
    post_level = fields.String(required=True)
    quarters = fields.List(fields.Tuple((fields.String(), Dec(allow_none=True), fields.Boolean())), required=True)
    mean = OptionalDec()
    grade = Text(required=True)
    capped = fields.Boolean(required=True)
    coefficient = Dec(required=True)
    policy_version = Int(required=True)


class AnnualPayComputedSchema(_PaySchema):
    event_class = ev.AnnualPayComputed
    year = Int(required=True)


class PayAdjustedSchema(EventSchema):
    event_class = ev.PayAdjusted
    street = Text(required=True)
    worker_id = Text(required=True)
    period = fields.String(required=True, validate=validate.Regexp(r"^\d{4}(Q[1-4])?$"))
    paid_in = fields.String(required=True, validate=QUARTER)
    amount_fen = Int(required=True)
    pay_fen = Int(required=True)
    composite = OptionalDec()
    grade = Text(required=True)
    coefficient = Dec(required=True)
    days_in_post = Int(required=True)
    components = fields.List(COMPONENT, required=True)
    grid = fields.String(required=True)
    post = fields.String(required=True)
    post_level = fields.String(required=True)
    cause = Text(required=True)
    reason = fields.String(required=True)


EVENT_SCHEMAS = {
    ev.WorkerPosted: WorkerPostedSchema,
    ev.WorkerLeftPost: WorkerLeftPostSchema,
    ev.TicketCredited: TicketCreditedSchema,
    ev.PatrolCredited: PatrolCreditedSchema,
    ev.AssessmentRecorded: AssessmentRecordedSchema,
    ev.PolicySet: PolicySetSchema,
    ev.QuarterClosed: QuarterClosedSchema,
    ev.QuarterlyGradeAwarded: QuarterlyGradeAwardedSchema,
    ev.QuarterlyPayComputed: QuarterlyPayComputedSchema,
    ev.YearClosed: YearClosedSchema,
    ev.AnnualGradeAwarded: AnnualGradeAwardedSchema,
    ev.AnnualPayComputed: AnnualPayComputedSchema,
    ev.PayAdjusted: PayAdjustedSchema,
}


def dump_event(event) -> dict:
    """An event's JSON-ready payload."""
    return EVENT_SCHEMAS[type(event)]().dump_event(event)


def load_event(event_type: type | str, payload: dict):
    """Rebuild an event from its payload (raises marshmallow.ValidationError)."""
    if isinstance(event_type, str):
        event_type = next(c for c in EVENT_SCHEMAS if c.__name__ == event_type)
    return event_type(**EVENT_SCHEMAS[event_type]().load(payload))


REGISTRY = EventRegistry("performance")
REGISTRY.register_all(EVENT_SCHEMAS)

