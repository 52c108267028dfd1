"""The performance service's events: frozen dataclasses, named in the past tense.

Inputs (credited from tickets and grid events, and the third party's scores) land on a
worker's ``WorkerRecord`` and ``Ledger`` streams; policies, closings and adjustments on the
street office's ``StreetPeriod`` stream. Quarters are written ``2026Q3``; scores, shares and
coefficients are Decimal; money is integer fen.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Optional

from onegrid.domain import DomainEvent

from .policy import Band, PayPolicy, Weights

#: What a ticket event can credit to the worker who handled the ticket.
TICKET_OUTCOMES = (
    "dispatched", "accepted", "resolved_on_time", "resolved_late",
    "satisfied", "basically_satisfied", "unsatisfied",
    "returned", "reopened", "overdue", "closed",
)

frozen = dataclasses.dataclass(frozen=True)


# -- inputs: a worker's posts (stream: WorkerRecord) ---------------------------------------

@frozen
class WorkerPosted(DomainEvent):
    """The worker holds a post from ``on`` (enrolled, posted or moved); the previous post ends."""

    worker_id: str
    street: str
    grid: str
    post: str  # "A" or "B"
    post_level: str  # the pay standard's level, e.g. "standard"
    on: dt.date
    source_event_id: str


@frozen
class WorkerLeftPost(DomainEvent):
    """The worker holds no post from ``on`` (``on`` itself is not a day in post)."""

    worker_id: str
    on: dt.date
    source_event_id: str


# -- inputs: a worker's quarter (stream: Ledger) -------------------------------------------

@frozen
class TicketCredited(DomainEvent):
    """A ticket event credited to the worker who handled the ticket."""

    worker_id: str
    quarter: str
    ticket_id: str
    outcome: str  # one of TICKET_OUTCOMES
    source_event_id: str


@frozen
class PatrolCredited(DomainEvent):
    """A patrol completed or missed by the worker."""

    worker_id: str
    quarter: str
    patrol_id: str
    completed: bool
    source_event_id: str


@frozen
class AssessmentRecorded(DomainEvent):
    """The third party's score for a worker's quarter; a correction supersedes, with a reason."""

    worker_id: str
    quarter: str
    assessment_id: str
    assessor: str
    score: Decimal
    supersedes: Optional[str] = None
    reason: Optional[str] = None


# -- the street office's periods (stream: StreetPeriod) -------------------------------------

@frozen
class PolicySet(DomainEvent):
    """A version of a street office's pay policy, in force from ``effective_from``."""

    street: str
    version: int
    effective_from: str
    pay_standards: tuple[tuple[str, int], ...]
    performance_share: Decimal
    quarterly_share: Decimal
    annual_share: Decimal
    weights: tuple[tuple[str, Decimal], ...]
    bands: tuple[tuple[str, Decimal, Decimal], ...]  # (grade, min_score, coefficient), best first
    mode: str
    annual_cap_on_fail: str

    @classmethod
    def of(cls, policy: PayPolicy) -> "PolicySet":
        return cls(
            street=policy.street, version=policy.version, effective_from=str(policy.effective_from),
            pay_standards=tuple(policy.pay_standards),
            performance_share=policy.performance_share, quarterly_share=policy.quarterly_share,
            annual_share=policy.annual_share, weights=tuple(policy.weights.as_dict().items()),
            bands=tuple((b.grade, b.min_score, b.coefficient) for b in policy.bands),
            mode=policy.mode.value, annual_cap_on_fail=policy.annual_cap_on_fail,
        )

    def policy(self) -> PayPolicy:
        return PayPolicy(
            street=self.street, version=self.version, effective_from=self.effective_from,
            pay_standards=self.pay_standards, performance_share=self.performance_share,
            quarterly_share=self.quarterly_share, annual_share=self.annual_share,
            weights=Weights(**dict(self.weights)), bands=tuple(Band(*b) for b in self.bands),
            mode=self.mode, annual_cap_on_fail=self.annual_cap_on_fail,
        )


@frozen
class QuarterClosed(DomainEvent):
    street: str
    quarter: str
    policy_version: int
    closed_on: dt.date
    workload_median: Decimal
    budget_fen: Optional[int]  # budget-neutral mode only
    total_pay_fen: int
    workers: tuple[str, ...]


@frozen
class QuarterlyGradeAwarded(DomainEvent):
    street: str
    quarter: str
    worker_id: str
    grid: str
    post: str
    post_level: str
    days_in_post: int
    components: tuple[tuple[str, Optional[Decimal], Decimal], ...]  # (name, score or None, weight)
    composite: Optional[Decimal]
    grade: str
    coefficient: Decimal
    policy_version: int


@frozen
class QuarterlyPayComputed(DomainEvent):
    street: str
    quarter: str
    worker_id: str
    mode: str
    standard_fen: int
    share: Decimal
    days_in_post: int
    period_days: int
    coefficient: Decimal
    pay_fen: int
    base_pay_fen: int
    budget_fen: Optional[int] = None
    total_weight: Optional[Decimal] = None
    floor_fen: Optional[int] = None
    remainder_fen: int = 0


@frozen
class YearClosed(DomainEvent):
    street: str
    year: int
    policy_version: int
    closed_on: dt.date
    budget_fen: Optional[int]
    total_pay_fen: int
    workers: tuple[str, ...]


@frozen
class AnnualGradeAwarded(DomainEvent):
    street: str
    year: int
    worker_id: str
    post_level: str
    quarters: tuple[tuple[str, Optional[Decimal], bool], ...]  # (quarter, composite, failed)
    mean: Optional[Decimal]
    grade: str
    capped: bool
    coefficient: Decimal
    policy_version: int


@frozen
class AnnualPayComputed(DomainEvent):
    street: str
    year: int
    worker_id: str
    mode: str
    standard_fen: int
    share: Decimal
    days_in_post: int
    period_days: int
    coefficient: Decimal
    pay_fen: int
    budget_fen: Optional[int] = None
    total_weight: Optional[Decimal] = None
    floor_fen: Optional[int] = None
    remainder_fen: int = 0


@frozen
class PayAdjusted(DomainEvent):
    """A closed figure revised by a late input: paid as ``amount_fen`` in ``paid_in``.

    The closed figure is never rewritten; ``pay_fen`` is the revised figure for ``period``
    and ``amount_fen`` the difference from the figure as it stood before this adjustment.
    """

    street: str
    worker_id: str
    period: str  # "2026Q2" or "2026"
    paid_in: str  # the next open quarter
    amount_fen: int
    pay_fen: int
    composite: Optional[Decimal]
    grade: str
    coefficient: Decimal
    days_in_post: int
    components: tuple[tuple[str, Optional[Decimal], Decimal], ...]
    grid: str
    post: str
    post_level: str
    cause: str  # the id of the late input event
    reason: str


__all__ = [
    "TICKET_OUTCOMES", "EVENTS", "WorkerPosted", "WorkerLeftPost", "TicketCredited",
    "PatrolCredited", "AssessmentRecorded", "PolicySet", "QuarterClosed", "QuarterlyGradeAwarded",
    "QuarterlyPayComputed", "YearClosed", "AnnualGradeAwarded", "AnnualPayComputed", "PayAdjusted",
]

EVENTS = (
    WorkerPosted, WorkerLeftPost, TicketCredited, PatrolCredited, AssessmentRecorded,
    PolicySet, QuarterClosed, QuarterlyGradeAwarded, QuarterlyPayComputed,
    YearClosed, AnnualGradeAwarded, AnnualPayComputed, PayAdjusted,
)
