"""Stream names: every grid aggregate lives on ``<kind>/<id>`` (docs/architecture.md)."""
from __future__ import annotations

from typing import ClassVar

from onegrid.domain import Aggregate


class Named(Aggregate):
    """An aggregate on the stream ``<stream_kind>/<code>``; ``code`` is its own id.

    Two kinds can never share a stream: a patrol ``co`` lives on ``patrol/co``, the community
    ``co`` on ``community/co``.
    """

    stream_kind: ClassVar[str] = ""

    def __init__(self, aggregate_id: str):
        prefix = f"{self.stream_kind}/"
        if not aggregate_id.startswith(prefix) or aggregate_id == prefix:
            name = type(self).__name__
            raise ValueError(f"a {name} lives on a stream {prefix}<id>, not {aggregate_id!r}: "
                             f"use {name}.stream_id(...)")
        super().__init__(aggregate_id)
        self.code = aggregate_id[len(prefix):]

    @classmethod
    def stream_id(cls, code: str) -> str:
        """The stream of the aggregate ``code``, e.g. ``community/shazhou-zhongcheng``."""
        return f"{cls.stream_kind}/{code}"
