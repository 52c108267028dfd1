"""The composition root: what the tickets service's handlers, reactions and reads are given."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable

from onegrid.runtime import Setup

from .domain import Calendar, Catalogue
from .policy import load_calendar, load_catalogue
from .tables import TicketTables, make_tables


@dataclasses.dataclass(frozen=True)
class Context:
    """The read-model tables, the clock, the policy data and who the service is."""

    tables: TicketTables
    clock: Callable[[], dt.datetime]  # aware UTC now
    catalogue: Catalogue
    calendar: Calendar
    node_id: str  # the node (street office) tickets are opened on
    grid: str = "grid"  # the running name of the grid service (its decisions' actor_id)


def build_context(setup: Setup) -> Context:
    """The context of one running tickets service (``Store(context=build_context)``)."""
    return Context(tables=make_tables(setup.prefix), clock=setup.clock,
                   catalogue=load_catalogue(), calendar=load_calendar(),
                   node_id=setup.node_id, grid=setup.source("grid"))
