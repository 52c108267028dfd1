"""The grid service's pure domain: events, errors and aggregates (standard library only).

Aggregates and their stream ids:

- ``Street`` (street code): ``register``.
- ``Community`` (community code): ``register``, ``draw_grid``, ``designate_grid``, ``enroll``,
  ``post``, ``move``, ``grant_leave``, ``leave``; reads ``holder``, ``posts_of``,
  ``is_on_duty``, ``on_duty_workers``.
- ``Department`` (department code): ``register``, ``set_categories``.
- ``Patrol`` (patrol id): ``start``, ``finish``, ``report_problem``.
- ``PatrolRound`` (``PatrolRound.stream_id(grid, day, window)``): ``record_missed``.
- ``TicketDispatch`` (``TicketDispatch.stream_id(ticket_id)``): ``decide``.

Geometry checks reach aggregates through the ``Geometry`` protocol; pass
``services.grid.geo.SHAPELY``.
"""
from .community import Community, Department, GridState, Street, WorkerState, other_post
from .dispatching import TicketDispatch
from .errors import *  # noqa: F401,F403
from .errors import GridError
from .events import *  # noqa: F401,F403
from .events import ALL_EVENTS
from .patrol import Patrol, PatrolRound, check_location
from .rings import Geometry, as_ring, ring_to_wkt
