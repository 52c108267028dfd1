"""A worker's ledger: what one worker did in one quarter (stream ``ledger/<worker>/<quarter>``).

Ticket and patrol credits carry the id of the event they came from, so a redelivery records
nothing and the explanation can cite its sources; the third party's scores sit beside them.
``quarter_inputs`` gathers a street's scoring inputs from the records and ledgers.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Optional

from onegrid.domain import Aggregate, DomainEvent
from onegrid.errors import InvalidInput

from .errors import AssessmentAlreadyRecorded, AssessmentNotFound, CorrectionNeedsReason, InvalidScore
from .events import TICKET_OUTCOMES, AssessmentRecorded, PatrolCredited, TicketCredited
from .periods import Quarter
from .scoring import WorkerCounts, WorkerQuarterInput
from .worker import WorkerRecord

HUNDRED = Decimal(100)
class Ledger(Aggregate):
    """What one worker did in one quarter: credited ticket and patrol events, and scores."""

    kind = "ledger"

    def __init__(self, aggregate_id: str):
        super().__init__(aggregate_id)
        worker_id, _, quarter = self.key.rpartition("/")
        self.worker_id = worker_id
        self.quarter = Quarter.parse(quarter)
        self.sources: dict[str, list[str]] = {o: [] for o in TICKET_OUTCOMES}
        self.sources["patrols_completed"] = []
        self.sources["patrols_missed"] = []
        self.seen: set[str] = set()
        self.assessments: dict[str, AssessmentRecorded] = {}
        self.current_assessment: Optional[AssessmentRecorded] = None

    @classmethod
    def stream_id(cls, worker_id: str, quarter: Quarter | str) -> str:
        """``ledger/<worker id>/<quarter>``, e.g. ``ledger/w-1/2026Q3``."""
        return super().stream_id(worker_id, Quarter.parse(quarter))

    def credit_ticket(self, ticket_id: str, outcome: str, source_event_id: str) -> bool:
        """Credit a ticket event to this worker's quarter; False for a redelivery."""
        if outcome not in TICKET_OUTCOMES:
            raise InvalidInput({"outcome": [
                f"unknown ticket outcome {outcome!r}; use one of {', '.join(TICKET_OUTCOMES)}"]})
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
            raise InvalidInput({"assessor": ["an assessment needs its assessor"]})
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
