"""Explain a worker's closed figure: the inputs, the policy, and the arithmetic, line by line."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Iterable, Optional

from .errors import PeriodNotClosed, WorkerNotInPeriod
from .events import PayAdjusted
from .periods import Quarter, parse_period
from .scoring import ratio

_COUNTED = (
    "dispatched", "accepted", "resolved_on_time", "resolved_late", "satisfied",
    "basically_satisfied", "unsatisfied", "returned", "reopened", "overdue", "closed",
    "patrols_completed", "patrols_missed",
)


@dataclasses.dataclass(frozen=True)
class InputCount:
    """How many events of one kind were credited, and their ids."""

    name: str
    count: int
    sources: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Explanation:
    worker_id: str
    street: str
    period: str
    policy_version: int
    mode: str
    inputs: tuple[InputCount, ...]
    components: tuple[tuple[str, Optional[Decimal], Decimal], ...]
    composite: Optional[Decimal]  # for a year: the mean of the quarterly composites
    grade: str
    coefficient: Decimal
    closed_pay_fen: int
    adjustments: tuple[PayAdjusted, ...]
    pay_fen: int  # the figure as it stands, adjustments included
    lines: tuple[str, ...]

    def text(self) -> str:
        return "\n".join(self.lines)


def money(fen: int) -> str:
    """``588,000 fen (¥5,880.00)``"""
    return f"{fen:,} fen (¥{Decimal(fen).scaleb(-2):,.2f})"


def _exact(numerator, denominator) -> str:
    return f"{ratio(numerator, denominator, 4):,}"


def explain(worker_id: str, period, *, street, ledgers: Iterable = ()) -> Explanation:
    """Explain ``worker_id``'s figure for a closed quarter (``2026Q3``) or year (``2026``).

    ``street`` is the worker's StreetPeriod; ``ledgers`` the worker's Ledgers (any quarters),
    which supply the counts and the ids of the events they came from.
    """
    period = parse_period(str(period))
    if not street.is_closed(period):
        raise PeriodNotClosed(f"{period} is not closed for {street.street}; close it first")
    figure = street.figure(period, worker_id)
    if figure is None:
        raise WorkerNotInPeriod(f"{worker_id} has no figure for {period} in {street.street}")
    ledgers = [l for l in ledgers if l.worker_id == worker_id]
    if isinstance(period, Quarter):
        return _explain_quarter(worker_id, period, street, figure, ledgers)
    return _explain_year(worker_id, period, street, figure, ledgers)


def _head(worker_id, period, street, version, mode) -> list[str]:
    policy = street.policies[version]
    return [f"{worker_id} · {street.street} · {period}",
            f"policy v{version} of {street.street} (in force from {policy.effective_from}), mode {mode}"]


def _inputs(ledger) -> tuple[InputCount, ...]:
    if ledger is None:
        return ()
    counted = tuple(InputCount(n, len(ledger.sources[n]), tuple(ledger.sources[n])) for n in _COUNTED)
    history = tuple(a.assessment_id for a in ledger.assessments.values())
    return counted + (InputCount("assessments", len(history), history),)


def _ids(sources, shown: int = 5) -> str:
    """The first few event ids (the Explanation's ``inputs`` keep all of them)."""
    if not sources:
        return ""
    more = f", … +{len(sources) - shown} more" if len(sources) > shown else ""
    return f"  [{', '.join(sources[:shown])}{more}]"


def _component_lines(components, counts, median) -> list[str]:
    formulas = {}
    if counts is not None:
        c = counts
        formulas = {
            "closure": f"100 × (closed {c.closed} − reopened {c.reopened}) ÷ dispatched {c.dispatched}",
            "on_time": f"100 × on time {c.resolved_on_time} ÷ (on time {c.resolved_on_time} + late {c.resolved_late})",
            "satisfaction": f"100 × (satisfied {c.satisfied} + basically {c.basically_satisfied}) ÷ callbacks {c.callbacks}",
            "patrol": f"100 × completed {c.patrols_completed} ÷ (completed {c.patrols_completed} + missed {c.patrols_missed})",
            "workload": f"100 × net closed {c.net_closed} ÷ street median {median} (capped at 100)",
        }
    lines = ["components (points, rounded half up to 0.01):"]
    for name, score, weight in components:
        shown = "no data — left out" if score is None else f"{score}"
        how = f"{formulas[name]} = " if name in formulas and score is not None else ""
        lines.append(f"  {name} (weight {weight}): {how}{shown}")
    present = [(s, w) for _, s, w in components if s is not None]
    if present:
        total = sum(w for _, w in present)
        terms = " + ".join(f"{w} × {s}" for s, w in present)
        lines.append(f"composite = ({terms}) ÷ {total}")
    return lines


def _pay_lines(pay, coefficient, unit) -> list[str]:
    numerator = Decimal(pay.standard_fen) * pay.share * pay.days_in_post
    lines = [f"pool = standard {pay.standard_fen:,} fen × {pay.share} × {pay.days_in_post} ÷ {pay.period_days} "
             f"days = {_exact(numerator, pay.period_days)} fen"]
    if pay.mode == "standard":
        lines.append(f"pay = pool × {coefficient} = {_exact(numerator * coefficient, pay.period_days)} fen "
                     f"→ {money(pay.pay_fen)} (half up to the fen)")
        return lines
    weight = numerator * coefficient
    lines += [
        f"street budget = Σ pools of the {unit} = {money(pay.budget_fen)}",
        f"weight = pool × {coefficient} = {_exact(weight, pay.period_days)}; "
        f"all weights = {_exact(pay.total_weight, pay.period_days)}",
        (f"share = budget × weight ÷ all weights = {_exact(pay.budget_fen * weight, pay.total_weight)} fen"
         if pay.total_weight else "share = 0 (no one earned a coefficient above 0)"),
        f"pay = {pay.floor_fen:,} whole fen + {pay.remainder_fen} fen by largest remainder = {money(pay.pay_fen)}",
    ]
    return lines


def _adjustment_lines(figure) -> list[str]:
    lines = []
    for adj in figure.adjustments:
        lines.append(f"adjusted {adj.amount_fen:+,} fen, paid in {adj.paid_in} ({adj.reason}, event {adj.cause}): "
                     f"composite {adj.composite}, grade {adj.grade}, coefficient {adj.coefficient}, "
                     f"revised pay {money(adj.pay_fen)}")
    if figure.adjustments:
        lines.append(f"figure as it stands: {money(figure.pay_fen)}")
    return lines


def _explain_quarter(worker_id, quarter, street, figure, ledgers) -> Explanation:
    closed = street.quarters[quarter]
    ledger = next((l for l in ledgers if l.quarter == quarter), None)
    award, pay = figure.award, figure.pay
    version = closed.policy_version
    lines = _head(worker_id, quarter, street, version, street.policies[version].mode.value)
    inputs = _inputs(ledger)
    if award is not None:
        lines.append(f"grid {award.grid}, post {award.post}, level {award.post_level}, "
                     f"{award.days_in_post} of {quarter.days} days in post")
    if inputs:
        lines.append("inputs:")
        lines += [f"  {i.name}: {i.count}" + _ids(i.sources) for i in inputs]
    if ledger is not None and ledger.current_assessment is not None:
        a = ledger.current_assessment
        lines.append(f"third-party score {a.score} by {a.assessor} ({a.assessment_id}"
                     + (f", supersedes {a.supersedes}: {a.reason}" if a.supersedes else "") + ")")
    if award is not None:
        # the closed figure; a later adjustment shows its own revised components below
        counts = ledger.counts() if ledger is not None and not figure.adjustments else None
        lines += _component_lines(award.components, counts, closed.workload_median)
        lines.append(f"composite = {award.composite}")
        band = street.policies[version].band_named(award.grade)
        lines.append(f"grade {award.grade} (≥ {band.min_score}) → coefficient {award.coefficient}")
        lines += _pay_lines(pay, award.coefficient, "quarter")
    lines += _adjustment_lines(figure)
    return Explanation(
        worker_id, street.street, str(quarter), version, pay.mode if pay else "standard", inputs,
        figure.components, figure.composite, figure.grade, figure.coefficient,
        pay.pay_fen if pay else 0, tuple(figure.adjustments), figure.pay_fen, tuple(lines))


def _explain_year(worker_id, year, street, figure, ledgers) -> Explanation:
    closed = street.years[year]
    award, pay = figure.award, figure.pay
    version = closed.policy_version
    lines = _head(worker_id, year, street, version, pay.mode)
    marks = award.quarters
    shown = ", ".join(f"{q} {c if c is not None else 'no data'}" + (" (fail)" if f else "") for q, c, f in marks)
    lines.append(f"quarterly composites: {shown}")
    scores = [c for _, c, _ in marks if c is not None]
    if scores:
        lines.append(f"mean = ({' + '.join(str(s) for s in scores)}) ÷ {len(scores)} = {award.mean}")
    if award.capped:
        lines.append(f"a failed quarter caps the year at {award.grade}")
    lines.append(f"grade {award.grade} → coefficient {award.coefficient}")
    lines += _pay_lines(pay, award.coefficient, "year")
    lines += _adjustment_lines(figure)
    inputs = tuple(
        InputCount(f"{l.quarter} {i.name}", i.count, i.sources)
        for l in sorted(ledgers, key=lambda l: l.quarter) if l.quarter.year == year for i in _inputs(l)
    )
    return Explanation(
        worker_id, street.street, str(year), version, pay.mode, inputs, (), figure.composite,
        figure.grade, figure.coefficient, pay.pay_fen, tuple(figure.adjustments), figure.pay_fen,
        tuple(lines))
