"""``onegrid report pay`` reads the performance store alone (no broker) and writes the sheet."""
from decimal import Decimal

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from onegrid.envelope import Envelope, new_event_id
from onegrid.inputs import load_input
from onegrid.runtime import Setup
from onegrid.store import open_store
from onegrid.store.sql import create_tables
from onegrid.uow import run_in_transaction
from services.performance.cli import report
from services.performance.context import build_context
from services.performance.domain.commands import (
    CloseQuarter, RecordAssessment, SetPayLevel, SetPolicy,
)
from services.performance.handlers import COMMANDS, REACTIONS
from services.performance.reports import COLUMNS
from services.performance.schemas import COMMAND_SCHEMAS, REGISTRY
from services.performance.testing import (
    EXAMPLE, EXPECTED_PAY, POLICY_V1, STREET, example_activity, example_grid_map,
)


def envelope(stream, version, kind, payload, when) -> Envelope:
    return Envelope(new_event_id(), stream, version, kind, 1, payload, when, when, "shazhou",
                    new_event_id(), None, "src", "system")


@pytest.fixture
def closed_store(tmp_path, monkeypatch):
    """The worked example fed straight to the handlers, in a store at PERFORMANCE_DATABASE_URL."""
    url = f"sqlite:///{tmp_path}/performance.sqlite"
    monkeypatch.setenv("PERFORMANCE_DATABASE_URL", url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    store = open_store(url, "shazhou", prefix="performance_")
    ctx = build_context(Setup.of("performance", {"NODE_ID": "shazhou",
                                                 "PERFORMANCE_TODAY": "2026-10-01"}))
    create_tables(ctx.tables.reactions, store.engine)

    def run(command, **fields):
        cmd = command(**load_input(COMMAND_SCHEMAS[command], fields))
        return run_in_transaction(store, REGISTRY, lambda uow: COMMANDS[command](uow, cmd, ctx))[0]

    def feed(streams, source):
        for stream, events in streams:
            for version, (kind, payload, when) in enumerate(events, start=1):
                reaction = REACTIONS[source].get(kind)
                if reaction is not None:
                    run_in_transaction(store, REGISTRY, lambda uow: reaction(
                        uow, envelope(stream, version, kind, payload, when), ctx))

    run(SetPolicy, **POLICY_V1)
    feed(example_grid_map(), "grid")
    for worker, spec in EXAMPLE.items():
        run(SetPayLevel, worker_id=worker, post_level=spec["level"], on=spec["on"].isoformat())
    patrols, tickets = example_activity()
    feed(patrols, "grid")
    feed(tickets, "tickets")
    for worker, spec in EXAMPLE.items():
        if spec["score"] is not None:
            run(RecordAssessment, worker_id=worker, quarter="2026Q3", assessor="hq",
                score=str(spec["score"]), assessment_id=f"{worker}-a1")
    run(CloseQuarter, street=STREET, quarter="2026Q3")
    store.close()
    return tmp_path


def test_report_pay_writes_an_xlsx_with_the_worked_example_cells(closed_store):
    target = closed_store / "pay.xlsx"
    result = CliRunner().invoke(report, ["pay", "--street", STREET, "--quarter", "2026Q3",
                                         "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(COLUMNS)
    by_worker = {r[0]: dict(zip(COLUMNS, r)) for r in rows[1:]}
    assert set(by_worker) == set(EXAMPLE)
    pay = {w: round(Decimal(str(r["performance_pay"])) * 100) for w, r in by_worker.items()}
    assert pay == EXPECTED_PAY
    chen = by_worker["w-chen"]
    assert (chen["grid"], chen["post"], chen["grade"]) == ("SZ-02", "B", "pass")
    assert Decimal(str(chen["composite"])) == Decimal("63.55")
    assert chen["third_party"] is None
    assert Decimal(str(by_worker["w-li"]["satisfaction"])) == Decimal("94.74")
    # base pay: standard × 60 % ÷ 4 = 1,260,000 fen for w-li
    assert Decimal(str(by_worker["w-li"]["base_pay"])) == Decimal("12600.00")


def test_report_pay_as_csv_and_refusals(closed_store):
    runner = CliRunner()
    out = runner.invoke(report, ["pay", "--street", STREET, "--quarter", "2026Q3", "--format", "csv",
                                 "--output", "-"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0].split(",")[0] == "worker" and any(l.startswith("w-chen,SZ-02,B") for l in lines)
    open_year = runner.invoke(report, ["pay", "--street", STREET, "--year", "2026"])
    assert open_year.exit_code != 0 and "2026 is not closed" in open_year.output
    both = runner.invoke(report, ["pay", "--street", STREET, "--year", "2026", "--quarter", "2026Q3"])
    assert both.exit_code != 0 and "exactly one of --quarter" in both.output
