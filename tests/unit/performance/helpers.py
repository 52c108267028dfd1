"""Builders for performance tests: the worked example of docs/performance.md, and a tiny
in-memory driver that delivers input messages the way handlers will (dedupe, then close or
reassess)."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from services.performance.domain import Ledger, StreetPeriod, WorkerRecord, quarter_inputs
from services.performance.periods import Quarter
from services.performance.policy import Mode, default_policy

STREET = "shazhou"
Q3 = Quarter(2026, 3)
AFTER_Q3 = dt.date(2026, 10, 1)


@dataclasses.dataclass(frozen=True)
class Msg:
    """One input event as it arrives: which stream it belongs to and what it says."""

    stream: str  # "record:<worker>" or "ledger:<worker>/<quarter>"
    event_id: str
    kind: str  # "post", "leave", "ticket", "patrol", "assessment"
    data: tuple  # arguments of the command


# The worked example: counts per worker for 2026Q3 (see docs/performance.md).
EXAMPLE = {
    "w-li": dict(grid="SZ-01", post="A", level="standard", on=dt.date(2026, 1, 1), score=Decimal(92),
                 tickets=dict(dispatched=20, accepted=20, resolved_on_time=18, resolved_late=2,
                              satisfied=15, basically_satisfied=3, unsatisfied=1, returned=0,
                              reopened=1, overdue=2, closed=19),
                 patrols=(176, 8)),
    "w-wang": dict(grid="SZ-01", post="B", level="junior", on=dt.date(2026, 1, 1), score=Decimal(85),
                   tickets=dict(dispatched=12, accepted=11, resolved_on_time=9, resolved_late=1,
                                satisfied=8, basically_satisfied=1, unsatisfied=1, returned=2,
                                reopened=0, overdue=1, closed=10),
                   patrols=(180, 4)),
    "w-zhang": dict(grid="SZ-02", post="A", level="senior", on=dt.date(2026, 1, 1), score=Decimal(95),
                    tickets=dict(dispatched=16, accepted=16, resolved_on_time=16, resolved_late=0,
                                 satisfied=14, basically_satisfied=0, unsatisfied=0, returned=0,
                                 reopened=0, overdue=0, closed=16),
                    patrols=(184, 0)),
    "w-chen": dict(grid="SZ-02", post="B", level="standard", on=dt.date(2026, 8, 1), score=None,
                   tickets=dict(dispatched=5, accepted=5, resolved_on_time=2, resolved_late=2,
                                satisfied=2, basically_satisfied=1, unsatisfied=1, returned=1,
                                reopened=0, overdue=2, closed=4),
                   patrols=(100, 22)),
}


def example_messages(quarter: Quarter = Q3, example=EXAMPLE) -> list[Msg]:
    """Every input event of the worked example, each stream in its own order."""
    msgs = []
    for worker, spec in example.items():
        msgs.append(Msg(f"record:{worker}", f"{worker}-posted", "post",
                        (STREET, spec["grid"], spec["post"], spec["level"], spec["on"])))
        ledger = f"ledger:{worker}/{quarter}"
        for outcome, count in spec["tickets"].items():
            for n in range(count):
                msgs.append(Msg(ledger, f"{worker}-{outcome}-{n}", "ticket", (f"{worker}-t{n}", outcome)))
        completed, missed = spec["patrols"]
        for n in range(completed + missed):
            msgs.append(Msg(ledger, f"{worker}-patrol-{n}", "patrol", (f"{worker}-p{n}", n < completed)))
        if spec["score"] is not None:
            msgs.append(Msg(ledger, f"{worker}-assessed", "assessment",
                            (f"{worker}-a1", "assessor-hq", spec["score"])))
    return msgs


class Office:
    """One street office's performance state, driven like the handlers will drive it."""

    def __init__(self, *policies):
        self.street = StreetPeriod(STREET)
        for policy in policies:
            self.street.set_policy(policy)
        self.records: dict[str, WorkerRecord] = {}
        self.ledgers: dict[str, Ledger] = {}

    def deliver(self, msg: Msg) -> None:
        """Apply an input; if its quarter is closed already, reassess it (PayAdjusted)."""
        target, _, key = msg.stream.partition(":")
        if target == "record":
            record = self.records.setdefault(key, WorkerRecord(key))
            if msg.kind == "post":
                record.post(*msg.data, source_event_id=msg.event_id)
            else:
                record.leave_post(*msg.data, source_event_id=msg.event_id)
            touched = sorted(self.street.quarters)  # a posting can change any quarter's days
        else:
            ledger = self.ledgers.setdefault(key, Ledger(key))
            if msg.kind == "ticket":
                ledger.credit_ticket(*msg.data, source_event_id=msg.event_id)
            elif msg.kind == "patrol":
                ledger.credit_patrol(*msg.data, source_event_id=msg.event_id)
            else:
                ledger.record_assessment(*msg.data)
            touched = [ledger.quarter]
        for quarter in touched:
            if self.street.is_closed(quarter):
                self.street.reassess_quarter(quarter, self.inputs(quarter), cause=msg.event_id)

    def inputs(self, quarter: Quarter):
        return quarter_inputs(STREET, quarter, self.records.values(), self.ledgers.values())

    def close(self, quarter: Quarter = Q3, today: dt.date = AFTER_Q3) -> bool:
        return self.street.close_quarter(quarter, today, self.inputs(quarter))

    def ledgers_of(self, worker: str):
        return [l for l in self.ledgers.values() if l.worker_id == worker]


def standard_policy(**changes):
    changes.setdefault("effective_from", "2026Q1")
    return default_policy(STREET, **changes)


def budget_neutral_policy(**changes):
    return standard_policy(mode=Mode.BUDGET_NEUTRAL, **changes)


def example_office(policy=None) -> Office:
    office = Office(policy or standard_policy())
    for msg in example_messages():
        office.deliver(msg)
    return office
