"""SQLAlchemy tables of the performance service (names prefixed per service instance).

Two groups:

- ``reactions`` tables are the service's memory of other services' facts that its reactions
  need: which street a grid or community belongs to, who holds each post and who is on leave
  (for missed patrols), who handles each ticket, each worker's pay level, which workers a
  street office has and which quarters it closed. They are written in the same transaction
  as the events they go with (reactions and commands), so they are never behind the log.
  They are not folds of the performance log: the inbox creates them at start
  (``Inbox(..., tables=lambda ctx: ctx.tables.reactions)``) and a replay never drops them.
- ``projection`` tables are read models folded from the performance log (``projections.py``):
  payroll rows and pay totals per street and period. ``onegrid replay performance`` rebuilds them.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa

from onegrid.tables import Tables


class PerformanceTables(Tables):
    """The performance service's tables: ``tables.grids`` is the ``<prefix>in_grids`` table."""

    names = {"grids": "in_grids", "communities": "in_communities", "workers": "in_workers",
             "posts": "in_posts", "leave": "in_leave", "tickets": "in_tickets",
             "members": "in_members", "closed": "in_closed", "payroll": "payroll",
             "totals": "pay_totals"}


@functools.cache
def make_tables(prefix: str = "performance_") -> PerformanceTables:
    """The performance service's tables with ``prefix`` (one object per prefix)."""
    reactions, projection = sa.MetaData(), sa.MetaData()
    key = lambda name: sa.Column(name, sa.String(100), primary_key=True)  # noqa: E731
    text = lambda name, **kw: sa.Column(name, sa.String(100), **kw)  # noqa: E731

    sa.Table(f"{prefix}in_grids", reactions, key("grid_code"), text("street", nullable=False),
             text("community"))
    sa.Table(f"{prefix}in_communities", reactions, key("community_code"),
             text("street", nullable=False))
    sa.Table(f"{prefix}in_workers", reactions, key("worker_id"), text("community"),
             text("street"), text("pay_level"), text("left_on"))
    sa.Table(f"{prefix}in_posts", reactions, key("grid_code"), key("post"),
             text("worker_id"))  # None: the post is vacant
    sa.Table(f"{prefix}in_leave", reactions, key("worker_id"), key("day"))
    sa.Table(f"{prefix}in_tickets", reactions, key("ticket_id"), text("worker_id"))
    sa.Table(f"{prefix}in_members", reactions, key("street"), key("worker_id"))
    sa.Table(f"{prefix}in_closed", reactions, key("street"), key("period"))

    sa.Table(f"{prefix}payroll", projection, key("street"), key("period"), key("worker_id"),
             text("grid"), text("post"), text("post_level"),
             sa.Column("components", sa.Text),  # JSON {name: "93.04" or null}
             sa.Column("composite", sa.String(20)), text("grade"),
             sa.Column("coefficient", sa.String(20)),
             sa.Column("base_pay_fen", sa.BigInteger, nullable=False, default=0),
             sa.Column("performance_pay_fen", sa.BigInteger, nullable=False, default=0),
             sa.Column("adjustments_fen", sa.BigInteger, nullable=False, default=0))
    # the dashboard's figures per street and period, kept equal to the payroll rows above
    sa.Table(f"{prefix}pay_totals", projection, key("street"), key("period"),
             sa.Column("workers", sa.Integer, nullable=False),
             sa.Column("grades", sa.Text, nullable=False),  # JSON {grade: workers}
             sa.Column("base_pay_fen", sa.BigInteger, nullable=False),
             sa.Column("performance_pay_fen", sa.BigInteger, nullable=False),
             sa.Column("adjustments_fen", sa.BigInteger, nullable=False))
    return PerformanceTables(prefix, projection=projection, reactions=reactions)
