"""The performance service: folds ticket and grid events and third-party scores into grades and pay.

Pure core (standard library and onegrid.domain only):
  periods.Quarter, parse_period            quarters like 2026Q3, years like 2026
  policy.PayPolicy, Weights, Band, Mode    the pay policy as validated data; default_policy, policy_in_force
  scoring                                  round_points / to_fen (the rounding rule), composite, pay, score_quarter, score_year
  events                                   the service's events (frozen DomainEvent dataclasses)
  domain.WorkerRecord, Ledger, StreetPeriod, quarter_inputs, explain
  errors.PerformanceError and its subclasses
Boundary: schemas (marshmallow, EVENT_SCHEMAS), reports (payroll CSV / Excel).
See docs/performance.md for the rules and a worked example.
"""
