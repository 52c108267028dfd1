"""Payroll sheets per street office and period, as CSV and Excel (openpyxl).

A quarter's sheet shows each worker's closed figure (base pay and performance pay) and the
adjustments *paid in* that quarter, whichever earlier period they revise. A year's sheet shows
the annual performance pay; its base pay column is 0 (base pay is paid by quarter).
Money is shown in yuan with two decimals, computed from integer fen.
"""
from __future__ import annotations

import csv
import dataclasses
from decimal import Decimal
from typing import IO, Iterable

from .domain.errors import PeriodNotClosed
from .domain.periods import Quarter, parse_period
from .domain.policy import COMPONENTS
from .domain.street import StreetPeriod

COLUMNS = (
    "worker", "grid", "post", "post_level", *COMPONENTS, "composite", "grade", "coefficient",
    "base_pay", "performance_pay", "adjustments", "total",
)


@dataclasses.dataclass(frozen=True)
class PayrollRow:
    worker_id: str
    grid: str
    post: str
    post_level: str
    components: dict
    composite: Decimal | None
    grade: str
    coefficient: Decimal | None
    base_pay_fen: int
    performance_pay_fen: int
    adjustments_fen: int

    @property
    def total_fen(self) -> int:
        return self.base_pay_fen + self.performance_pay_fen + self.adjustments_fen

    def values(self) -> list:
        """The row's cells in COLUMNS order: money in yuan (Decimal), no data as None."""
        yuan = lambda fen: Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))  # noqa: E731
        return [self.worker_id, self.grid, self.post, self.post_level,
                *(self.components.get(n) for n in COMPONENTS), self.composite, self.grade,
                self.coefficient, yuan(self.base_pay_fen), yuan(self.performance_pay_fen),
                yuan(self.adjustments_fen), yuan(self.total_fen)]


def payroll_rows(street: StreetPeriod, period) -> list[PayrollRow]:
    """One row per worker paid for a closed quarter (``2026Q3``) or year (``2026``)."""
    period = parse_period(str(period))
    if not street.is_closed(period):
        raise PeriodNotClosed(f"{period} is not closed for {street.street}; close it before paying it")
    paid_in = street.paid_in.get(str(period), []) if isinstance(period, Quarter) else []
    adjustments: dict[str, int] = {}
    for adjustment in paid_in:
        adjustments[adjustment.worker_id] = adjustments.get(adjustment.worker_id, 0) + adjustment.amount_fen
    rows = []
    for worker_id in sorted(set(street.workers_in(period)) | set(adjustments)):
        figure = street.figure(period, worker_id)
        if figure is None or figure.award is None:  # only an adjustment from an earlier period
            where = next(a for a in paid_in if a.worker_id == worker_id)
            rows.append(PayrollRow(worker_id, where.grid, where.post, where.post_level, {}, None, "",
                                   None, 0, 0, adjustments[worker_id]))
            continue
        award, pay = figure.award, figure.pay
        rows.append(PayrollRow(
            worker_id, getattr(award, "grid", ""), getattr(award, "post", ""), award.post_level,
            {name: score for name, score, _ in getattr(award, "components", ())},
            getattr(award, "composite", getattr(award, "mean", None)), award.grade, award.coefficient,
            getattr(pay, "base_pay_fen", 0), pay.pay_fen, adjustments.get(worker_id, 0)))
    return rows


def _cell(value):
    return "" if value is None else str(value)


def write_csv(rows: Iterable[PayrollRow], stream: IO[str]) -> None:
    """Write a payroll sheet as CSV (UTF-8, a header row, yuan with two decimals)."""
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(v) for v in row.values()])


def write_xlsx(rows: Iterable[PayrollRow], target, title: str = "payroll") -> None:
    """Write a payroll sheet as an Excel workbook to a path or a binary stream."""
    from openpyxl import Workbook  # a boundary dependency: the pure core never needs it

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(COLUMNS))
    money_from = COLUMNS.index("base_pay") + 1
    for row in rows:
        sheet.append(row.values())
        for column in range(money_from, len(COLUMNS) + 1):
            sheet.cell(row=sheet.max_row, column=column).number_format = "#,##0.00"
    sheet.freeze_panes = "B2"
    book.save(target)


def pay_summary(street: StreetPeriod, period) -> dict:
    """Grade distribution and pay totals of a closed period, for the dashboard."""
    rows = payroll_rows(street, period)
    grades: dict[str, int] = {}
    for row in rows:
        if row.grade:
            grades[row.grade] = grades.get(row.grade, 0) + 1
    return {
        "street": street.street, "period": str(period), "workers": len(rows), "grades": grades,
        "base_pay_fen": sum(r.base_pay_fen for r in rows),
        "performance_pay_fen": sum(r.performance_pay_fen for r in rows),
        "adjustments_fen": sum(r.adjustments_fen for r in rows),
        "total_fen": sum(r.total_fen for r in rows),
    }
