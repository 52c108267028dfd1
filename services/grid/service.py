"""The nameko service ``grid``: the map, the people, patrols, and who handles each ticket.

Thin: each ``@rpc`` command runs its handler (``handlers.COMMANDS``) through
``self.commands``; each read runs a function of ``reads`` on one snapshot. Commands settle, so
a caller reads its own writes (register a grid, then patrol it). The patrol timer's interval
is ``GRID_PATROL_CHECK_SECONDS`` (30).
"""
from __future__ import annotations

from onegrid.inputs import load_input
from onegrid.runtime import Commands, EventLogRpc, Inbox, Store, consume, rpc, timer

from . import reads
from .context import build_context
from .domain.commands import (DesignateGrid, DrawGrid, EnrollWorker, FinishPatrol, GrantLeave,
                              MoveWorker, PostWorker, ReassignTickets, RecordMissedPatrols,
                              RecordWorkerLeft, RegisterCommunity, RegisterDepartment,
                              RegisterStreet, ReportProblem, SetDepartmentCategories,
                              StartPatrol)
from .domain.dispatch_rule import TicketFacts
from .handlers import COMMANDS, REACTIONS
from .projections import projections
from .schemas import COMMAND_SCHEMAS, REGISTRY, DispatchTicket, Locate, Roster

#: missed rounds recorded per transaction
MISSED_BATCH = 100


class GridService(EventLogRpc):
    name = "grid"
    store = Store(REGISTRY, context=build_context, projections=projections)
    commands = Commands(COMMANDS, COMMAND_SCHEMAS, settle=True)
    inbox = Inbox(REACTIONS, tables=lambda ctx: ctx.tables.reactions)

    # --- the map -----------------------------------------------------------------------------

    @rpc
    def register_street(self, actor=None, **fields):
        """Register a street office with its boundary (it may not overlap another street)."""
        return self.commands.run(RegisterStreet, fields, actor)

    @rpc
    def register_community(self, actor=None, **fields):
        """Register a community inside its street office."""
        return self.commands.run(RegisterCommunity, fields, actor)

    @rpc
    def register_grid(self, actor=None, **fields):
        """Draw a grid inside its community (valid polygon, no overlap with its siblings)."""
        return self.commands.run(DrawGrid, fields, actor)

    @rpc
    def designate_grid(self, actor=None, **fields):
        """Name the grid that takes a community's tickets known only by their community."""
        return self.commands.run(DesignateGrid, fields, actor)

    @rpc
    def register_department(self, actor=None, **fields):
        return self.commands.run(RegisterDepartment, fields, actor)

    @rpc
    def set_department_categories(self, actor=None, **fields):
        """Set the ticket categories a department keeps instead of admitting them to the grid."""
        return self.commands.run(SetDepartmentCategories, fields, actor)

    # --- the people --------------------------------------------------------------------------

    @rpc
    def enroll_worker(self, actor=None, **fields):
        return self.commands.run(EnrollWorker, fields, actor)

    @rpc
    def post_worker(self, actor=None, **fields):
        """Give a worker the A or B post of a grid."""
        return self.commands.run(PostWorker, fields, actor)

    @rpc
    def move_worker(self, actor=None, **fields):
        return self.commands.run(MoveWorker, fields, actor)

    @rpc
    def grant_leave(self, actor=None, **fields):
        """Put a worker on leave for a day (refused if their A/B partner is away that day)."""
        return self.commands.run(GrantLeave, fields, actor)

    @rpc
    def record_worker_left(self, actor=None, **fields):
        """Record that a worker leaves the job; their posts fall vacant, their tickets move."""
        return self.commands.run(RecordWorkerLeft, fields, actor)

    # --- patrols -----------------------------------------------------------------------------

    @rpc
    def start_patrol(self, actor=None, **fields):
        """Check in for a patrol; a start outside the grid is recorded and flagged."""
        return self.commands.run(StartPatrol, fields, actor)

    @rpc
    def finish_patrol(self, actor=None, **fields):
        return self.commands.run(FinishPatrol, fields, actor)

    @rpc
    def report_problem(self, actor=None, **fields):
        """Report a problem found on a patrol: ``ProblemReported``, which tickets opens as a ticket."""
        return self.commands.run(ReportProblem, fields, actor)

    @timer("GRID_PATROL_CHECK_SECONDS", 30)
    def check_patrols(self):
        """Record missed patrol windows and move tickets away from workers who are away."""
        ctx = self.store.context
        rounds = self.store.query(lambda q: reads.missed_rounds(q, ctx, ctx.clock()))
        for i in range(0, len(rounds), MISSED_BATCH):
            self.commands.execute(RecordMissedPatrols(tuple(rounds[i:i + MISSED_BATCH])))
        today = ctx.today()
        for worker_id, trigger in self.store.query(lambda q: reads.workers_away(q, ctx, today)):
            self.commands.execute(ReassignTickets(worker_id, today, trigger))

    # --- reads -------------------------------------------------------------------------------

    @rpc
    def locate(self, lat, lng):
        """The grid (with its community and street) holding a point, or None."""
        point = load_input(Locate, {"lat": lat, "lng": lng})
        return self.store.query(lambda q: reads.locate(q, self.store.context, **point))

    @rpc
    def grid(self, grid_code):
        return self.store.query(lambda q: reads.grid(q, self.store.context, grid_code))

    @rpc
    def grids(self, community_code=None):
        return self.store.query(lambda q: reads.grids(q, self.store.context, community_code))

    @rpc
    def streets(self):
        return self.store.query(lambda q: reads.streets(q, self.store.context))

    @rpc
    def communities(self, street_code=None):
        return self.store.query(lambda q: reads.communities(q, self.store.context, street_code))

    @rpc
    def departments(self):
        return self.store.query(lambda q: reads.departments(q, self.store.context))

    @rpc
    def worker(self, worker_id):
        return self.store.query(lambda q: reads.worker(q, self.store.context, worker_id))

    @rpc
    def roster(self, community_code, day):
        """Who of a community is on duty and who is away on a day."""
        asked = load_input(Roster, {"community_code": community_code, "day": day})
        return self.store.query(lambda q: reads.roster(q, self.store.context, **asked))

    @rpc
    def patrols(self, grid_code, day=None):
        return self.store.query(lambda q: reads.patrols(q, self.store.context, grid_code, day))

    @rpc
    def missed_patrols(self, grid_code=None, day=None):
        return self.store.query(
            lambda q: reads.missed_patrols(q, self.store.context, grid_code, day))

    @rpc
    def dispatch_of(self, ticket_id):
        """Every decision made for a ticket, oldest first."""
        return self.store.query(lambda q: reads.dispatch_of(q, self.store.context, ticket_id))

    @rpc
    def preview_dispatch(self, **fields):
        """Who would handle a ticket with these facts now (records nothing)."""
        given = load_input(DispatchTicket, fields)
        facts = TicketFacts(**dict(given, exclude_workers=frozenset(given["exclude_workers"])))
        return self.store.query(lambda q: reads.preview_dispatch(q, self.store.context, facts))

    @rpc
    def status(self):
        """How much of the map the read models hold (tests and ops wait on it)."""
        return self.store.query(lambda q: reads.status(q, self.store.context))

    @consume(REACTIONS)
    def react(self, source, event):
        """Dispatch on TicketOpened and TicketReturned; track who holds which open ticket."""
        return self.inbox.apply(source, event)


SERVICE = GridService
