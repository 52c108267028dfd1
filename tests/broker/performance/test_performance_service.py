"""The performance service against a real broker: docs/performance.md's worked example arrives
as tickets' and grid's events, is closed over RPC and pays the same fen; a late callback becomes
a PayAdjusted; replaying the log reproduces every figure; bad input stores nothing."""
import contextlib
import datetime as dt
import uuid

import pytest
from nameko.exceptions import RemoteError

from onegrid import config as cfg
from onegrid.projections import replay
from onegrid.runtime import Setup
from onegrid.testing import FakeSource, renamed, rpc_client, running, wait_until
from onegrid.uow import UnitOfWork
from services.performance import reads, reports
from services.performance.context import build_context
from services.performance.domain import Ledger, StreetPeriod, WorkerRecord, quarter_inputs
from services.performance.domain.periods import Quarter
from services.performance.projections import projections
from services.performance.schemas import REGISTRY
from services.performance.service import PerformanceService
from services.performance.tables import make_tables
from services.performance.testing import (
    EXAMPLE, EXPECTED_COMPOSITE, EXPECTED_GRADE, EXPECTED_PAY, LEAVE, POLICY_V1, STREET, at,
    callback, credits_expected, example_activity, example_grid_map, perf_config, ticket_stream,
)

pytestmark = pytest.mark.broker
Q3 = Quarter(2026, 3)


def count_types(config, name, types) -> int:
    store = cfg.open_service_store(name, config)
    try:
        return sum(1 for e in store.iter_all() if e.event_type in types)
    finally:
        store.close()


def rows(config, name, table) -> int:
    import sqlalchemy as sa
    store = cfg.open_service_store(name, config)
    try:
        with store.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(
                getattr(make_tables(f"{name}_"), table))).scalar()
    except Exception:
        return 0
    finally:
        store.close()


@contextlib.contextmanager
def example_closed(amqp_uri, tmp_path, unique):
    """Shazhou's 2026Q3 delivered by fake tickets and grid logs, scored and closed over RPC."""
    config = perf_config(amqp_uri, tmp_path, unique)
    Perf = renamed(PerformanceService, f"performance{unique}")
    tickets = FakeSource(amqp_uri, tmp_path, f"tickets{unique}")
    grid = FakeSource(amqp_uri, tmp_path, f"grid{unique}")
    with tickets.serve(config), grid.serve(config), running(Perf, config=config), \
            rpc_client(config) as proxy:
        perf = getattr(proxy, Perf.name)
        perf.set_policy(**POLICY_V1)
        grid.append(example_grid_map())
        grid.publish()
        wait_until(lambda: rows(config, Perf.name, "members") == len(EXAMPLE)
                   and rows(config, Perf.name, "leave") == sum(map(len, LEAVE.values())),
                   message="workers posted, leave granted")
        for worker, spec in EXAMPLE.items():
            if spec["level"] != "standard":
                perf.set_pay_level(worker_id=worker, post_level=spec["level"],
                                   on=spec["on"].isoformat())
        patrols, ticket_streams = example_activity()
        grid.append(patrols)
        tickets.append(ticket_streams)
        grid.publish()
        tickets.publish()
        for worker, spec in EXAMPLE.items():
            if spec["score"] is not None:
                perf.record_assessment(worker_id=worker, quarter="2026Q3", assessor="assessor-hq",
                                       score=str(spec["score"]), assessment_id=f"{worker}-a1")
        wait_until(lambda: count_types(config, Perf.name, {"TicketCredited", "PatrolCredited"})
                   == credits_expected(), timeout=60, message="every credit applied")
        closed = perf.close_quarter(STREET, "2026Q3")
        yield Perf, config, perf, tickets, closed
    tickets.close()
    grid.close()


@pytest.fixture(scope="module")
def shared_example(amqp_uri, tmp_path_factory):
    """One closed example for the tests that change nothing (or only a read model)."""
    with example_closed(amqp_uri, tmp_path_factory.mktemp("perf"), uuid.uuid4().hex[:10]) as built:
        yield built


@pytest.fixture
def closed_example(amqp_uri, tmp_path, unique):
    """A closed example of the test's own, for tests that add late inputs."""
    with example_closed(amqp_uri, tmp_path, unique) as built:
        yield built


def test_a_quarter_of_events_pays_the_worked_example_to_the_fen(shared_example):
    Perf, config, perf, _, closed = shared_example
    assert closed["closed"] is True and closed["total_pay_fen"] == 2_327_896
    rows = {r["worker_id"]: r for r in perf.payroll(STREET, "2026Q3")}
    assert {w: r["performance_pay_fen"] for w, r in rows.items()} == EXPECTED_PAY
    assert {w: r["composite"] for w, r in rows.items()} == EXPECTED_COMPOSITE
    assert {w: r["grade"] for w, r in rows.items()} == EXPECTED_GRADE
    assert rows["w-chen"]["components"]["third_party"] is None
    assert rows["w-li"]["components"]["satisfaction"] == "94.74"
    assert rows["w-wang"]["post_level"] == "junior" and rows["w-zhang"]["post_level"] == "senior"
    why = perf.explain("w-chen", "2026Q3")
    assert why["pay_fen"] == 311_896 and why["inputs"]["patrols_missed"]["count"] == 22
    assert "pool = standard 8,400,000 fen × 0.0700 × 61 ÷ 92 days = 389,869.5652 fen" in why["text"]
    # closing twice changes nothing
    again = perf.close_quarter(STREET, "2026Q3")
    assert again["closed"] is False and again["total_pay_fen"] == 2_327_896
    assert count_types(config, Perf.name, {"QuarterClosed"}) == 1
    # the dashboard's read model agrees with the sheet
    summary = wait_until(lambda: _summary(perf, "2026Q3"))
    assert summary["grades"] == {"excellent": 2, "good": 1, "pass": 1}
    assert summary["performance_pay_fen"] == 2_327_896


def _summary(perf, period):
    try:
        return perf.pay_summary(STREET, period)
    except RemoteError:
        return None


def test_a_late_callback_becomes_a_pay_adjustment_in_the_next_open_quarter(closed_example):
    Perf, config, perf, tickets, _ = closed_example
    late = at(dt.date(2026, 9, 28), 16)  # two unsatisfied callbacks for w-chen, after the close
    tickets.append([(ticket_stream(f"w-chen-t{n}"), [callback(f"w-chen-t{n}", "unsatisfied", late)])
                    for n in (2, 3)])
    tickets.publish()
    # satisfaction 3 ÷ 6 = 50.00; composite (800 + 500 + 500 + 819.7 + 307.7) ÷ 50 = 58.55 → fail
    wait_until(lambda: any(a["pay_fen"] == 0 for a in perf.adjustments(STREET, "2026Q4")),
               timeout=30, message="the late callbacks adjusted w-chen's pay")
    adjustments = perf.adjustments(STREET, "2026Q4")
    assert {a["worker_id"] for a in adjustments} == {"w-chen"}
    assert sum(a["amount_fen"] for a in adjustments) == -311_896
    assert all(a["period"] == "2026Q3" and a["paid_in"] == "2026Q4" for a in adjustments)
    # the closed figure is never rewritten; the explanation shows the adjustment
    rows = {r["worker_id"]: r for r in perf.payroll(STREET, "2026Q3")}
    assert rows["w-chen"]["performance_pay_fen"] == 311_896
    why = perf.explain("w-chen", "2026Q3")
    assert why["closed_pay_fen"] == 311_896 and why["pay_fen"] == 0 and why["grade"] == "fail"
    assert "figure as it stands: 0 fen (¥0.00)" in why["text"]


def test_replaying_the_log_reproduces_every_closed_figure(shared_example):
    Perf, config, perf, tickets, _ = shared_example
    live_rows = perf.payroll(STREET, "2026Q3")
    live_summary = wait_until(lambda: _summary(perf, "2026Q3"))
    store = cfg.open_service_store(Perf.name, config)
    try:
        # aggregates rebuilt from nothing but the log
        streams: dict[str, list] = {}
        for envelope in store.iter_all():
            streams.setdefault(envelope.stream_id, []).append(REGISTRY.to_domain(envelope))
        records = [WorkerRecord.rehydrate(s, e) for s, e in streams.items() if s.startswith("worker/")]
        ledgers = [Ledger.rehydrate(s, e) for s, e in streams.items() if s.startswith("ledger/")]
        office = StreetPeriod.rehydrate(StreetPeriod.stream_id(STREET),
                                        streams[StreetPeriod.stream_id(STREET)])
        assert reads.payroll_of(office, "2026Q3") == live_rows
        # and closing the rebuilt inputs afresh under the same policy gives the same figures
        fresh = StreetPeriod(STREET)
        fresh.set_policy(office.policies[1])
        fresh.close_quarter(Q3, dt.date(2026, 10, 1), quarter_inputs(STREET, Q3, records, ledgers))
        for worker in EXAMPLE:
            a, b = fresh.figure(Q3, worker), office.figure(Q3, worker)
            assert (a.pay_fen, a.composite, a.grade, a.components) == \
                   (b.pay_fen, b.composite, b.grade, b.components)
        # the read model dropped and rebuilt from the whole log
        ctx = build_context(Setup.of(Perf.name, config))
        (projection,) = projections(ctx)
        replay(store, projection)
        with store.snapshot() as tx:
            rebuilt = reads.pay_summary(UnitOfWork(tx, REGISTRY, read_only=True), ctx, STREET, "2026Q3")
        assert rebuilt == live_summary == reports.pay_summary(office, "2026Q3")
    finally:
        store.close()


@pytest.mark.parametrize("command, fields, named", [
    ("record_assessment", dict(worker_id="w-nobody", quarter="2026Q3", assessor="hq", score="80"),
     "worker_id: no worker 'w-nobody'"),
    ("record_assessment", dict(worker_id="w-chen", quarter="2026Q3", assessor="hq", score="101"),
     "score: a score is between 0 and 100"),
    ("record_assessment", dict(worker_id="w-chen", quarter="2026Q3", assessor="hq", score="-1"),
     "score: a score is between 0 and 100"),
    ("record_assessment", dict(worker_id="w-li", quarter="2026Q3", assessor="hq", score="70"),
     "already has score 92"),
    ("record_assessment", dict(worker_id="w-li", quarter="2026Q3", assessor="hq", score="70",
                               supersedes="w-li-a1"), "reason: a corrected score needs a reason"),
    ("record_assessment", dict(worker_id="w-li", quarter="2026-3", assessor="hq", score="70"),
     "quarter: a quarter is written like 2026Q3"),
    ("set_policy", dict(POLICY_V1, version=2, effective_from="2026Q4",
                        weights=dict(third_party="50", closure="10", on_time="10",
                                     satisfaction="10", patrol="10", workload="20")),
     "weights: the weights must sum to 100, they sum to 110"),
    ("set_policy", dict(POLICY_V1, version=2, effective_from="2026Q3"), "2026Q3 is closed"),
    ("close_quarter", dict(street=STREET, quarter="2026Q4"), "2026Q4 ends on 2026-12-31"),
    ("close_quarter", dict(street=STREET, quarter="Q4"), "quarter: a quarter is written like 2026Q3"),
    ("close_year", dict(street=STREET, year=2026), "2026 ends on 2026-12-31"),
])
def test_bad_input_gets_an_error_naming_the_field_and_stores_nothing(shared_example, command,
                                                                     fields, named):
    Perf, config, perf, _, _ = shared_example
    before = count_types(config, Perf.name, {e.event_type for e in REGISTRY})
    with pytest.raises(RemoteError) as error:
        getattr(perf, command)(**fields)
    assert named in str(error.value)
    assert count_types(config, Perf.name, {e.event_type for e in REGISTRY}) == before


def test_a_corrected_score_after_the_close_is_adjusted_with_its_reason(closed_example):
    Perf, config, perf, _, _ = closed_example
    result = perf.record_assessment(worker_id="w-wang", quarter="2026Q3", assessor="hq",
                                    score="65", supersedes="w-wang-a1", reason="scoring error")
    assert result["recorded"] is True and result["adjustments"] == 1
    # composite (3250 + 833.3 + 900 + 900 + 978.3 + 769.2) ÷ 100 = 76.31 → pass 0.8 → 403,200 fen
    (adjustment,) = perf.adjustments(STREET, "2026Q4")
    assert adjustment == {"worker_id": "w-wang", "period": "2026Q3", "paid_in": "2026Q4",
                          "amount_fen": -100_800, "pay_fen": 403_200, "grade": "pass",
                          "cause": result["assessment_id"], "reason": "correction"}
