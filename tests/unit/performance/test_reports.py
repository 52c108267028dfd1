"""Payroll sheets: CSV and Excel cells carry the closed figures and the adjustments."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from services.performance.domain.errors import PeriodNotClosed
from services.performance.domain.periods import Quarter
from services.performance.reports import COLUMNS, pay_summary, payroll_rows, write_csv, write_xlsx

from .helpers import Msg, example_messages, example_office


def closed_example():
    office = example_office()
    office.close()
    return office


def test_the_excel_sheet_has_a_row_per_worker_with_the_figures(tmp_path):
    office = closed_example()
    path = tmp_path / "pay.xlsx"
    write_xlsx(payroll_rows(office.street, "2026Q3"), path, title="shazhou 2026Q3")
    sheet = openpyxl.load_workbook(path).active
    assert sheet.title == "shazhou 2026Q3"
    assert [c.value for c in sheet[1]] == list(COLUMNS)
    rows = {r[0]: dict(zip(COLUMNS, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"w-chen", "w-li", "w-wang", "w-zhang"}
    li = rows["w-li"]
    assert (li["grid"], li["post"], li["post_level"], li["grade"]) == ("SZ-01", "A", "standard", "excellent")
    assert li["composite"] == pytest.approx(93.04) and li["coefficient"] == pytest.approx(1.2)
    assert li["performance_pay"] == pytest.approx(7056.00)
    assert li["base_pay"] == pytest.approx(12600.00)  # 8,400,000 fen × 60% ÷ 4
    assert rows["w-chen"]["third_party"] is None and rows["w-chen"]["performance_pay"] == pytest.approx(3118.96)
    assert sheet.cell(row=2, column=COLUMNS.index("total") + 1).number_format == "#,##0.00"


def test_the_csv_sheet_writes_yuan_with_two_decimals():
    out = io.StringIO()
    write_csv(payroll_rows(closed_example().street, "2026Q3"), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    chen = next(r for r in rows if r["worker"] == "w-chen")
    assert chen["performance_pay"] == "3118.96" and chen["third_party"] == "" and chen["adjustments"] == "0.00"
    assert chen["base_pay"] == "8354.35"  # 8,400,000 × 60% × 61 ÷ (4 × 92) = 835,434.78 fen


def test_a_late_input_shows_as_an_adjustment_in_the_next_quarters_sheet():
    office = closed_example()
    for msg in example_messages(Quarter(2026, 4)):
        office.deliver(msg)
    office.deliver(Msg("ledger:w-chen/2026Q3", "late", "assessment", ("w-chen-a1", "assessor", Decimal(100))))
    office.close(Quarter(2026, 4), dt.date(2027, 1, 1))
    q3 = {r.worker_id: r for r in payroll_rows(office.street, "2026Q3")}
    q4 = {r.worker_id: r for r in payroll_rows(office.street, "2026Q4")}
    assert q3["w-chen"].adjustments_fen == 0 and q3["w-chen"].performance_pay_fen == 311_896
    assert q4["w-chen"].adjustments_fen == office.street.figure(Quarter(2026, 3), "w-chen").pay_fen - 311_896 > 0
    summary = pay_summary(office.street, "2026Q4")
    assert summary["adjustments_fen"] == sum(r.adjustments_fen for r in q4.values())
    assert sum(summary["grades"].values()) == 4


def test_an_open_period_has_no_payroll():
    with pytest.raises(PeriodNotClosed):
        payroll_rows(example_office().street, "2026Q3")
