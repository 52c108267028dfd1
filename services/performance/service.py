"""The nameko service ``performance``: grades and performance pay from what workers did.

Thin shell: validate with the marshmallow schemas, run a handler (``handlers.Performance``) in
one store transaction, return plain JSON. Build the class with ``make_service(...)``: its own
name, the names of the tickets and grid services it consumes and the clock are fixed when the
class is made (``SERVICE = make_service()`` is the production one; tests make their own with
random names). The config key ``PERFORMANCE_TODAY`` (an ISO date) overrides the clock, for a
rehearsal of a closing or a test.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Optional
from zoneinfo import ZoneInfo

import marshmallow
from eventlet import tpool
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from onegrid import config as cfg
from onegrid.envelope import Actor, new_event_id
from onegrid.registry import EventRegistry
from onegrid.runtime import EventLogRpc, Inbox, Store, StoreKeeper, consume

from . import reports
from .domain import StreetPeriod, explain as explain_figure
from .errors import InvalidInput, InvalidPeriod, PeriodNotClosed
from .handlers import (
    GRID_EVENTS, TICKET_EVENTS, Performance, load_ledger, load_record, load_street,
)
from .periods import Quarter, parse_period, quarters_of
from .projections import make_projections, summary_row
from .schemas import EVENT_SCHEMAS, RecordAssessmentSchema, SetPolicySchema
from .tables import make_tables

def _fields_schema(schema: type) -> type:
    """The payload schema loading to the event's fields (the registry builds the event itself)."""
    @marshmallow.post_load
    def _make_event(self, data, **kwargs):
        return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return type(schema.__name__, (schema,), {"_make_event": _make_event})


REGISTRY = EventRegistry("performance")
REGISTRY.register_all({event: _fields_schema(schema) for event, schema in EVENT_SCHEMAS.items()})

TIMEZONE = "Asia/Shanghai"


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


class ClosePeriodSchema(marshmallow.Schema):
    street = marshmallow.fields.String(required=True, validate=marshmallow.validate.Length(min=1))
    period = marshmallow.fields.String(required=True)


class SetPayLevelSchema(marshmallow.Schema):
    worker_id = marshmallow.fields.String(required=True, validate=marshmallow.validate.Length(min=1))
    post_level = marshmallow.fields.String(required=True, validate=marshmallow.validate.Length(min=1))
    on = marshmallow.fields.Date(load_default=None)


def _fields(messages) -> str:
    """marshmallow's errors as one line: ``score: a score is between 0 and 100; reason: …``."""
    if isinstance(messages, dict):
        parts = []
        for name, problem in messages.items():
            inner = _fields(problem)
            parts.append(f"{name}: {inner}" if name != "_schema" else inner)
        return "; ".join(parts)
    if isinstance(messages, (list, tuple)):
        return " ".join(_fields(m) for m in messages)
    return str(messages)


def load_input(schema: marshmallow.Schema, data: dict):
    """Load RPC input through its schema; InvalidInput names every bad field."""
    try:
        return schema.load(data)
    except marshmallow.ValidationError as error:
        raise InvalidInput(_fields(error.messages)) from None


def _actor(actor: Optional[dict]) -> Actor:
    if not actor:
        return Actor("rpc", "system")
    if not isinstance(actor, dict) or not actor.get("id") or not actor.get("role"):
        raise InvalidInput("actor: give the actor as {'id': ..., 'role': ...}")
    return Actor(str(actor["id"]), str(actor["role"]))


class Parts(DependencyProvider):
    """Hands workers the handlers and a clock that honours ``PERFORMANCE_TODAY``."""

    keeper = StoreKeeper()

    def __init__(self, performance: Performance, clock: Callable[[], dt.date]):
        self.performance = performance
        self.clock = clock

    def setup(self):
        config = self.container.config
        self.performance.default_level = str(config.get("PERFORMANCE_DEFAULT_POST_LEVEL") or "standard")

    def start(self):
        # the keeper opened the store in its setup; a reaction that runs before this finishes
        # meets no table, fails and is retried by the consumer
        tpool.execute(create_tables, self.keeper.store, self.performance.t)

    def today(self) -> dt.date:
        fixed = self.container.config.get("PERFORMANCE_TODAY")
        return dt.date.fromisoformat(str(fixed)) if fixed else self.clock()

    def get_dependency(self, worker_ctx):
        return self


def create_tables(store, tables) -> None:
    """Create the consumer tables (under SQLite's write lock: one creator at a time)."""
    with store.engine.connect() as conn:
        conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            tables.consumer.create_all(conn)


def read_street(read_stream, registry: EventRegistry, street: str) -> StreetPeriod:
    """A street office's StreetPeriod from its stream (``read_stream`` of a store)."""
    from .handlers import street_stream
    stream = street_stream(street)
    return StreetPeriod.rehydrate(stream, (registry.to_domain(e) for e in read_stream(stream)))


def payroll_dicts(office: StreetPeriod, period) -> list[dict]:
    rows = []
    for row in reports.payroll_rows(office, period):
        rows.append({
            "worker_id": row.worker_id, "grid": row.grid, "post": row.post,
            "post_level": row.post_level,
            "components": {k: (None if v is None else str(v)) for k, v in row.components.items()},
            "composite": None if row.composite is None else str(row.composite),
            "grade": row.grade,
            "coefficient": None if row.coefficient is None else str(row.coefficient),
            "base_pay_fen": row.base_pay_fen, "performance_pay_fen": row.performance_pay_fen,
            "adjustments_fen": row.adjustments_fen, "total_fen": row.total_fen,
        })
    return rows


def make_service(name: str = "performance", tickets: str = "tickets", grid: str = "grid", *,
                 clock: Callable[[], dt.date] = local_today):
    """Build the performance service class (tables are prefixed ``<name>_``)."""
    tables = make_tables(f"{name}_")
    performance = Performance(tables, timezone=TIMEZONE)
    on_tickets, on_grid = performance.reactions()

    class PerformanceService(EventLogRpc):
        store = Store(REGISTRY, projections=make_projections(f"{name}_"))
        inbox = Inbox({tickets: on_tickets, grid: on_grid})
        parts = Parts(performance, clock)

        tickets_service = tickets
        grid_service = grid

        # --- reactions ---------------------------------------------------------------------

        @consume(tickets, TICKET_EVENTS)
        def on_tickets_event(self, event):
            self.inbox.apply(tickets, event)

        @consume(grid, GRID_EVENTS)
        def on_grid_event(self, event):
            self.inbox.apply(grid, event)

        # --- commands ----------------------------------------------------------------------

        def _command(self, fn, actor=None):
            return self.store.command(fn, actor=_actor(actor))

        @rpc
        def record_assessment(self, actor=None, **fields):
            """The third party's score 0–100 for a worker's quarter; a correction supersedes one."""
            data = load_input(RecordAssessmentSchema(), fields)
            data["assessment_id"] = data.get("assessment_id") or new_event_id()
            return self._command(lambda uow: performance.record_assessment(uow, **data), actor)

        @rpc
        def set_policy(self, actor=None, **fields):
            """A new version of a street office's pay policy, effective from a quarter."""
            policy = load_input(SetPolicySchema(), fields)
            return self._command(lambda uow: performance.set_policy(uow, policy), actor)

        @rpc
        def set_pay_level(self, actor=None, **fields):
            """The pay level (post level of the pay standard) of a worker, from a day (default today)."""
            data = load_input(SetPayLevelSchema(), fields)
            on = data["on"] or self.parts.today()
            return self._command(lambda uow: performance.set_pay_level(
                uow, worker_id=data["worker_id"], post_level=data["post_level"], on=on), actor)

        @rpc
        def close_quarter(self, street, quarter, actor=None):
            """Grade and pay every worker of a street office for an ended quarter (once)."""
            data = load_input(ClosePeriodSchema(), {"street": street, "period": quarter})
            try:
                q = Quarter.parse(data["period"])
            except InvalidPeriod as bad:
                raise InvalidInput(f"quarter: {bad}") from None
            today = self.parts.today()
            return self._command(lambda uow: performance.close_quarter(uow, data["street"], q, today), actor)

        @rpc
        def close_year(self, street, year, actor=None):
            """Grade and pay the annual part for a street office once its four quarters are closed."""
            data = load_input(ClosePeriodSchema(), {"street": street, "period": str(year)})
            if not str(data["period"]).isdigit() or len(str(data["period"])) != 4:
                raise InvalidInput(f"year: a year is written like 2026, got {year!r}")
            today = self.parts.today()
            return self._command(
                lambda uow: performance.close_year(uow, data["street"], int(data["period"]), today), actor)

        # --- reads -------------------------------------------------------------------------

        def _period(self, period):
            try:
                return parse_period(str(period))
            except InvalidPeriod as bad:
                raise InvalidInput(f"period: {bad}") from None

        def _office(self, street) -> StreetPeriod:
            return read_street(self.store.read_stream, REGISTRY, street)

        @rpc
        def explain(self, worker_id, period, street=None):
            """Explain a worker's closed figure: inputs, policy, components, grade and arithmetic."""
            period = self._period(period)
            quarters = [period] if isinstance(period, Quarter) else list(quarters_of(period))

            def gather(uow):
                record = load_record(uow, worker_id)
                where = street
                if where is None:
                    held = [s.street for q in quarters for s in record.stints
                            if s.days_within(q.first_day, q.last_day)]
                    if not held:
                        raise InvalidInput(f"worker_id: {worker_id!r} held no post in {period}")
                    where = held[-1]
                return load_street(uow, where), [load_ledger(uow, worker_id, q) for q in quarters]

            office, ledgers = self.store.command(gather)  # records nothing: a consistent read
            why = explain_figure(worker_id, period, street=office, ledgers=ledgers)
            return {
                "worker_id": why.worker_id, "street": why.street, "period": why.period,
                "policy_version": why.policy_version, "mode": why.mode,
                "inputs": {i.name: {"count": i.count, "sources": list(i.sources)} for i in why.inputs},
                "components": [[n, None if s is None else str(s), str(w)] for n, s, w in why.components],
                "composite": None if why.composite is None else str(why.composite),
                "grade": why.grade, "coefficient": str(why.coefficient),
                "closed_pay_fen": why.closed_pay_fen, "pay_fen": why.pay_fen,
                "adjustments": [{"period": a.period, "paid_in": a.paid_in, "amount_fen": a.amount_fen,
                                 "pay_fen": a.pay_fen, "cause": a.cause, "reason": a.reason}
                                for a in why.adjustments],
                "lines": list(why.lines), "text": why.text(),
            }

        @rpc
        def payroll(self, street, period):
            """The payroll sheet of a closed quarter or year, one dict per worker (money in fen)."""
            return payroll_dicts(self._office(street), self._period(period))

        @rpc
        def adjustments(self, street, paid_in):
            """The PayAdjusted paid in a quarter (whichever closed period each revises)."""
            office = self._office(street)
            return [{"worker_id": a.worker_id, "period": a.period, "paid_in": a.paid_in,
                     "amount_fen": a.amount_fen, "pay_fen": a.pay_fen, "grade": a.grade,
                     "cause": a.cause, "reason": a.reason}
                    for a in office.paid_in.get(str(self._period(paid_in)), [])]

        @rpc
        def pay_summary(self, street, period):
            """Grade distribution and pay totals of a closed period (the dashboard's read model)."""
            period = str(self._period(period))
            found = self.store.read(lambda conn: summary_row(conn, tables, street, period))
            if found is None:
                raise PeriodNotClosed(f"period: {period} of {street} is not closed (or not projected yet)")
            return found

        @rpc
        def policy(self, street, period=None):
            """The policy in force for a street office in a quarter (default: the latest version)."""
            office = self._office(street)
            if not office.policies:
                return None
            chosen = (office.policy_for(Quarter.parse(period)) if period
                      else office.policies[office.latest_version])
            return dict(reports_policy(chosen))

    PerformanceService.__name__ = "PerformanceService"
    PerformanceService.name = name
    return PerformanceService


def reports_policy(policy) -> dict:
    from .schemas import dump_event
    from .events import PolicySet
    return dump_event(PolicySet.of(policy))


SERVICE = make_service()
