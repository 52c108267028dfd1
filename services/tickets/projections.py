"""The tickets service's read model, folded from its own log with a checkpoint.

``TicketListProjection`` keeps one row per ticket (``tables.tickets``): lists with filters,
queues per worker, department and grid, the overdue timer's due list and the rates all read
it. A page of events is folded in memory (one select of the page's tickets, then one write per
changed ticket), in the same transaction that moves the checkpoint. ``projections(ctx)``
lists the service's read models (``Store(projections=projections)``, ``onegrid replay``).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Optional, Sequence

import sqlalchemy as sa

from onegrid.envelope import Envelope
from onegrid.projections import Projection

from .domain import UNRESOLVED_STATES, TicketState
from .tables import TicketTables, stamp

S = TicketState
_UNRESOLVED = frozenset(s.value for s in UNRESOLVED_STATES)


def _at(payload: dict, key: str) -> Optional[str]:
    value = payload.get(key)
    return None if value is None else stamp(dt.datetime.fromisoformat(value))


def _opened(envelope: Envelope) -> dict:
    p = envelope.payload
    return dict(
        ticket_id=p["ticket_id"], state=S.OPENED.value, channel=p["channel"],
        category_code=p["category_code"], department=p["department"],
        deadline_class=p["deadline_class"], title=p["title"], street=p["street"],
        community=p["community"], grid_code=p.get("grid_code"), node_id=p["node_id"],
        level="community", assignee_kind=None, assignee_id=None, opened_at=_at(p, "at"),
        deadline=_at(p, "deadline"), overdue_marks="[]", overdue=False, accepted_at=None,
        resolved_at=None, on_time=None, rating=None, closed_at=None, merged_into=None,
        reopen_count=0)


def fold(row: Optional[dict], envelope: Envelope) -> Optional[dict]:
    """Return the ticket's row after ``envelope`` (a new dict; None if there is no ticket yet)."""
    kind, p = envelope.event_type, envelope.payload
    if kind == "TicketOpened":
        row = _opened(envelope)
    elif row is None:
        return None  # an event of a ticket whose opening this log does not hold
    else:
        row = dict(row)
        _FOLDS[kind](row, p)
    marks = json.loads(row["overdue_marks"])
    row["overdue"] = row["state"] in _UNRESOLVED and row["deadline"] in marks
    row["version"] = envelope.version
    row["updated_at"] = stamp(envelope.recorded_at)
    return row


def _dispatched(row, p):
    row.update(state=S.DISPATCHED.value, assignee_kind=p["assignee_kind"],
               assignee_id=p["assignee_id"], grid_code=p.get("grid_code") or row["grid_code"])


def _accepted(row, p):
    row.update(state=S.ACCEPTED.value, accepted_at=row["accepted_at"] or _at(p, "at"))


def _returned(row, p):
    row.update(state=S.RETURNED.value, assignee_kind=None, assignee_id=None)


def _resolved(row, p):
    row.update(state=S.RESOLVED.value, resolved_at=_at(p, "at"), on_time=p["on_time"])


def _callback(row, p):
    row.update(state=S.CALLBACK_RECORDED.value, rating=p["rating"])


def _closed(row, p):
    row.update(state=S.CLOSED.value, closed_at=_at(p, "at"))


def _reopened(row, p):
    row.update(state=S.DISPATCHED.value, deadline=_at(p, "deadline"), resolved_at=None,
               on_time=None, assignee_kind=p["assignee_kind"], assignee_id=p["assignee_id"],
               reopen_count=row["reopen_count"] + 1)


def _extension_requested(row, p):
    row.update(state=S.EXTENSION_REQUESTED.value)


def _extension_granted(row, p):
    row.update(state=S.ACCEPTED.value, deadline=_at(p, "new_deadline"))


def _extension_denied(row, p):
    row.update(state=S.ACCEPTED.value)


def _overdue(row, p):
    marks = json.loads(row["overdue_marks"])
    deadline = _at(p, "deadline")
    if deadline not in marks:
        marks.append(deadline)
    row["overdue_marks"] = json.dumps(sorted(marks))


def _supervised(row, p):
    row.update(deadline=_at(p, "new_deadline"))


def _escalated(row, p):
    row.update(state=S.ESCALATED.value, level=p["level"], assignee_kind=None, assignee_id=None)


def _merged(row, p):
    row.update(state=S.MERGED.value, merged_into=p["into_ticket_id"])


def _cancelled(row, p):
    row.update(state=S.CANCELLED.value)


_FOLDS = {
    "TicketDispatched": _dispatched, "TicketAccepted": _accepted, "TicketReturned": _returned,
    "TicketResolved": _resolved, "CallbackRecorded": _callback, "TicketClosed": _closed,
    "TicketReopened": _reopened, "ExtensionRequested": _extension_requested,
    "ExtensionGranted": _extension_granted, "ExtensionDenied": _extension_denied,
    "TicketOverdue": _overdue, "TicketSupervised": _supervised, "TicketEscalated": _escalated,
    "TicketMerged": _merged, "TicketCancelled": _cancelled,
}
TICKET_EVENTS = frozenset({"TicketOpened", *_FOLDS})


class TicketListProjection(Projection):
    """One row per ticket: lists, queues, due deadlines and rates read it."""

    event_types = TICKET_EVENTS

    def __init__(self, tables: TicketTables):
        self.t = tables
        self.name = f"{tables.prefix}list"
        self.metadata = tables.metadata

    def apply(self, conn, envelope: Envelope) -> None:
        self.apply_page(conn, [envelope])

    def apply_page(self, conn, envelopes: Sequence[Envelope]) -> None:
        t = self.t.tickets
        mine = [e for e in envelopes if e.event_type in TICKET_EVENTS]
        if not mine:
            return
        ids = sorted({e.payload["ticket_id"] for e in mine})
        before: dict[str, dict] = {}
        for chunk in range(0, len(ids), 500):
            for r in conn.execute(sa.select(t).where(t.c.ticket_id.in_(ids[chunk:chunk + 500]))
                                  ).mappings():
                before[r["ticket_id"]] = dict(r)
        rows = dict(before)
        for envelope in mine:
            tid = envelope.payload["ticket_id"]
            folded = fold(rows.get(tid), envelope)
            if folded is not None:
                rows[tid] = folded
        new = [row for tid, row in rows.items() if tid not in before]
        if new:
            conn.execute(t.insert(), new)
        changed = [row for tid, row in rows.items() if tid in before and row != before[tid]]
        if changed:
            columns = [c.name for c in t.columns if c.name != "ticket_id"]
            stmt = t.update().where(t.c.ticket_id == sa.bindparam("_id")).values(
                {c: sa.bindparam(f"v_{c}") for c in columns})
            conn.execute(stmt, [{"_id": r["ticket_id"], **{f"v_{c}": r[c] for c in columns}}
                                for r in changed])


def projections(ctx) -> list[Projection]:
    """The read models of the service whose context is ``ctx`` (its tables' prefix)."""
    return [TicketListProjection(ctx.tables)]
