"""Read models folded from the performance log: payroll rows and pay totals per street.

``projections(ctx)`` lists them for the store; ``reads.pay_summary`` reads the totals.

``payroll`` keeps one row per (street, period, worker) the way ``reports.payroll_rows`` shows
a closed period: the closed grade and pay, and the adjustments *paid in* that period. In the
same transaction it recomputes ``pay_totals`` (grade distribution and pay totals of the
touched street and period) from those rows, so the dashboard's figures always add up.
"""
from __future__ import annotations

import json

import sqlalchemy as sa

from onegrid.projections import Projection
from onegrid.tables import upsert

from .tables import PerformanceTables


class PayrollProjection(Projection):
    name = "payroll"
    event_types = frozenset({"QuarterlyGradeAwarded", "QuarterlyPayComputed", "AnnualGradeAwarded",
                             "AnnualPayComputed", "PayAdjusted"})

    def __init__(self, tables: PerformanceTables):
        self.tables = tables
        self.metadata = tables.projection

    def apply(self, conn, envelope) -> None:
        p, kind = envelope.payload, envelope.event_type
        if kind == "PayAdjusted":
            key = (p["street"], p["paid_in"], p["worker_id"])
            row = self._row(conn, key, grid=p["grid"], post=p["post"], post_level=p["post_level"])
            self._update(conn, key, adjustments_fen=row["adjustments_fen"] + p["amount_fen"])
        else:
            period = p["quarter"] if "quarter" in p else str(p["year"])
            key = (p["street"], period, p["worker_id"])
            self._row(conn, key)
            if kind in ("QuarterlyGradeAwarded", "AnnualGradeAwarded"):
                components = {name: score for name, score, _ in p.get("components", ())}
                self._update(conn, key, grid=p.get("grid", ""), post=p.get("post", ""),
                             post_level=p["post_level"], components=json.dumps(components),
                             composite=p.get("composite", p.get("mean")), grade=p["grade"],
                             coefficient=p["coefficient"])
            else:
                self._update(conn, key, performance_pay_fen=p["pay_fen"],
                             base_pay_fen=p.get("base_pay_fen", 0))
        self._total(conn, key[0], key[1])

    def _row(self, conn, key, **defaults) -> dict:
        t = self.tables.payroll
        where = (t.c.street == key[0], t.c.period == key[1], t.c.worker_id == key[2])
        row = conn.execute(sa.select(t).where(*where)).mappings().first()
        if row is None:
            values = dict(street=key[0], period=key[1], worker_id=key[2], grid="", post="",
                          post_level="", components="{}", composite=None, grade="",
                          coefficient=None, base_pay_fen=0, performance_pay_fen=0,
                          adjustments_fen=0)
            values.update(defaults)
            conn.execute(t.insert().values(**values))
            return values
        return dict(row)

    def _update(self, conn, key, **values) -> None:
        t = self.tables.payroll
        conn.execute(t.update().where(t.c.street == key[0], t.c.period == key[1],
                                      t.c.worker_id == key[2]).values(**values))

    def _total(self, conn, street: str, period: str) -> None:
        t, totals = self.tables.payroll, self.tables.totals
        rows = conn.execute(sa.select(t.c.grade, t.c.base_pay_fen, t.c.performance_pay_fen,
                                      t.c.adjustments_fen)
                            .where(t.c.street == street, t.c.period == period)).all()
        grades: dict[str, int] = {}
        for row in rows:
            if row.grade:
                grades[row.grade] = grades.get(row.grade, 0) + 1
        values = dict(workers=len(rows), grades=json.dumps(grades, sort_keys=True),
                      base_pay_fen=sum(r.base_pay_fen for r in rows),
                      performance_pay_fen=sum(r.performance_pay_fen for r in rows),
                      adjustments_fen=sum(r.adjustments_fen for r in rows))
        upsert(conn, totals, {"street": street, "period": period}, values)


def projections(ctx) -> list[Projection]:
    """The service's read models (``Store(projections=projections)``)."""
    return [PayrollProjection(ctx.tables)]
