"""The performance domain: pure, the standard library, ``onegrid.domain`` and ``onegrid.errors`` only.

  periods    Quarter, parse_period: quarters like 2026Q3, years like 2026
  policy     PayPolicy, Weights, Band, Mode: the pay policy as validated data
  scoring    round_points / to_fen (the rounding rule), composite, pay, score_quarter, score_year
  events     the service's events (frozen DomainEvent dataclasses)
  worker     WorkerRecord: the posts a worker held (stream ``worker/<id>``)
  ledger     Ledger: a worker's quarter of credits and scores (``ledger/<id>/<quarter>``);
             quarter_inputs
  street     StreetPeriod: policies, closings and adjustments (``period/<street>``)
  figure     Figure: a worker's closed figure, as adjusted
  explain    explain: a closed figure's inputs, policy and arithmetic
  commands   the commands callers send
  errors     PerformanceError and its subclasses
"""
from .commands import CloseQuarter, CloseYear, RecordAssessment, SetPayLevel, SetPolicy
from .errors import (
    AssessmentAlreadyRecorded, AssessmentNotFound, BandsOutOfOrder, CorrectionNeedsReason,
    InvalidPeriod, InvalidPolicy, InvalidScore, InvalidShare, InvalidValue, PerformanceError,
    PeriodNotClosed, PeriodNotEnded, PolicyForClosedPeriod, PolicyMissing, PolicyVersionConflict,
    UnknownGrid, UnknownPostLevel, UnknownWorker, WeightsDoNotSumToHundred, WorkerNotInPeriod,
    YearNotReady,
)
from .events import (
    EVENTS, TICKET_OUTCOMES, AnnualGradeAwarded, AnnualPayComputed, AssessmentRecorded,
    PatrolCredited, PayAdjusted, PolicySet, QuarterClosed, QuarterlyGradeAwarded,
    QuarterlyPayComputed, TicketCredited, WorkerLeftPost, WorkerPosted, YearClosed,
)
from .explain import Explanation, explain
from .figure import Figure
from .ledger import Ledger, quarter_inputs
from .periods import Quarter, parse_period, quarters_of
from .policy import Band, Mode, PayPolicy, Weights, default_policy, policy_in_force
from .street import StreetPeriod
from .worker import Stint, WorkerRecord

__all__ = [name for name, value in list(globals().items())
           if not name.startswith("_") and not hasattr(value, "__path__")
           and getattr(value, "__name__", "").rpartition(".")[0] != __name__]
