"""The nameko service ``performance``: grades and performance pay from what workers did.

Thin shell: each command validates its fields (``schemas.COMMAND_SCHEMAS``) and runs its
handler in one store transaction; each read runs on one snapshot (``reads.py``); tickets' and
grid's events reach the reactions of ``handlers.REACTIONS`` through the inbox. The config key
``PERFORMANCE_TODAY`` (an ISO date) overrides the clock, for a rehearsal of a closing or a test.
"""
from __future__ import annotations

from onegrid.runtime import Commands, EventLogRpc, Inbox, Store, consume, rpc

from . import reads
from .context import build_context
from .domain.commands import CloseQuarter, CloseYear, RecordAssessment, SetPayLevel, SetPolicy
from .handlers import COMMANDS, REACTIONS
from .projections import projections
from .schemas import COMMAND_SCHEMAS, REGISTRY


class PerformanceService(EventLogRpc):
    name = "performance"
    store = Store(REGISTRY, context=build_context, projections=projections)
    commands = Commands(COMMANDS, COMMAND_SCHEMAS)
    inbox = Inbox(REACTIONS, tables=lambda ctx: ctx.tables.reactions)

    # -- commands ---------------------------------------------------------------------------

    @rpc
    def record_assessment(self, actor=None, **fields):
        """The third party's score 0–100 for a worker's quarter; a correction supersedes one."""
        return self.commands.run(RecordAssessment, fields, actor, new_id="assessment_id")

    @rpc
    def set_policy(self, actor=None, **fields):
        """A new version of a street office's pay policy, effective from a quarter."""
        return self.commands.run(SetPolicy, fields, actor)

    @rpc
    def set_pay_level(self, actor=None, **fields):
        """The pay level (post level of the pay standard) of a worker, from a day (default today)."""
        return self.commands.run(SetPayLevel, fields, actor)

    @rpc
    def close_quarter(self, street=None, quarter=None, actor=None, **fields):
        """Grade and pay every worker of a street office for an ended quarter (once)."""
        return self.commands.run(CloseQuarter, dict(fields, street=street, quarter=quarter), actor)

    @rpc
    def close_year(self, street=None, year=None, actor=None, **fields):
        """Grade and pay the annual part for a street office once its four quarters are closed."""
        return self.commands.run(CloseYear, dict(fields, street=street, year=year), actor)

    # -- reads ------------------------------------------------------------------------------

    @rpc
    def explain(self, worker_id, period, street=None):
        """Explain a worker's closed figure: inputs, policy, components, grade and arithmetic."""
        return self.store.query(lambda q: reads.explain(q, self.store.context, worker_id, period, street))

    @rpc
    def payroll(self, street, period):
        """The payroll sheet of a closed quarter or year, one dict per worker (money in fen)."""
        return self.store.query(lambda q: reads.payroll(q, self.store.context, street, period))

    @rpc
    def adjustments(self, street, paid_in):
        """The PayAdjusted paid in a quarter (whichever closed period each revises)."""
        return self.store.query(lambda q: reads.adjustments(q, self.store.context, street, paid_in))

    @rpc
    def pay_summary(self, street, period):
        """Grade distribution and pay totals of a closed period (the dashboard's read model)."""
        return self.store.query(lambda q: reads.pay_summary(q, self.store.context, street, period))

    @rpc
    def policy(self, street, period=None):
        """The policy in force for a street office in a quarter (default: the latest version)."""
        return self.store.query(lambda q: reads.policy(q, self.store.context, street, period))

    # -- reactions --------------------------------------------------------------------------

    @consume(REACTIONS)
    def react(self, source, event):
        return self.inbox.apply(source, event)


SERVICE = PerformanceService
