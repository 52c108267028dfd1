"""SQLAlchemy tables of the tickets service's read models (names prefixed per service instance).

``tickets`` holds one row per ticket as it stands now: what lists, queues, the overdue timer
and the rates read. It is a fold of the service's own log (``projections.TicketListProjection``),
so ``onegrid replay tickets`` rebuilds it. Times are stored as UTC ISO-8601 strings of fixed
width (``2026-03-02T01:00:00.000000Z``), so string order is time order on every database.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

import sqlalchemy as sa

UTC = dt.timezone.utc
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(value: Optional[dt.datetime]) -> Optional[str]:
    """An aware datetime as a sortable UTC string (None stays None)."""
    return None if value is None else value.astimezone(UTC).strftime(TIME_FORMAT)


def unstamp(value: Optional[str]) -> Optional[dt.datetime]:
    return None if value is None else dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class TicketTables:
    prefix: str
    metadata: sa.MetaData
    tickets: sa.Table


def make_tables(prefix: str = "tickets_") -> TicketTables:
    md = sa.MetaData()
    t = sa.Table(
        f"{prefix}list", md,
        sa.Column("ticket_id", sa.String(100), primary_key=True),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),  # the category's department
        sa.Column("deadline_class", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("street", sa.String(64), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("grid_code", sa.String(64)),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("assignee_kind", sa.String(20)),
        sa.Column("assignee_id", sa.String(100)),
        sa.Column("opened_at", sa.String(30), nullable=False),
        sa.Column("deadline", sa.String(30), nullable=False),
        sa.Column("overdue_marks", sa.Text, nullable=False),  # JSON list of marked deadlines
        sa.Column("overdue", sa.Boolean, nullable=False),  # unresolved, current deadline marked
        sa.Column("accepted_at", sa.String(30)),  # first acceptance
        sa.Column("resolved_at", sa.String(30)),  # latest resolution (None once reopened)
        sa.Column("on_time", sa.Boolean),
        sa.Column("rating", sa.String(30)),
        sa.Column("closed_at", sa.String(30)),
        sa.Column("merged_into", sa.String(100)),
        sa.Column("reopen_count", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(30), nullable=False),
        sa.Index(f"{prefix}ix_list_opened", "opened_at", "ticket_id"),
        sa.Index(f"{prefix}ix_list_assignee", "assignee_kind", "assignee_id", "state"),
        sa.Index(f"{prefix}ix_list_grid", "grid_code", "state"),
        sa.Index(f"{prefix}ix_list_due", "overdue", "deadline"),
    )
    return TicketTables(prefix, md, t)
