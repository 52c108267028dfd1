"""Who handles a ticket: the pure dispatch rule (issue 4), driven by data/dispatch-rule.json.

``decide(ticket, view, rule)`` finds the ticket's grid (its grid code, else the grid holding
its location, else its community's designated grid), gives a category a department keeps to
that department, and otherwise picks the A post if on duty, else the B post, else the on-duty
worker of the community with the fewest open tickets; with no grid, or nobody on duty, the
street office takes it. Every decision says which step chose it and why. docs/grid-dispatch.md
explains the rule to people; this module must agree with it.

Standard library only: locating a point is a callable the caller passes in (``GridIndex.locate``);
the rule itself is data the caller loads (``context.load_rule``) and passes in.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Callable, Iterable, Mapping, Optional, Protocol, Sequence

GRID_STEPS = ("ticket_grid_code", "location", "community_designated_grid")
ASSIGNEE_STEPS = ("post_a", "post_b", "community_least_loaded")
TIE_BREAKS = ("fewest_open_tickets", "worker_id")


# --- the facts a decision needs --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TicketFacts:
    """What dispatch needs to know of a ticket at one opening or return."""

    ticket_id: str
    ticket_version: int
    category_code: str
    day: dt.date
    grid_code: Optional[str] = None
    lat: Optional[float] = None
    lng: Optional[float] = None
    community_code: Optional[str] = None
    street_code: Optional[str] = None
    exclude_workers: frozenset[str] = frozenset()  # e.g. who returned it (退单) or is leaving


@dataclasses.dataclass(frozen=True)
class GridFacts:
    code: str
    community_code: str
    street_code: str
    post_a: Optional[str] = None
    post_b: Optional[str] = None


class DistrictView(Protocol):
    """The read side dispatch consults; ``Snapshot`` is a plain in-memory implementation."""

    def grid(self, code: str) -> Optional[GridFacts]: ...
    def locate(self, lat: float, lng: float) -> Optional[str]: ...
    def locate_street(self, lat: float, lng: float) -> Optional[str]: ...
    def designated_grid(self, community_code: str) -> Optional[str]: ...
    def street_of(self, community_code: str) -> Optional[str]: ...
    def department_keeping(self, category_code: str) -> Optional[str]: ...
    def is_on_duty(self, worker_id: str, day: dt.date) -> bool: ...
    def community_workers(self, community_code: str) -> Sequence[str]: ...
    def open_tickets(self, worker_id: str) -> int: ...


@dataclasses.dataclass
class Snapshot:
    """A ``DistrictView`` over plain mappings and two locate callables."""

    grids: Mapping[str, GridFacts]
    designated_grids: Mapping[str, str] = dataclasses.field(default_factory=dict)
    community_streets: Mapping[str, str] = dataclasses.field(default_factory=dict)
    kept_categories: Mapping[str, str] = dataclasses.field(default_factory=dict)
    workers_by_community: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    off_duty: Callable[[str, dt.date], bool] | Iterable[tuple[str, dt.date]] = ()
    open_ticket_counts: Mapping[str, int] = dataclasses.field(default_factory=dict)
    locator: Optional[Callable[[float, float], Optional[str]]] = None
    street_locator: Optional[Callable[[float, float], Optional[str]]] = None

    def __post_init__(self):
        if not callable(self.off_duty):
            away = frozenset(self.off_duty)
            self.off_duty = lambda worker, day: (worker, day) in away

    def grid(self, code):
        return self.grids.get(code)

    def locate(self, lat, lng):
        return self.locator(lat, lng) if self.locator else None

    def locate_street(self, lat, lng):
        return self.street_locator(lat, lng) if self.street_locator else None

    def designated_grid(self, community_code):
        return self.designated_grids.get(community_code)

    def street_of(self, community_code):
        return self.community_streets.get(community_code)

    def department_keeping(self, category_code):
        return self.kept_categories.get(category_code)

    def is_on_duty(self, worker_id, day):
        return not self.off_duty(worker_id, day)

    def community_workers(self, community_code):
        return self.workers_by_community.get(community_code, ())

    def open_tickets(self, worker_id):
        return self.open_ticket_counts.get(worker_id, 0)


def kept_categories(departments: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """``{category: department}`` from each department's kept categories; a category kept twice is an error."""
    kept: dict[str, str] = {}
    for department in sorted(departments):
        for category in departments[department]:
            if category in kept:
                raise ValueError(f"category {category!r} is kept by both {kept[category]} and "
                                 f"{department}; give it to one department")
            kept[category] = department
    return kept


# --- the rule as data --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    reason: str
    max_open_tickets: Optional[int] = None
    tie_breaks: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class DispatchRule:
    version: int
    find_grid: tuple[Step, ...]
    department: Optional[Step]
    no_grid: Step
    assignees: tuple[Step, ...]
    nobody_on_duty: Step
    no_street: Step

    @classmethod
    def from_dict(cls, data: Mapping) -> "DispatchRule":
        """Build a rule from its JSON form; raises ValueError naming an unknown step or tie-break."""
        def step(d: Mapping, allowed: Iterable[str] | None = None) -> Step:
            if allowed is not None and d["step"] not in allowed:
                raise ValueError(f"unknown dispatch step {d['step']!r}; known: {', '.join(allowed)}")
            ties = tuple(d.get("tie_breaks", ()))
            for tie in ties:
                if tie not in TIE_BREAKS:
                    raise ValueError(f"unknown tie-break {tie!r}; known: {', '.join(TIE_BREAKS)}")
            return Step(d["step"], d["reason"], d.get("max_open_tickets"), ties)

        department = data.get("department")
        return cls(
            version=int(data["version"]),
            find_grid=tuple(step(d, GRID_STEPS) for d in data["find_grid"]),
            department=step(department) if department and department.get("enabled", True) else None,
            no_grid=step(data["no_grid"]),
            assignees=tuple(step(d, ASSIGNEE_STEPS) for d in data["assignees"]),
            nobody_on_duty=step(data["nobody_on_duty"]),
            no_street=step(data["no_street"]),
        )


# --- the decision ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Decision:
    """Who handles one opening of a ticket, which step chose them, and why."""

    ticket_id: str
    ticket_version: int
    assignee_kind: str  # worker | department | street | district
    assignee_id: str
    grid_code: Optional[str]
    community_code: Optional[str]
    street_code: Optional[str]
    step: str
    reason: str
    rule_version: int

    def event_fields(self) -> dict:
        """Keyword arguments for ``TicketDispatch.decide``."""
        return dataclasses.asdict(self)


class _Facts(dict):
    def __missing__(self, key):
        return "?"


def _fill(template: str, **facts) -> str:
    return template.format_map(_Facts({k: v for k, v in facts.items() if v is not None}))


def decide(ticket: TicketFacts, view: DistrictView, rule: DispatchRule) -> Decision:
    """Decide who handles ``ticket`` under ``rule``."""
    notes: list[str] = []
    grid, grid_reason = _find_grid(ticket, view, rule, notes)
    community = grid.community_code if grid else ticket.community_code
    street = (grid.street_code if grid else None) or ticket.street_code or (
        view.street_of(community) if community else None)
    facts = dict(grid=grid.code if grid else None, community=community, street=street,
                 category=ticket.category_code, day=ticket.day.isoformat(),
                 lat=ticket.lat, lng=ticket.lng)

    def decision(kind: str, assignee: str, step: Step, **more) -> Decision:
        reason = _fill(step.reason, **facts, **more)
        if grid_reason:
            reason = f"{grid_reason}; {reason}"
        if notes:
            reason = f"{reason} ({'; '.join(notes)})"
        return Decision(ticket.ticket_id, ticket.ticket_version, kind, assignee,
                        facts["grid"], community, street, step.name, reason, rule.version)

    if rule.department is not None:
        department = view.department_keeping(ticket.category_code)
        if department:
            return decision("department", department, rule.department, department=department)

    if grid is None:
        if street is None and ticket.lat is not None and ticket.lng is not None:
            street = facts["street"] = view.locate_street(ticket.lat, ticket.lng)
        if street is None:
            return decision("district", "district", rule.no_street)
        return decision("street", street, rule.no_grid)

    for step in rule.assignees:
        chosen = _ASSIGNEE_STEPS[step.name](ticket, grid, view, step, notes)
        if chosen is not None:
            worker, more = chosen
            return decision("worker", worker, step, worker=worker, **more)
    return decision("street", street, rule.nobody_on_duty)


def _find_grid(ticket: TicketFacts, view: DistrictView, rule: DispatchRule,
               notes: list[str]) -> tuple[Optional[GridFacts], Optional[str]]:
    for step in rule.find_grid:
        code = None
        if step.name == "ticket_grid_code" and ticket.grid_code:
            code = ticket.grid_code
        elif step.name == "location" and ticket.lat is not None and ticket.lng is not None:
            code = view.locate(ticket.lat, ticket.lng)
            if code is None:
                notes.append(f"location ({ticket.lat}, {ticket.lng}) lies in no grid")
        elif step.name == "community_designated_grid" and ticket.community_code:
            code = view.designated_grid(ticket.community_code)
            if code is None:
                notes.append(f"community {ticket.community_code} has no designated grid")
        if code is None:
            continue
        grid = view.grid(code)
        if grid is None:
            notes.append(f"grid {code} is unknown")
            continue
        return grid, _fill(step.reason, grid=grid.code, lat=ticket.lat, lng=ticket.lng,
                           community=ticket.community_code)
    return None, None


def _available(worker: Optional[str], ticket: TicketFacts, view: DistrictView) -> Optional[str]:
    """Why ``worker`` can't take the ticket, or None if they can."""
    if worker is None:
        return "vacant"
    if worker in ticket.exclude_workers:
        return f"{worker} is excluded from this dispatch"
    if not view.is_on_duty(worker, ticket.day):
        return f"{worker} is off duty on {ticket.day.isoformat()}"
    return None


def _post(which: str):
    def step_fn(ticket, grid, view, step, notes):
        worker = grid.post_a if which == "A" else grid.post_b
        why_not = _available(worker, ticket, view)
        if why_not is None and step.max_open_tickets is not None \
                and view.open_tickets(worker) >= step.max_open_tickets:
            why_not = f"{worker} already has {view.open_tickets(worker)} open tickets"
        if why_not is not None:
            notes.append(f"{which} post of grid {grid.code}: {why_not}")
            return None
        return worker, {}
    return step_fn


def _community_least_loaded(ticket, grid, view, step, notes):
    candidates = [w for w in view.community_workers(grid.community_code)
                  if _available(w, ticket, view) is None]
    if not candidates:
        notes.append(f"no worker of community {grid.community_code} is available")
        return None
    keys = {"fewest_open_tickets": view.open_tickets, "worker_id": lambda w: w}
    ties = step.tie_breaks or ("worker_id",)
    worker = min(candidates, key=lambda w: tuple(keys[t](w) for t in ties))
    return worker, {"open_tickets": view.open_tickets(worker)}


_ASSIGNEE_STEPS = {"post_a": _post("A"), "post_b": _post("B"),
                   "community_least_loaded": _community_least_loaded}
