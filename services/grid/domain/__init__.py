"""The grid service's pure domain: events, commands, errors, aggregates and rules.

Standard library, ``onegrid.domain`` and ``onegrid.errors`` only. Aggregates and their streams:

- ``Street`` (``street/<code>``): ``register``.
- ``Community`` (``community/<code>``): ``register``, ``draw_grid``, ``designate_grid``,
  ``enroll``, ``post``, ``move``, ``grant_leave``, ``leave``; reads ``holder``, ``posts_of``,
  ``is_on_duty``, ``on_duty_workers``.
- ``Department`` (``department/<code>``): ``register``, ``set_categories``.
- ``Patrol`` (``patrol/<id>``): ``start``, ``finish``, ``report_problem``.
- ``PatrolRound`` (``missed/<grid>/<day>/<window>``): ``record_missed``.
- ``TicketDispatch`` (``dispatch/<ticket id>``): ``decide``, ``reassign_from``.

Each class gives its own stream: ``Community.stream_id("zhongcheng")``. Rules:
``dispatch_rule`` (who handles a ticket) and ``patrol_schedule`` (patrol windows, missed
rounds). Geometry checks reach aggregates through the ``Geometry`` protocol; pass
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
from .streams import Named
