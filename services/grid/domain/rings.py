"""Boundary rings without a geometry library: parse, normalise and check the basics.

The checks that need real geometry (self-intersection, containment, overlap) live in
``services.grid.geo`` and reach aggregates through the ``Geometry`` protocol, so the
domain stays standard library only.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Protocol, Union

from .errors import InvalidBoundary
from .events import Ring

BoundaryInput = Union[str, Iterable[Iterable[float]]]

_WKT_POLYGON = re.compile(r"^\s*POLYGON\s*\(\s*\((?P<ring>[^()]*)\)\s*\)\s*$", re.IGNORECASE)


def as_ring(boundary: BoundaryInput, *, what: str = "boundary") -> Ring:
    """Turn WKT ``POLYGON ((lng lat, ...))`` or ``[(lng, lat), ...]`` into a checked, closed ring."""
    if isinstance(boundary, str):
        match = _WKT_POLYGON.match(boundary)
        if match is None:
            raise InvalidBoundary(
                f"{what} must be a WKT POLYGON with one ring (no holes), e.g. "
                f"'POLYGON ((118.7 32.0, 118.71 32.0, 118.71 32.01, 118.7 32.0))'")
        try:
            pairs = [tuple(float(v) for v in p.split()) for p in match["ring"].split(",")]
        except ValueError:
            raise InvalidBoundary(f"{what} has a coordinate that is not a number") from None
    else:
        try:
            pairs = [tuple(float(v) for v in p) for p in boundary]
        except (TypeError, ValueError):
            raise InvalidBoundary(f"{what} must be a list of [lng, lat] pairs") from None
    for i, pair in enumerate(pairs):
        if len(pair) != 2:
            raise InvalidBoundary(f"{what} point {i} must be a [lng, lat] pair, got {len(pair)} numbers")
        lng, lat = pair
        if not (-180.0 <= lng <= 180.0) or not (-90.0 <= lat <= 90.0):
            raise InvalidBoundary(
                f"{what} point {i} ({lng}, {lat}) is off the globe: pairs are [lng, lat], "
                f"lng within ±180 and lat within ±90")
    if not pairs:
        raise InvalidBoundary(f"{what} has no points")
    if pairs[0] != pairs[-1]:
        raise InvalidBoundary(f"{what} polygon does not close: its last point {pairs[-1]} must "
                              f"repeat its first point {pairs[0]}")
    if len(pairs) < 4:
        raise InvalidBoundary(f"{what} needs at least 4 points (3 corners and the first again), "
                              f"got {len(pairs)}")
    if len(set(pairs)) < 3:
        raise InvalidBoundary(f"{what} needs at least 3 distinct corners")
    return tuple(pairs)  # type: ignore[return-value]


def ring_to_wkt(ring: Ring) -> str:
    """Write a ring as WKT ``POLYGON ((lng lat, ...))``."""
    return "POLYGON ((" + ", ".join(f"{lng!r} {lat!r}" for lng, lat in ring) + "))"


class Geometry(Protocol):
    """The geometry checks an aggregate needs; ``services.grid.geo.SHAPELY`` implements them."""

    def check_area(self, ring: Ring, *, what: str, parent: Ring | None = None,
                   parent_name: str = "", siblings: Mapping[str, Ring] = {}) -> None:
        """Raise InvalidBoundary / BoundaryOutsideParent / OverlappingGrid if ``ring`` is unfit."""

    def contains(self, ring: Ring, lat: float, lng: float) -> bool:
        """Whether the point lies inside (or on the edge of) ``ring``."""
