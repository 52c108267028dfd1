"""The performance service's aggregates: pure, standard library and onegrid.domain only.

* ``WorkerRecord`` (one per worker): the posts the worker held, for days in post.
* ``Ledger`` (one per worker and quarter): ticket and patrol credits, third-party scores.
* ``StreetPeriod`` (one per street office): policy versions, quarter and year closings,
  and the adjustments late inputs cause.

Every input carries the id of the event it came from; a second delivery of the same id
records nothing, so redelivery is harmless and the explanation can cite its sources.
Handlers load these, call a command, and store what ``collect()`` returns.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Iterable, Mapping, Optional

from onegrid.domain import Aggregate, DomainEvent

from .errors import (
    AssessmentAlreadyRecorded, AssessmentNotFound, CorrectionNeedsReason, InvalidInput,
    InvalidScore, PeriodNotEnded, PolicyForClosedPeriod, PolicyVersionConflict, YearNotReady,
)
from .events import (
    TICKET_OUTCOMES, AnnualGradeAwarded, AnnualPayComputed, AssessmentRecorded, PatrolCredited,
    PayAdjusted, PolicySet, QuarterClosed, QuarterlyGradeAwarded, QuarterlyPayComputed,
    TicketCredited, WorkerLeftPost, WorkerPosted, YearClosed,
)
from .events import *  # noqa: F401,F403  - the events are part of this module's vocabulary
from .periods import Quarter, quarters_of
from .policy import PayPolicy, policy_in_force
from .scoring import (
    QuarterGrade, WorkerCounts, WorkerQuarterInput, WorkerYearInput, score_quarter, score_year,
)

HUNDRED = Decimal(100)

#: Stream ids in the service's store carry these prefixes, so a worker, a ledger and a street
#: office never share a stream (the bare ids used by the pure tests work too).
WORKER_STREAM, LEDGER_STREAM, STREET_STREAM = "worker:", "ledger:", "street:"


# -- a worker's posts --------------------------------------------------------------------

@dataclasses.dataclass
class Stint:
    street: str
    grid: str
    post: str
    post_level: str
    start: dt.date
    end: Optional[dt.date] = None  # last day in post, inclusive; None while it lasts

    def days_within(self, first: dt.date, last: dt.date) -> int:
        start, end = max(self.start, first), min(self.end or last, last)
        return max(0, (end - start).days + 1)


class WorkerRecord(Aggregate):
    """The posts one worker held: where, which post (A/B), which pay level, from when."""

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.stints: list[Stint] = []
        self.seen: set[str] = set()

    @property
    def worker_id(self) -> str:
        return self.id.removeprefix(WORKER_STREAM)

    @property
    def is_known(self) -> bool:
        return bool(self.stints)

    def post(self, street: str, grid: str, post: str, post_level: str, on: dt.date,
             source_event_id: str) -> bool:
        """Record that the worker holds a post from ``on``; False for a redelivery."""
        if source_event_id in self.seen:
            return False
        if not (street and grid and post_level):
            raise InvalidInput("a post needs a street, a grid and a post level")
        self._record(WorkerPosted(self.worker_id, street, grid, post, post_level, on, source_event_id))
        return True

    def leave_post(self, on: dt.date, source_event_id: str) -> bool:
        """Record that the worker holds no post from ``on``; False for a redelivery."""
        if source_event_id in self.seen:
            return False
        self._record(WorkerLeftPost(self.worker_id, on, source_event_id))
        return True

    def apply(self, event: DomainEvent) -> None:
        self.seen.add(event.source_event_id)
        current = self.stints[-1] if self.stints and self.stints[-1].end is None else None
        if current is not None:
            current.end = event.on - dt.timedelta(days=1)
        if isinstance(event, WorkerPosted):
            self.stints.append(Stint(event.street, event.grid, event.post, event.post_level, event.on))

    def days_in_post(self, quarter: Quarter, street: str) -> int:
        """Days of the quarter the worker held a post in this street office."""
        return sum(s.days_within(quarter.first_day, quarter.last_day)
                   for s in self.stints if s.street == street)

    def stint_in(self, quarter: Quarter, street: str) -> Optional[Stint]:
        """The worker's last post in this street office during the quarter."""
        held = [s for s in self.stints
                if s.street == street and s.days_within(quarter.first_day, quarter.last_day)]
        return held[-1] if held else None


# -- a worker's quarter ------------------------------------------------------------------

def ledger_id(worker_id: str, quarter: Quarter | str) -> str:
    """The id of a worker's ledger for a quarter: ``<worker>/<2026Q3>``."""
    return f"{worker_id}/{Quarter.parse(quarter)}"


class Ledger(Aggregate):
    """What one worker did in one quarter: credited ticket and patrol events, and scores."""

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        worker_id, _, quarter = aggregate_id.removeprefix(LEDGER_STREAM).rpartition("/")
        self.worker_id = worker_id
        self.quarter = Quarter.parse(quarter)
        self.sources: dict[str, list[str]] = {o: [] for o in TICKET_OUTCOMES}
        self.sources["patrols_completed"] = []
        self.sources["patrols_missed"] = []
        self.seen: set[str] = set()
        self.assessments: dict[str, AssessmentRecorded] = {}
        self.current_assessment: Optional[AssessmentRecorded] = None

    @classmethod
    def for_worker(cls, worker_id: str, quarter: Quarter | str) -> "Ledger":
        return cls(ledger_id(worker_id, quarter))

    def credit_ticket(self, ticket_id: str, outcome: str, source_event_id: str) -> bool:
        """Credit a ticket event to this worker's quarter; False for a redelivery."""
        if outcome not in TICKET_OUTCOMES:
            raise InvalidInput(f"unknown ticket outcome {outcome!r}; use one of {', '.join(TICKET_OUTCOMES)}")
        if source_event_id in self.seen:
            return False
        self._record(TicketCredited(self.worker_id, str(self.quarter), ticket_id, outcome, source_event_id))
        return True

    def credit_patrol(self, patrol_id: str, completed: bool, source_event_id: str) -> bool:
        """Credit a completed or missed patrol; False for a redelivery."""
        if source_event_id in self.seen:
            return False
        self._record(PatrolCredited(self.worker_id, str(self.quarter), patrol_id, bool(completed), source_event_id))
        return True

    def record_assessment(self, assessment_id: str, assessor: str, score: Decimal,
                          supersedes: Optional[str] = None, reason: Optional[str] = None) -> bool:
        """Record the third party's score 0–100; a correction names the score it supersedes."""
        if isinstance(score, (float, bool)):
            raise InvalidScore(f"a score is a Decimal, not {score!r}")
        score = Decimal(score)
        if not score.is_finite() or not 0 <= score <= HUNDRED:
            raise InvalidScore(f"a score must be between 0 and 100, got {score}")
        if not assessor:
            raise InvalidInput("an assessment needs its assessor")
        event = AssessmentRecorded(self.worker_id, str(self.quarter), assessment_id, assessor,
                                   score, supersedes, reason)
        if assessment_id in self.assessments:
            if self.assessments[assessment_id] == event:
                return False  # a retried command
            raise AssessmentAlreadyRecorded(f"assessment {assessment_id} was already recorded differently")
        current = self.current_assessment
        if supersedes is None and current is not None:
            raise AssessmentAlreadyRecorded(
                f"{self.worker_id} already has score {current.score} for {self.quarter} "
                f"({current.assessment_id}); to correct it, supersede it with a reason")
        if supersedes is not None:
            if current is None or supersedes != current.assessment_id:
                raise AssessmentNotFound(
                    f"a correction must supersede the current assessment "
                    f"{current.assessment_id if current else '(none yet)'}, not {supersedes}")
            if not (reason or "").strip():
                raise CorrectionNeedsReason("a corrected score needs a reason")
        self._record(event)
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, AssessmentRecorded):
            self.assessments[event.assessment_id] = event
            self.current_assessment = event
            return
        self.seen.add(event.source_event_id)
        if isinstance(event, TicketCredited):
            self.sources[event.outcome].append(event.source_event_id)
        elif isinstance(event, PatrolCredited):
            self.sources["patrols_completed" if event.completed else "patrols_missed"].append(event.source_event_id)

    def counts(self) -> WorkerCounts:
        return WorkerCounts(**{name: len(ids) for name, ids in self.sources.items()})

    @property
    def third_party(self) -> Optional[Decimal]:
        return self.current_assessment.score if self.current_assessment else None


def quarter_inputs(street: str, quarter: Quarter, records: Iterable[WorkerRecord],
                   ledgers: Iterable[Ledger]) -> dict[str, WorkerQuarterInput]:
    """Gather scoring inputs for every worker who held a post in the street during the quarter."""
    by_worker = {l.worker_id: l for l in ledgers if l.quarter == quarter}
    inputs = {}
    for record in records:
        days = record.days_in_post(quarter, street)
        if days <= 0:
            continue
        stint = record.stint_in(quarter, street)
        ledger = by_worker.get(record.worker_id)
        inputs[record.worker_id] = WorkerQuarterInput(
            worker_id=record.worker_id, post_level=stint.post_level, days_in_post=days,
            counts=ledger.counts() if ledger else WorkerCounts(),
            third_party=ledger.third_party if ledger else None,
            grid=stint.grid, post=stint.post,
        )
    return inputs


# -- a street office's periods -----------------------------------------------------------

@dataclasses.dataclass
class Figure:
    """A worker's standing figure for a closed period: as closed, then as adjusted."""

    award: DomainEvent  # QuarterlyGradeAwarded or AnnualGradeAwarded
    pay: DomainEvent  # QuarterlyPayComputed or AnnualPayComputed
    adjustments: list[PayAdjusted] = dataclasses.field(default_factory=list)

    @property
    def latest(self) -> Optional[PayAdjusted]:
        return self.adjustments[-1] if self.adjustments else None

    @property
    def pay_fen(self) -> int:
        return self.latest.pay_fen if self.latest else self.pay.pay_fen

    @property
    def composite(self) -> Optional[Decimal]:
        if self.latest:
            return self.latest.composite
        return getattr(self.award, "composite", getattr(self.award, "mean", None))

    @property
    def grade(self) -> str:
        return self.latest.grade if self.latest else self.award.grade

    @property
    def coefficient(self) -> Decimal:
        return self.latest.coefficient if self.latest else self.award.coefficient

    @property
    def days_in_post(self) -> int:
        return self.latest.days_in_post if self.latest else self.pay.days_in_post

    @property
    def grid(self) -> str:
        return self.latest.grid if self.latest and self.latest.grid else getattr(self.award, "grid", "")

    @property
    def post(self) -> str:
        return self.latest.post if self.latest and self.latest.post else getattr(self.award, "post", "")

    @property
    def post_level(self) -> str:
        if self.latest and self.latest.post_level:
            return self.latest.post_level
        return getattr(self.award, "post_level", "")

    @property
    def components(self):
        if self.latest and self.latest.components:
            return self.latest.components
        return getattr(self.award, "components", ())


class StreetPeriod(Aggregate):
    """A street office's pay policies and its closed quarters and years (id: the street)."""

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.policies: dict[int, PayPolicy] = {}
        self.quarters: dict[Quarter, QuarterClosed] = {}
        self.years: dict[int, YearClosed] = {}
        self.figures: dict[tuple[str, str], Figure] = {}  # (period, worker) → figure
        self.paid_in: dict[str, list[PayAdjusted]] = {}  # quarter → adjustments paid in it

    @property
    def street(self) -> str:
        return self.id.removeprefix(STREET_STREAM)

    # -- policy

    def set_policy(self, policy: PayPolicy) -> bool:
        """Record a new policy version; the same version again is a no-op."""
        if policy.street != self.street:
            raise InvalidInput(f"a policy for {policy.street} cannot be set on {self.street}")
        if policy.version in self.policies:
            if self.policies[policy.version] == policy:
                return False
            raise PolicyVersionConflict(
                f"{self.street} already has policy v{policy.version}; set v{self.latest_version + 1}")
        if policy.version != self.latest_version + 1:
            raise PolicyVersionConflict(
                f"the next policy version of {self.street} is v{self.latest_version + 1}, not v{policy.version}")
        closed = [q for q in self.quarters if q >= policy.effective_from]
        if closed:
            raise PolicyForClosedPeriod(
                f"{max(closed)} is closed; a new policy can take effect from {self.first_open_quarter(max(closed))}")
        self._record(PolicySet.of(policy))
        return True

    @property
    def latest_version(self) -> int:
        return max(self.policies, default=0)

    def policy_for(self, quarter: Quarter) -> PayPolicy:
        """The policy in force in a quarter (for a closed quarter: the one it closed with)."""
        if quarter in self.quarters:
            return self.policies[self.quarters[quarter].policy_version]
        return policy_in_force(self.policies.values(), quarter)

    # -- quarters

    def is_closed(self, period: Quarter | int) -> bool:
        return period in (self.years if isinstance(period, int) else self.quarters)

    def first_open_quarter(self, after: Quarter) -> Quarter:
        """The first quarter after ``after`` that is not closed (where adjustments are paid)."""
        quarter = after.next()
        while quarter in self.quarters:
            quarter = quarter.next()
        return quarter

    def close_quarter(self, quarter: Quarter, today: dt.date,
                      inputs: Mapping[str, WorkerQuarterInput]) -> bool:
        """Grade and pay every worker for an ended quarter; closing twice changes nothing."""
        quarter = Quarter.parse(quarter)
        if quarter in self.quarters:
            return False
        if today <= quarter.last_day:
            raise PeriodNotEnded(f"{quarter} ends on {quarter.last_day}; close it from {quarter.last_day + dt.timedelta(days=1)}")
        policy = self.policy_for(quarter)
        scores = score_quarter(policy, quarter, inputs)
        self._record(QuarterClosed(self.street, str(quarter), policy.version, today,
                                   scores.workload_median, scores.budget_fen, scores.total_pay_fen,
                                   tuple(sorted(scores.results))))
        for worker_id, result in scores.results.items():
            given = inputs[worker_id]
            e, p = result.entitlement, result.payout
            self._record(QuarterlyGradeAwarded(
                self.street, str(quarter), worker_id, given.grid, given.post, given.post_level,
                given.days_in_post, _components(result.components), result.composite,
                result.band.grade, result.band.coefficient, policy.version))
            self._record(QuarterlyPayComputed(
                self.street, str(quarter), worker_id, p.mode.value, e.standard_fen, e.share, e.days,
                e.period_days, e.coefficient, p.pay_fen, result.base_pay_fen, p.budget_fen,
                p.total_weight, p.floor_fen, p.remainder_fen))
        return True

    def reassess_quarter(self, quarter: Quarter, inputs: Mapping[str, WorkerQuarterInput],
                         cause: str, reason: str = "late input") -> int:
        """Recompute a closed quarter with late inputs; each change becomes a PayAdjusted.

        Returns how many adjustments were recorded (0 for an open quarter or no change).
        A closed year that the quarter belongs to is reassessed too.
        """
        quarter = Quarter.parse(quarter)
        if quarter not in self.quarters:
            return 0
        scores = score_quarter(self.policy_for(quarter), quarter, inputs)
        paid_in = str(self.first_open_quarter(quarter))
        recorded = 0
        for worker_id in sorted(set(scores.results) | set(self.quarters[quarter].workers)):
            result = scores.results.get(worker_id)
            before = self.figures.get((str(quarter), worker_id))
            new_pay = result.payout.pay_fen if result else 0
            new = (new_pay, result.composite if result else None,
                   result.band.grade if result else "", result.entitlement.days if result else 0)
            old = ((before.pay_fen, before.composite, before.grade, before.days_in_post)
                   if before else (0, None, "", 0))
            if new == old:
                continue
            band = result.band if result else None
            self._record(PayAdjusted(
                self.street, worker_id, str(quarter), paid_in, new_pay - old[0], new_pay,
                new[1], new[2] or "none", band.coefficient if band else Decimal(0), new[3],
                _components(result.components) if result else (),
                *_where(inputs.get(worker_id), before), cause, reason))
            recorded += 1
        if recorded and quarter.year in self.years:
            recorded += self._reassess_year(quarter.year, cause, reason)
        return recorded

    # -- years

    def close_year(self, year: int, today: dt.date) -> bool:
        """Grade and pay the annual part for every worker; closing twice changes nothing."""
        if year in self.years:
            return False
        if today <= dt.date(year, 12, 31):
            raise PeriodNotEnded(f"{year} ends on {year}-12-31; close it from {year + 1}-01-01")
        open_quarters = [str(q) for q in quarters_of(year) if q not in self.quarters]
        if open_quarters:
            raise YearNotReady(f"close {', '.join(open_quarters)} before closing {year}")
        policy = self.policy_for(Quarter(year, 4))
        inputs = self._year_inputs(year)
        scores = score_year(policy, year, inputs)
        self._record(YearClosed(self.street, year, policy.version, today, scores.budget_fen,
                                scores.total_pay_fen, tuple(sorted(scores.results))))
        for worker_id, result in scores.results.items():
            e, p = result.entitlement, result.payout
            self._record(AnnualGradeAwarded(
                self.street, year, worker_id, inputs[worker_id].post_level,
                self._quarter_marks(year, worker_id), result.mean, result.band.grade,
                result.capped, result.band.coefficient, policy.version))
            self._record(AnnualPayComputed(
                self.street, year, worker_id, p.mode.value, e.standard_fen, e.share, e.days,
                e.period_days, e.coefficient, p.pay_fen, p.budget_fen, p.total_weight,
                p.floor_fen, p.remainder_fen))
        return True

    def _quarter_marks(self, year: int, worker_id: str) -> tuple:
        marks = []
        for quarter in quarters_of(year):
            figure = self.figures.get((str(quarter), worker_id))
            if figure is not None and figure.days_in_post > 0:
                fail = self.policy_for(quarter).fail_band.grade
                marks.append((str(quarter), figure.composite, figure.grade == fail))
        return tuple(marks)

    def _year_inputs(self, year: int) -> dict[str, WorkerYearInput]:
        inputs = {}
        workers = sorted({w for q in quarters_of(year) for w in self.quarters[q].workers})
        for worker_id in workers:
            grades, level = [], None
            for quarter in quarters_of(year):
                figure = self.figures.get((str(quarter), worker_id))
                if figure is None or figure.days_in_post == 0:
                    continue
                fail = self.policy_for(quarter).fail_band.grade
                grades.append(QuarterGrade(quarter, figure.composite, figure.grade == fail,
                                           figure.days_in_post))
                level = figure.post_level
            if grades:
                inputs[worker_id] = WorkerYearInput(worker_id, level, tuple(grades))
        return inputs

    def _reassess_year(self, year: int, cause: str, reason: str) -> int:
        policy = self.policies[self.years[year].policy_version]
        scores = score_year(policy, year, self._year_inputs(year))
        paid_in = str(self.first_open_quarter(Quarter(year, 4)))
        recorded = 0
        for worker_id in sorted(set(scores.results) | set(self.years[year].workers)):
            result = scores.results.get(worker_id)
            before = self.figures.get((str(year), worker_id))
            new_pay = result.payout.pay_fen if result else 0
            new = (new_pay, result.mean if result else None, result.band.grade if result else "",
                   result.entitlement.days if result else 0)
            old = ((before.pay_fen, before.composite, before.grade, before.days_in_post)
                   if before else (0, None, "", 0))
            if new == old:
                continue
            self._record(PayAdjusted(
                self.street, worker_id, str(year), paid_in, new_pay - old[0], new_pay, new[1],
                new[2] or "none", result.band.coefficient if result else Decimal(0), new[3], (),
                "", "", before.post_level if before else "", cause, reason))
            recorded += 1
        return recorded

    # -- reading

    def figure(self, period: Quarter | int, worker_id: str) -> Optional[Figure]:
        return self.figures.get((str(period), worker_id))

    def workers_in(self, period: Quarter | int) -> tuple[str, ...]:
        closed = self.years.get(period) if isinstance(period, int) else self.quarters.get(period)
        return closed.workers if closed else ()

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, PolicySet):
            self.policies[event.version] = event.policy()
        elif isinstance(event, QuarterClosed):
            self.quarters[Quarter.parse(event.quarter)] = event
        elif isinstance(event, YearClosed):
            self.years[event.year] = event
        elif isinstance(event, (QuarterlyGradeAwarded, AnnualGradeAwarded)):
            period = event.quarter if isinstance(event, QuarterlyGradeAwarded) else str(event.year)
            self.figures[(period, event.worker_id)] = Figure(award=event, pay=None)
        elif isinstance(event, (QuarterlyPayComputed, AnnualPayComputed)):
            period = event.quarter if isinstance(event, QuarterlyPayComputed) else str(event.year)
            self.figures[(period, event.worker_id)].pay = event
        elif isinstance(event, PayAdjusted):
            figure = self.figures.get((event.period, event.worker_id))
            if figure is None:  # a worker who first appears through a late input
                figure = self.figures[(event.period, event.worker_id)] = Figure(award=None, pay=None)
            figure.adjustments.append(event)
            self.paid_in.setdefault(event.paid_in, []).append(event)


def _where(given: Optional[WorkerQuarterInput], before: Optional[Figure]) -> tuple[str, str, str]:
    if given is not None:
        return given.grid, given.post, given.post_level
    if before is not None:
        return before.grid, before.post, before.post_level
    return "", "", ""


def _components(components) -> tuple[tuple[str, Optional[Decimal], Decimal], ...]:
    return tuple((c.name, c.score, c.weight) for c in components)


from .explain import Explanation, explain  # noqa: E402,F401  - part of the domain's API
