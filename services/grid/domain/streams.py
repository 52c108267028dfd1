"""Stream names: every grid aggregate lives on ``<kind>/<id>`` (docs/architecture.md)."""
from __future__ import annotations

from onegrid.domain import Aggregate


class Named(Aggregate):
    """An aggregate whose stream must be ``<kind>/<code>``; ``code`` is its own id.

    Two kinds can never share a stream: a patrol ``co`` lives on ``patrol/co``, the community
    ``co`` on ``community/co``.
    """

    def __init__(self, aggregate_id: str):
        prefix = f"{self.kind}/"
        if not aggregate_id.startswith(prefix) or aggregate_id == prefix:
            name = type(self).__name__
            raise ValueError(f"a {name} lives on a stream {prefix}<id>, not {aggregate_id!r}: "
                             f"use {name}.stream_id(...)")
        super().__init__(aggregate_id)
        self.code = self.key
