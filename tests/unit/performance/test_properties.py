"""Invariants: redelivery and reordering change no figure; budget-neutral pay meets the budget."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from services.performance.domain.events import TICKET_OUTCOMES
from services.performance.domain.policy import DEFAULT_PAY_STANDARDS, Mode
from services.performance.domain.scoring import Entitlement, pay, to_fen

from .helpers import Q3, Office, budget_neutral_policy, example_messages, standard_policy

scores = st.decimals(min_value=0, max_value=100, places=2)
counts = st.integers(min_value=0, max_value=5)
worker_specs = st.fixed_dictionaries({
    "grid": st.sampled_from(["SZ-01", "SZ-02"]),
    "post": st.sampled_from(["A", "B"]),
    "level": st.sampled_from(sorted(DEFAULT_PAY_STANDARDS)),
    "on": st.dates(min_value=dt.date(2026, 6, 1), max_value=dt.date(2026, 9, 30)),
    "score": st.none() | scores,
    "tickets": st.fixed_dictionaries({o: counts for o in TICKET_OUTCOMES}),
    "patrols": st.tuples(counts, counts),
})
examples = st.dictionaries(st.sampled_from(["w-a", "w-b", "w-c", "w-d"]), worker_specs, min_size=1, max_size=4)
modes = st.sampled_from([standard_policy, budget_neutral_policy])


@st.composite
def deliveries(draw, msgs):
    """The messages interleaved at random, each stream kept in order, some delivered twice."""
    streams: dict[str, list] = {}
    for msg in msgs:
        streams.setdefault(msg.stream, []).append(msg)
    labels = draw(st.permutations([m.stream for m in msgs]))
    cursors = {s: iter(ms) for s, ms in streams.items()}
    ordered = [next(cursors[label]) for label in labels]
    for _ in range(draw(st.integers(0, 10))):
        original = draw(st.integers(0, len(ordered) - 1))
        at = draw(st.integers(original + 1, len(ordered)))
        ordered.insert(at, ordered[original])
    return ordered


def figures(office):
    """Each worker's standing figure for the quarter: (pay, grade, composite)."""
    return {w: (f.pay_fen, f.grade, f.composite)
            for (period, w), f in sorted(office.street.figures.items())
            if period == str(Q3) and f.days_in_post}


def close_after(msgs, policy):
    office = Office(policy())
    for msg in msgs:
        office.deliver(msg)
    office.close()
    return office


@settings(max_examples=60, deadline=None)
@given(data=st.data(), example=examples, policy=modes)
def test_redelivered_and_reordered_inputs_give_the_same_figures(data, example, policy):
    msgs = example_messages(example=example)
    expected = figures(close_after(msgs, policy))
    assert figures(close_after(data.draw(deliveries(msgs)), policy)) == expected


@settings(max_examples=60, deadline=None)
@given(data=st.data(), example=examples, policy=modes)
def test_inputs_arriving_after_the_close_adjust_to_the_same_figures(data, example, policy):
    msgs = example_messages(example=example)
    expected = figures(close_after(msgs, policy))
    delivered = data.draw(deliveries(msgs))
    cut = data.draw(st.integers(0, len(delivered)))
    office = Office(policy())
    for msg in delivered[:cut]:
        office.deliver(msg)
    office.close()
    closed_total = office.street.quarters[Q3].total_pay_fen
    for msg in delivered[cut:]:
        office.deliver(msg)
    assert figures(office) == expected
    adjustments = sum(a.amount_fen for a in office.street.paid_in.get("2026Q4", []))
    assert closed_total + adjustments == sum(f[0] for f in expected.values())
    assert office.street.quarters[Q3].total_pay_fen == closed_total  # never rewritten


entitlements = st.lists(
    st.tuples(st.integers(1, 20_000_000), st.integers(0, 92),
              st.sampled_from([Decimal("1.2"), Decimal("1.0"), Decimal("0.8"), Decimal(0), Decimal("1.15")])),
    min_size=1, max_size=30,
).filter(lambda es: any(days and coefficient for _, days, coefficient in es))


@settings(max_examples=200, deadline=None)
@given(entitlements)
def test_budget_neutral_pay_totals_the_budget_to_the_fen(given_entitlements):
    es = [Entitlement(f"w-{i:02}", standard, Decimal("0.07"), days, 92, coefficient)
          for i, (standard, days, coefficient) in enumerate(given_entitlements)]
    paid = pay(Mode.BUDGET_NEUTRAL, es)
    budget = to_fen(sum(e.pool_numerator for e in es), 92)
    assert sum(p.pay_fen for p in paid.values()) == budget
    assert all(p.pay_fen == 0 for e, p in zip(es, paid.values()) if e.weight == 0)
    assert all(p.remainder_fen in (0, 1) for p in paid.values())
