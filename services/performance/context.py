"""The composition root: what the performance service's handlers, reactions and reads are given."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Optional

from onegrid.domain import LOCAL_TZ
from onegrid.runtime import Setup

from .tables import PerformanceTables, make_tables


@dataclasses.dataclass(frozen=True)
class Context:
    """The service's tables, its clock and the pay level of a worker nobody set one for."""

    tables: PerformanceTables
    clock: Callable[[], dt.datetime]  # aware UTC now
    default_level: str = "standard"
    fixed_today: Optional[dt.date] = None  # PERFORMANCE_TODAY: a rehearsal of a closing, a test

    def today(self) -> dt.date:
        """The street office's calendar day now (``PERFORMANCE_TODAY`` when it is set)."""
        return self.fixed_today or self.clock().astimezone(LOCAL_TZ).date()


def build_context(setup: Setup) -> Context:
    """The context of one running performance service (``Store(context=build_context)``)."""
    config = setup.config
    fixed = config.get("PERFORMANCE_TODAY")
    return Context(tables=make_tables(setup.prefix), clock=setup.clock,
                   default_level=str(config.get("PERFORMANCE_DEFAULT_POST_LEVEL") or "standard"),
                   fixed_today=dt.date.fromisoformat(str(fixed)) if fixed else None)
