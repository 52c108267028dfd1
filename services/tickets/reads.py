"""Reads of the tickets service: one ticket with its history, lists, queues, rates, due deadlines.

Each read is ``fn(q, ctx, ...)``: ``q`` is what ``self.store.query`` hands it (one consistent
snapshot: ``q.read_stream``, ``q.connection``), ``ctx`` the service's ``Context``. The
queries run over the read model ``ctx.tables.tickets``; nothing here writes.
"""
from __future__ import annotations

import base64
import datetime as dt
import json

import sqlalchemy as sa

from onegrid.errors import InvalidInput
from onegrid.inputs import load_input

from .domain import UNRESOLVED_STATES, Ticket, TicketNotFound
from .domain.rates import Scope, TicketSummary, compute_rates
from .schemas import ListTicketsSchema, RatesQuerySchema
from .tables import stamp, unstamp

_UNRESOLVED = sorted(s.value for s in UNRESOLVED_STATES)
_TIMES = ("opened_at", "deadline", "accepted_at", "resolved_at", "closed_at")
QUEUE_KEYS = ("worker", "department", "grid", "street", "district")


# -- one ticket --------------------------------------------------------------------------------

def ticket_with_history(q, ctx, ticket_id: str) -> dict:
    """The ticket as it stands and every event of it: who did what, when (private fields kept)."""
    stream = Ticket.stream_id(ticket_id)
    envelopes = q.read_stream(stream)
    if not envelopes:
        raise TicketNotFound(ticket_id)
    ticket = Ticket.rehydrate(stream, (q.registry.to_domain(e) for e in envelopes))
    opened = ticket.opened
    return {
        "ticket_id": ticket.ticket_id, "state": ticket.state.value, "version": ticket.version,
        "allowed": list(ticket.allowed), "level": ticket.level,
        "assignee_kind": ticket.assignee_kind, "assignee_id": ticket.assignee_id,
        "grid_code": ticket.grid_code,
        "deadline": ticket.deadline.isoformat() if ticket.deadline else None,
        "overdue": ticket.is_overdue, "rating": ticket.rating,
        "merged_into": ticket.merged_into,
        "channel": opened.channel, "category_code": opened.category_code,
        "title": opened.title, "street": opened.street, "community": opened.community,
        "reporter": {"name": opened.reporter_name, "phone": opened.reporter_phone},
        "history": [{
            "version": e.version, "event_type": e.event_type,
            "at": e.payload.get("at"), "recorded_at": e.recorded_at.isoformat(),
            "actor": {"id": e.actor_id, "role": e.actor_role},
            "event_id": e.event_id, "causation_id": e.causation_id, "payload": e.payload,
        } for e in envelopes],
    }


# -- lists -------------------------------------------------------------------------------------

def load_list_query(data: dict) -> dict:
    """The filters and page of ``list_tickets``; InvalidInput names every bad one."""
    query = load_input(ListTicketsSchema, data)
    if query["cursor"] is not None:
        try:
            opened_at, ticket_id = json.loads(base64.urlsafe_b64decode(query["cursor"]))
            query["cursor"] = (str(opened_at), str(ticket_id))
        except (ValueError, TypeError):
            raise InvalidInput({"cursor": ["Not a cursor from an earlier page."]}) from None
    return query


def _cursor(row) -> str:
    return base64.urlsafe_b64encode(json.dumps([row["opened_at"], row["ticket_id"]])
                                    .encode()).decode()


def row_out(row) -> dict:
    out = {k: row[k] for k in (
        "ticket_id", "state", "channel", "category_code", "department", "deadline_class",
        "title", "street", "community", "grid_code", "level", "assignee_kind", "assignee_id",
        "overdue", "on_time", "rating", "merged_into", "reopen_count", "version")}
    for key in _TIMES:
        value = unstamp(row[key])
        out[key] = value.isoformat() if value else None
    return out


def list_tickets(q, ctx, filters: dict) -> dict:
    """Tickets by filters, oldest opening first, a page at a time (``next_cursor``)."""
    query, t = load_list_query(filters), ctx.tables.tickets
    stmt = sa.select(t)
    equal = {"category": t.c.category_code, "street": t.c.street, "community": t.c.community,
             "grid": t.c.grid_code}
    for key, column in equal.items():
        if query[key] is not None:
            stmt = stmt.where(column == query[key])
    if query["state"]:
        stmt = stmt.where(t.c.state.in_(query["state"]))
    if query["channel"]:
        stmt = stmt.where(t.c.channel.in_(query["channel"]))
    if query["worker"] is not None:
        stmt = stmt.where(t.c.assignee_kind == "worker", t.c.assignee_id == query["worker"])
    if query["department"] is not None:
        stmt = stmt.where(t.c.assignee_kind == "department", t.c.assignee_id == query["department"])
    if query["overdue"] is not None:
        stmt = stmt.where(t.c.overdue.is_(bool(query["overdue"])))
    if query["opened_from"] is not None:
        stmt = stmt.where(t.c.opened_at >= stamp(query["opened_from"]))
    if query["opened_to"] is not None:
        stmt = stmt.where(t.c.opened_at < stamp(query["opened_to"]))
    if query["cursor"] is not None:
        opened_at, ticket_id = query["cursor"]
        stmt = stmt.where(sa.or_(t.c.opened_at > opened_at,
                                 sa.and_(t.c.opened_at == opened_at, t.c.ticket_id > ticket_id)))
    limit = query["limit"]
    rows = q.connection.execute(stmt.order_by(t.c.opened_at, t.c.ticket_id).limit(limit + 1)
                        ).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [row_out(r) for r in rows],
            "next_cursor": _cursor(rows[-1]) if more else None}


def queues(q, ctx, by: str) -> list[dict]:
    """Unresolved tickets (and how many are overdue) per worker, department, grid or street."""
    if by not in QUEUE_KEYS:
        raise InvalidInput({"by": [f"Must be one of: {', '.join(QUEUE_KEYS)}."]})
    t = ctx.tables.tickets
    if by == "grid":
        key, where = t.c.grid_code, [t.c.grid_code.is_not(None)]
    else:
        key, where = t.c.assignee_id, [t.c.assignee_kind == by]
    overdue = sa.func.sum(sa.case((t.c.overdue.is_(True), 1), else_=0))
    stmt = (sa.select(key.label("key"), sa.func.count().label("open"), overdue.label("overdue"))
            .where(t.c.state.in_(_UNRESOLVED), *where).group_by(key).order_by(key))
    return [{by: r.key, "open": int(r.open), "overdue": int(r.overdue or 0)}
            for r in q.connection.execute(stmt)]


# -- rates -------------------------------------------------------------------------------------

def summary(row) -> TicketSummary:
    return TicketSummary(
        ticket_id=row["ticket_id"], channel=row["channel"], category_code=row["category_code"],
        street=row["street"], community=row["community"], grid_code=row["grid_code"],
        state=row["state"], opened_at=unstamp(row["opened_at"]),
        deadline=unstamp(row["deadline"]), accepted_at=unstamp(row["accepted_at"]),
        resolved_at=unstamp(row["resolved_at"]), on_time=row["on_time"],
        rating=row["rating"], closed_at=unstamp(row["closed_at"]))


def rates(q, ctx, scope_and_period: dict) -> dict:
    """The rates of one scope and period (definitions: docs/ticket-rates.md)."""
    query, t = load_input(RatesQuerySchema, scope_and_period), ctx.tables.tickets
    now = query.pop("now", None) or ctx.clock()
    scope = Scope(query["level"], query.get("code"))
    stmt = sa.select(t).where(t.c.opened_at >= stamp(query["period_start"]),
                              t.c.opened_at < stamp(query["period_end"]))
    column = {"grid": t.c.grid_code, "community": t.c.community, "street": t.c.street}
    if scope.level in column:
        stmt = stmt.where(column[scope.level] == scope.code)
    summaries = [summary(r) for r in q.connection.execute(stmt).mappings()]
    return compute_rates(summaries, scope, query["period_start"], query["period_end"],
                         now).to_dict()


# -- the overdue timer -------------------------------------------------------------------------

def due_for_overdue(q, ctx, now: dt.datetime, limit: int = 5000) -> list[str]:
    """Tickets unresolved past their deadline and not yet marked overdue for it."""
    t = ctx.tables.tickets
    stmt = (sa.select(t.c.ticket_id)
            .where(t.c.state.in_(_UNRESOLVED), t.c.overdue.is_(False),
                   t.c.deadline < stamp(now))
            .order_by(t.c.deadline, t.c.ticket_id).limit(limit))
    return list(q.connection.execute(stmt).scalars())
