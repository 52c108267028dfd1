"""Reads: the service's aggregates and its tables, for handlers (``uow``) and RPCs (``q``).

``q`` is what ``self.store.query`` hands a read (or a handler's ``uow``): ``q.load`` rebuilds
an aggregate, ``q.connection`` reads the tables of ``ctx.tables``. Nothing here writes.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Optional

import sqlalchemy as sa

from onegrid.errors import InvalidInput

from . import reports
from .domain.errors import PeriodNotClosed
from .domain.events import PolicySet
from .domain.explain import explain as explain_figure
from .domain.ledger import Ledger, quarter_inputs
from .domain.periods import Quarter, parse_period, quarters_of
from .domain.street import StreetPeriod
from .domain.worker import WorkerRecord
from .schemas import dump_event


# -- aggregates ---------------------------------------------------------------------------

def record(q, worker_id: str) -> WorkerRecord:
    """A worker's record of posts (empty when the worker was never posted)."""
    return q.load(WorkerRecord, WorkerRecord.stream_id(worker_id)) or WorkerRecord.of(worker_id)


def ledger(q, worker_id: str, quarter: Quarter) -> Ledger:
    """A worker's ledger of a quarter (empty when nothing was credited)."""
    return q.load(Ledger, Ledger.stream_id(worker_id, quarter)) or Ledger.of(worker_id, quarter)


def street_period(q, street: str) -> StreetPeriod:
    """A street office's policies and closings (empty when it has none)."""
    return q.load(StreetPeriod, StreetPeriod.stream_id(street)) or StreetPeriod.of(street)


# -- what reactions remember of tickets and grid -----------------------------------------

def _one(q, table, **where) -> Optional[dict]:
    stmt = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
    row = q.connection.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def worker(q, ctx, worker_id: str) -> Optional[dict]:
    """What the grid told us of a worker: community, street, pay level, left on."""
    return _one(q, ctx.tables.workers, worker_id=worker_id)


def grid(q, ctx, grid_code: str) -> Optional[dict]:
    """A grid's street and community (None until its GridDrawn arrived)."""
    return _one(q, ctx.tables.grids, grid_code=grid_code)


def community_street(q, ctx, community_code: str) -> Optional[str]:
    row = _one(q, ctx.tables.communities, community_code=community_code)
    return row["street"] if row else None


def ticket_handler(q, ctx, ticket_id: str) -> Optional[str]:
    """The worker a ticket is dispatched to now (None: nobody, or not a worker)."""
    row = _one(q, ctx.tables.tickets, ticket_id=ticket_id)
    return row["worker_id"] if row else None


def members(q, ctx, street: str) -> list[str]:
    """Every worker who ever held a post in the street office."""
    t = ctx.tables.members
    return list(q.connection.execute(sa.select(t.c.worker_id).where(t.c.street == street)
                                     .order_by(t.c.worker_id)).scalars())


def is_closed(q, ctx, street: str, period) -> bool:
    return _one(q, ctx.tables.closed, street=street, period=str(period)) is not None


def post_holder(q, ctx, grid_code: str, post: str) -> Optional[str]:
    """Who holds a grid's post now (None: vacant)."""
    row = _one(q, ctx.tables.posts, grid_code=grid_code, post=post)
    return row["worker_id"] if row else None


def posts_of(q, ctx, worker_id: str) -> list[tuple[str, str]]:
    """The (grid, post) pairs a worker holds now."""
    posts = ctx.tables.posts
    return [(row.grid_code, row.post) for row in q.connection.execute(
        sa.select(posts).where(posts.c.worker_id == worker_id))]


def on_duty(q, ctx, grid_code: str, day: dt.date) -> Optional[str]:
    """Who answers for a grid's patrol on a day: the A post, or the B post if A is away."""
    posts = ctx.tables.posts
    holders = {row.post: row.worker_id for row in q.connection.execute(
        sa.select(posts).where(posts.c.grid_code == grid_code))}
    for post in ("A", "B"):
        held_by = holders.get(post)
        if held_by and _one(q, ctx.tables.leave, worker_id=held_by, day=day.isoformat()) is None:
            return held_by
    return None


def inputs(q, ctx, street: str, quarter: Quarter):
    """The scoring inputs of every worker of the street office for the quarter."""
    workers = members(q, ctx, street)
    return quarter_inputs(street, quarter, [record(q, w) for w in workers],
                          [ledger(q, w, quarter) for w in workers])


# -- what RPC callers read ----------------------------------------------------------------

def payroll(q, ctx, street: str, period) -> list[dict]:
    """The payroll sheet of a closed quarter or year, one dict per worker (money in fen)."""
    return payroll_of(street_period(q, street), period)


def payroll_of(office: StreetPeriod, period) -> list[dict]:
    """A street office's payroll sheet as plain JSON: Decimals as strings, money in fen."""
    rows = []
    for row in reports.payroll_rows(office, parse_period(str(period))):
        rows.append({
            "worker_id": row.worker_id, "grid": row.grid, "post": row.post,
            "post_level": row.post_level,
            "components": {k: (None if v is None else str(v)) for k, v in row.components.items()},
            "composite": _text(row.composite), "grade": row.grade,
            "coefficient": _text(row.coefficient),
            "base_pay_fen": row.base_pay_fen, "performance_pay_fen": row.performance_pay_fen,
            "adjustments_fen": row.adjustments_fen, "total_fen": row.total_fen,
        })
    return rows


def adjustments(q, ctx, street: str, paid_in) -> list[dict]:
    """The PayAdjusted paid in a quarter (whichever closed period each revises)."""
    office = street_period(q, street)
    return [{"worker_id": a.worker_id, "period": a.period, "paid_in": a.paid_in,
             "amount_fen": a.amount_fen, "pay_fen": a.pay_fen, "grade": a.grade,
             "cause": a.cause, "reason": a.reason}
            for a in office.paid_in.get(str(parse_period(str(paid_in))), [])]


def pay_summary(q, ctx, street: str, period) -> dict:
    """Grade distribution and pay totals of a closed period (the payroll projection's totals)."""
    period = str(parse_period(str(period)))
    t = ctx.tables.totals
    row = _one(q, t, street=street, period=period)
    if row is None:
        raise PeriodNotClosed(f"period: {period} of {street} is not closed (or not projected yet)")
    total = row["base_pay_fen"] + row["performance_pay_fen"] + row["adjustments_fen"]
    return {"street": street, "period": period, "workers": row["workers"],
            "grades": json.loads(row["grades"]), "base_pay_fen": row["base_pay_fen"],
            "performance_pay_fen": row["performance_pay_fen"],
            "adjustments_fen": row["adjustments_fen"], "total_fen": total}


def policy(q, ctx, street: str, period=None) -> Optional[dict]:
    """The policy in force for a street office in a quarter (default: the latest version)."""
    office = street_period(q, street)
    if not office.policies:
        return None
    chosen = (office.policy_for(Quarter.parse(period)) if period
              else office.policies[office.latest_version])
    return dict(dump_event(PolicySet.of(chosen)))


def explain(q, ctx, worker_id: str, period, street: Optional[str] = None) -> dict:
    """A worker's closed figure explained: inputs, policy, components, grade and arithmetic."""
    period = parse_period(str(period))
    quarters = [period] if isinstance(period, Quarter) else list(quarters_of(period))
    if street is None:
        held = [s.street for quarter in quarters for s in record(q, worker_id).stints
                if s.days_within(quarter.first_day, quarter.last_day)]
        if not held:
            raise InvalidInput({"worker_id": [f"{worker_id!r} held no post in {period}"]})
        street = held[-1]
    why = explain_figure(worker_id, period, street=street_period(q, street),
                         ledgers=[ledger(q, worker_id, quarter) for quarter in quarters])
    return {
        "worker_id": why.worker_id, "street": why.street, "period": why.period,
        "policy_version": why.policy_version, "mode": why.mode,
        "inputs": {i.name: {"count": i.count, "sources": list(i.sources)} for i in why.inputs},
        "components": [[n, _text(s), str(w)] for n, s, w in why.components],
        "composite": _text(why.composite), "grade": why.grade,
        "coefficient": str(why.coefficient),
        "closed_pay_fen": why.closed_pay_fen, "pay_fen": why.pay_fen,
        "adjustments": [{"period": a.period, "paid_in": a.paid_in, "amount_fen": a.amount_fen,
                         "pay_fen": a.pay_fen, "cause": a.cause, "reason": a.reason}
                        for a in why.adjustments],
        "lines": list(why.lines), "text": why.text(),
    }


def _text(value) -> Optional[str]:
    return None if value is None else str(value)
