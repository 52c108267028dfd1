"""A worker's standing figure for a closed period: as closed, then as adjusted."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Optional

from onegrid.domain import DomainEvent

from .events import PayAdjusted


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
