"""A tiny in-memory driver for performance's pure tests: it delivers docs/performance.md's
worked example (``services.performance.testing.EXAMPLE``) the way the handlers do (dedupe,
then close or reassess)."""
from __future__ import annotations

import dataclasses
import datetime as dt

from services.performance.domain import Ledger, StreetPeriod, WorkerRecord, quarter_inputs
from services.performance.domain.periods import Quarter
from services.performance.domain.policy import Mode, default_policy
from services.performance.testing import EXAMPLE, STREET

Q3 = Quarter(2026, 3)
AFTER_Q3 = dt.date(2026, 10, 1)


@dataclasses.dataclass(frozen=True)
class Msg:
    """One input event as it arrives: which stream it belongs to and what it says."""

    stream: str  # "record:<worker>" or "ledger:<worker>/<quarter>"
    event_id: str
    kind: str  # "post", "leave", "ticket", "patrol", "assessment"
    data: tuple  # arguments of the command


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
        self.street = StreetPeriod.of(STREET)
        for policy in policies:
            self.street.set_policy(policy)
        self.records: dict[str, WorkerRecord] = {}
        self.ledgers: dict[str, Ledger] = {}

    def deliver(self, msg: Msg) -> None:
        """Apply an input; if its quarter is closed already, reassess it (PayAdjusted)."""
        target, _, key = msg.stream.partition(":")
        if target == "record":
            record = self.records.setdefault(key, WorkerRecord.of(key))
            if msg.kind == "post":
                record.post(*msg.data, source_event_id=msg.event_id)
            else:
                record.leave_post(*msg.data, source_event_id=msg.event_id)
            touched = sorted(self.street.quarters)  # a posting can change any quarter's days
        else:
            worker, _, quarter = key.rpartition("/")
            ledger = self.ledgers.setdefault(key, Ledger.of(worker, quarter))
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
