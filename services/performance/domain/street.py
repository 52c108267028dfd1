"""A street office's periods: pay policy versions, quarter and year closings, adjustments.

Stream ``period/<street>``. Closing a quarter grades and pays every worker who held a post
in the street; an input that arrives after the close reassesses it, and each changed figure
becomes a PayAdjusted paid in the next open quarter (the closed figure is never rewritten).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Mapping, Optional

from onegrid.domain import Aggregate, DomainEvent
from onegrid.errors import InvalidInput

from .errors import PeriodNotEnded, PolicyForClosedPeriod, PolicyVersionConflict, YearNotReady
from .events import (
    AnnualGradeAwarded, AnnualPayComputed, PayAdjusted, PolicySet, QuarterClosed,
    QuarterlyGradeAwarded, QuarterlyPayComputed, YearClosed,
)
from .figure import Figure
from .periods import Quarter, quarters_of
from .policy import PayPolicy, policy_in_force
from .scoring import QuarterGrade, WorkerQuarterInput, WorkerYearInput, score_quarter, score_year


class StreetPeriod(Aggregate):
    """A street office's pay policies and its closed quarters and years."""

    kind = "period"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        self.policies: dict[int, PayPolicy] = {}
        self.quarters: dict[Quarter, QuarterClosed] = {}
        self.years: dict[int, YearClosed] = {}
        self.figures: dict[tuple[str, str], Figure] = {}  # (period, worker) → figure
        self.paid_in: dict[str, list[PayAdjusted]] = {}  # quarter → adjustments paid in it

    @property
    def street(self) -> str:
        return self.key

    # -- policy

    def set_policy(self, policy: PayPolicy) -> bool:
        """Record a new policy version; the same version again is a no-op."""
        if policy.street != self.street:
            raise InvalidInput({"street": [f"a policy for {policy.street} cannot be set on {self.street}"]})
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
