"""Pure scoring: components, composite, grade, coefficient and pay — Decimal and int fen only.

Rounding rule (two named steps, both ROUND_HALF_UP, both exact — every quotient is worked
out with integer arithmetic before it is rounded, so no intermediate rounding can leak in):

* ``round_points``: a score (each component, the composite, the annual mean) is rounded half
  up to 0.01 point when it is made. Components are rounded *before* they are weighted, so the
  composite can be redone by hand from the printed components.
* ``to_fen``: an amount of money is rounded half up to the fen exactly once, at the end:
  ``pay = to_fen(standard × share × days × coefficient ÷ period_days)``. Pools, shares and
  pro-rata factors are carried exactly until then. In budget-neutral mode the street budget
  is ``to_fen(Σ pools)`` and is then split in whole fen by largest remainder (ties by worker
  id), so the split adds up to the budget exactly.
"""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from .policy import COMPONENTS, HUNDRED, Band, Mode, PayPolicy
from .periods import Quarter, days_in_year

ZERO = Decimal(0)


# -- exact arithmetic -------------------------------------------------------------------

def _as_scaled_ints(*values) -> tuple[list[int], int]:
    """Turn Decimals/ints into integers sharing one power-of-ten scale: (ints, scale)."""
    decimals = [Decimal(v) for v in values]
    scale = max([0] + [-d.as_tuple().exponent for d in decimals])
    return [int(d.scaleb(scale)) for d in decimals], scale


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator ÷ denominator rounded half up (halves away from zero), exactly."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def ratio(numerator, denominator, places: int = 2) -> Decimal:
    """numerator ÷ denominator exactly, rounded half up to ``places`` decimals."""
    (n, d), _ = _as_scaled_ints(numerator, denominator)
    return Decimal(_div_half_up(n * 10**places, d)).scaleb(-places)


def round_points(numerator, denominator=1) -> Decimal:
    """THE score rounding step: numerator ÷ denominator, half up to 0.01 point."""
    return ratio(numerator, denominator, 2)


def to_fen(numerator, denominator=1) -> int:
    """THE money rounding step: numerator ÷ denominator fen, half up to a whole fen."""
    (n, d), _ = _as_scaled_ints(numerator, denominator)
    return _div_half_up(n, d)


def percent(part, whole, cap: bool = True) -> Decimal | None:
    """100 × part ÷ whole in points (capped at 100), or None when there is no data."""
    if whole == 0:
        return None
    value = round_points(HUNDRED * Decimal(part), whole)
    return min(value, HUNDRED) if cap else value


def median(values: Iterable) -> Decimal:
    """The median (mean of the middle two for an even count); 0 for no values."""
    ordered = sorted(Decimal(v) for v in values)
    if not ordered:
        return ZERO
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


# -- the quarterly composite ------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class WorkerCounts:
    """What a worker did in a quarter, as counts of credited events."""

    dispatched: int = 0
    accepted: int = 0
    resolved_on_time: int = 0
    resolved_late: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    returned: int = 0
    reopened: int = 0
    overdue: int = 0
    closed: int = 0
    patrols_completed: int = 0
    patrols_missed: int = 0

    @property
    def net_closed(self) -> int:
        """Closings that stuck: closed minus reopened (never below 0)."""
        return max(0, self.closed - self.reopened)

    @property
    def callbacks(self) -> int:
        return self.satisfied + self.basically_satisfied + self.unsatisfied

    @property
    def resolved(self) -> int:
        return self.resolved_on_time + self.resolved_late


@dataclasses.dataclass(frozen=True)
class Component:
    """One component of the composite: its score (None = no data) and its weights."""

    name: str
    score: Decimal | None
    weight: Decimal
    #: the weight after the components without data are left out, in percent (display)
    effective_weight: Decimal | None = None


def component_scores(counts: WorkerCounts, third_party: Decimal | None,
                     workload_median: Decimal) -> dict[str, Decimal | None]:
    """Each component's score 0–100, or None where the worker has no data for it."""
    return {
        "third_party": None if third_party is None else Decimal(third_party),
        "closure": percent(counts.net_closed, counts.dispatched),
        "on_time": percent(counts.resolved_on_time, counts.resolved),
        "satisfaction": percent(counts.satisfied + counts.basically_satisfied, counts.callbacks),
        "patrol": percent(counts.patrols_completed, counts.patrols_completed + counts.patrols_missed),
        "workload": percent(counts.net_closed, workload_median),
    }


def composite(policy: PayPolicy, scores: Mapping[str, Decimal | None]) -> tuple[tuple[Component, ...], Decimal | None]:
    """Weight the components; those without data are left out and the rest scaled up.

    composite = Σ(weight × score) ÷ Σ(weight) over the components that have data,
    rounded half up to 0.01. With every component present Σ(weight) is 100.
    """
    weights = policy.weights.as_dict()
    present = [n for n in COMPONENTS if scores.get(n) is not None]
    total_weight = sum((weights[n] for n in present), ZERO)
    components = tuple(
        Component(
            name=n,
            score=scores.get(n),
            weight=weights[n],
            effective_weight=(round_points(HUNDRED * weights[n], total_weight)
                              if scores.get(n) is not None and total_weight else None),
        )
        for n in COMPONENTS
    )
    if total_weight == 0:
        return components, None
    weighted = sum((weights[n] * scores[n] for n in present), ZERO)
    return components, round_points(weighted, total_weight)


# -- pay --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Entitlement:
    """A worker's pool for a period and the coefficient their grade earned."""

    worker_id: str
    standard_fen: int  # annual pay standard of the worker's post level
    share: Decimal  # share of the standard in this pool (0.07 a quarter, 0.12 a year)
    days: int  # days in post within the period
    period_days: int  # days in the period
    coefficient: Decimal

    @property
    def pool_numerator(self) -> Decimal:
        """standard × share × days; the exact pool is this ÷ period_days."""
        return Decimal(self.standard_fen) * self.share * self.days

    @property
    def pool_fen(self) -> int:
        """The pool rounded to the fen — for display; pay is rounded from the exact pool."""
        return to_fen(self.pool_numerator, self.period_days)

    @property
    def weight(self) -> Decimal:
        """pool × coefficient, as a numerator over period_days (budget-neutral share)."""
        return self.pool_numerator * self.coefficient


@dataclasses.dataclass(frozen=True)
class Payout:
    """What a worker is paid, and the figures to redo it by hand."""

    worker_id: str
    pay_fen: int
    mode: Mode
    budget_fen: int | None = None  # budget-neutral: the street's summed pools
    total_weight: Decimal | None = None  # budget-neutral: Σ(pool × coefficient) numerators
    floor_fen: int | None = None  # budget-neutral: whole fen before remainders
    remainder_fen: int = 0  # budget-neutral: the extra fen from the largest remainders


def apportion(budget_fen: int, weights: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Split whole fen in proportion to integer weights: {id: (floor, extra)}.

    Each gets floor(budget × w ÷ Σw); the fen left over go one each to the largest
    remainders, ties broken by id. If every weight is 0 nobody is paid.
    """
    total = sum(weights.values())
    if total == 0:
        return {w: (0, 0) for w in weights}
    floors, remainders = {}, {}
    for worker, weight in weights.items():
        floors[worker], remainders[worker] = divmod(budget_fen * weight, total)
    left = budget_fen - sum(floors.values())
    ranked = sorted(weights, key=lambda w: (-remainders[w], w))
    extra = set(ranked[:left])
    return {w: (floors[w], 1 if w in extra else 0) for w in weights}


def pay(mode: Mode, entitlements: Sequence[Entitlement]) -> dict[str, Payout]:
    """Pay each worker: pool × coefficient, or the budget shared by pool × coefficient."""
    mode = Mode(mode)
    if mode is Mode.STANDARD:
        return {
            e.worker_id: Payout(e.worker_id, to_fen(e.weight, e.period_days), mode)
            for e in entitlements
        }
    if len({e.period_days for e in entitlements}) > 1:
        raise ValueError("a budget-neutral split needs one period for every worker")
    if not entitlements:
        return {}
    period_days = entitlements[0].period_days
    budget = to_fen(sum((e.pool_numerator for e in entitlements), ZERO), period_days)
    ints, _ = _as_scaled_ints(*(e.weight for e in entitlements))
    shares = apportion(budget, {e.worker_id: w for e, w in zip(entitlements, ints)})
    total_weight = sum((e.weight for e in entitlements), ZERO)
    return {
        e.worker_id: Payout(e.worker_id, sum(shares[e.worker_id]), mode, budget, total_weight,
                            shares[e.worker_id][0], shares[e.worker_id][1])
        for e in entitlements
    }


# -- a quarter --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class WorkerQuarterInput:
    """Everything scoring needs about one worker in one quarter."""

    worker_id: str
    post_level: str
    days_in_post: int
    counts: WorkerCounts = WorkerCounts()
    third_party: Decimal | None = None
    grid: str = ""
    post: str = ""


@dataclasses.dataclass(frozen=True)
class QuarterResult:
    worker_id: str
    components: tuple[Component, ...]
    composite: Decimal | None
    band: Band
    entitlement: Entitlement
    payout: Payout
    base_pay_fen: int


class _Scores:
    """A period's results per worker (``results``), each with its payout."""

    @property
    def total_pay_fen(self) -> int:
        return sum(r.payout.pay_fen for r in self.results.values())


@dataclasses.dataclass(frozen=True)
class QuarterScores(_Scores):
    quarter: Quarter
    policy_version: int
    workload_median: Decimal
    results: dict[str, QuarterResult]
    budget_fen: int | None


def base_pay_fen(policy: PayPolicy, standard_fen: int, days: int, period_days: int) -> int:
    """The non-performance part for a quarter: standard × (1 − 40%) ÷ 4, pro rata."""
    return to_fen(Decimal(standard_fen) * (1 - policy.performance_share) * days, 4 * period_days)


def score_quarter(policy: PayPolicy, quarter: Quarter, inputs: Mapping[str, WorkerQuarterInput]) -> QuarterScores:
    """Grade and pay every worker of a street for a quarter under one policy."""
    workload_median = median(i.counts.net_closed for i in inputs.values())
    graded = {}
    for worker_id in sorted(inputs):
        given = inputs[worker_id]
        if not 0 <= given.days_in_post <= quarter.days:
            raise ValueError(f"{worker_id}: days in post must be 0–{quarter.days}")
        scores = component_scores(given.counts, given.third_party, workload_median)
        components, score = composite(policy, scores)
        band = policy.band_for(score)
        entitlement = Entitlement(worker_id, policy.standard_for(given.post_level),
                                  policy.quarterly_pool_share, given.days_in_post, quarter.days,
                                  band.coefficient)
        graded[worker_id] = (components, score, band, entitlement)
    payouts = pay(policy.mode, [g[3] for g in graded.values()])
    results = {
        w: QuarterResult(w, c, s, b, e, payouts[w],
                         base_pay_fen(policy, e.standard_fen, e.days, e.period_days))
        for w, (c, s, b, e) in graded.items()
    }
    budget = next(iter(payouts.values())).budget_fen if payouts else None
    return QuarterScores(quarter, policy.version, workload_median, results, budget)


# -- a year -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class QuarterGrade:
    """A closed quarter as the year sees it."""

    quarter: Quarter
    composite: Decimal | None
    failed: bool
    days_in_post: int


@dataclasses.dataclass(frozen=True)
class WorkerYearInput:
    worker_id: str
    post_level: str  # the worker's latest post level in the year
    quarters: tuple[QuarterGrade, ...]


@dataclasses.dataclass(frozen=True)
class YearResult:
    worker_id: str
    mean: Decimal | None
    band: Band
    capped: bool
    entitlement: Entitlement
    payout: Payout


@dataclasses.dataclass(frozen=True)
class YearScores(_Scores):
    year: int
    policy_version: int
    results: dict[str, YearResult]
    budget_fen: int | None


def annual_grade(policy: PayPolicy, quarters: Sequence[QuarterGrade]) -> tuple[Decimal | None, Band, bool]:
    """(mean of the quarterly composites, band, capped): a failed quarter caps the year."""
    scores = [q.composite for q in quarters if q.composite is not None]
    mean = round_points(sum(scores, ZERO), len(scores)) if scores else None
    band = policy.band_for(mean)
    cap = policy.band_named(policy.annual_cap_on_fail)
    if any(q.failed for q in quarters) and policy.rank(band.grade) < policy.rank(cap.grade):
        return mean, cap, True
    return mean, band, False


def score_year(policy: PayPolicy, year: int, inputs: Mapping[str, WorkerYearInput]) -> YearScores:
    """Grade and pay the annual part (40% × 30% of the standard, pro rata by days in post)."""
    graded = {}
    for worker_id in sorted(inputs):
        given = inputs[worker_id]
        mean, band, capped = annual_grade(policy, given.quarters)
        days = sum(q.days_in_post for q in given.quarters)
        entitlement = Entitlement(worker_id, policy.standard_for(given.post_level),
                                  policy.annual_pool_share, days, days_in_year(year), band.coefficient)
        graded[worker_id] = (mean, band, capped, entitlement)
    payouts = pay(policy.mode, [g[3] for g in graded.values()])
    results = {w: YearResult(w, m, b, c, e, payouts[w]) for w, (m, b, c, e) in graded.items()}
    budget = next(iter(payouts.values())).budget_fen if payouts else None
    return YearScores(year, policy.version, results, budget)
