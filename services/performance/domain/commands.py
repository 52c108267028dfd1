"""The performance service's commands: what a caller asks for, as plain data."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Optional

from .policy import PayPolicy

frozen = dataclasses.dataclass(frozen=True)


@frozen
class RecordAssessment:
    """The third party's score 0–100 for a worker's quarter; a correction supersedes one."""

    worker_id: str
    quarter: str
    assessor: str
    score: Decimal
    assessment_id: str
    supersedes: Optional[str] = None
    reason: Optional[str] = None
    actor_id: Optional[str] = None


@frozen
class SetPolicy:
    """A new version of a street office's pay policy, effective from a quarter."""

    policy: PayPolicy
    actor_id: Optional[str] = None


@frozen
class SetPayLevel:
    """A worker's pay level (the pay standard's post level) from a day; None: today."""

    worker_id: str
    post_level: str
    on: Optional[dt.date] = None
    actor_id: Optional[str] = None


@frozen
class CloseQuarter:
    """Grade and pay every worker of a street office for an ended quarter (once)."""

    street: str
    quarter: str
    actor_id: Optional[str] = None


@frozen
class CloseYear:
    """Grade and pay the annual part once a street office's four quarters are closed."""

    street: str
    year: int
    actor_id: Optional[str] = None
