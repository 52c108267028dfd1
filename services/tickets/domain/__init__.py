"""The tickets domain: the Ticket aggregate, its events, errors, lifecycle and deadlines.

Pure: imports only the standard library and ``onegrid.domain``.
"""
from .deadlines import (SHANGHAI, WORKING_DAYS, Calendar, Catalogue, Category, deadline_for,
                        end_of_day, local_date)
from .errors import (AlreadyOverdue, DeadlineNotPassed, DeadlinePassed, InvalidInput,
                     InvalidTicketCommand,
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
