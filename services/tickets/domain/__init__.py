"""The tickets domain: the Ticket aggregate, its events, commands, errors, lifecycle,
deadlines and rates.

Pure: imports only the standard library, ``onegrid.domain`` and ``onegrid.errors``.
Commands live in ``domain.commands`` and the rates in ``domain.rates`` (import them from there).
"""
from .deadlines import (WORKING_DAYS, Calendar, Catalogue, Category, deadline_for,
                        end_of_day, local_date)
from .errors import (AlreadyOverdue, DeadlineNotPassed, DeadlinePassed, InvalidTicketCommand,
                     InvalidTransition, NotReopenable, TicketAlreadyExists, TicketError,
                     TicketNotFound, UnknownCategory)
from .events import (EVENT_TYPES, EVENTS_BY_NAME, PRIVATE_FIELDS, AssigneeKind,
                     CallbackRecorded, Channel, DeadlineClass, ExtensionDenied,
                     ExtensionGranted, ExtensionRequested, Level, Rating, TicketAccepted,
                     TicketCancelled, TicketClosed, TicketDispatched, TicketEscalated,
                     TicketMerged, TicketOpened, TicketOverdue, TicketReopened, TicketResolved,
                     TicketReturned, TicketSupervised, public_payload)
from .lifecycle import COMMANDS, TRANSITIONS, UNRESOLVED_STATES, TicketState, allowed_commands
from .ticket import Ticket, overdue_due

__all__ = [name for name, value in list(globals().items())
           if not name.startswith("_") and not hasattr(value, "__path__")
           and getattr(value, "__name__", "").rpartition(".")[0] != __name__]
