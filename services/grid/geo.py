"""Geometry with shapely: boundary checks for aggregates and ``GridIndex`` for ``locate``.

Rings are ``(lng, lat)`` pairs (x, y). Two tolerances absorb floating-point noise of
boundaries that share edges: a ring may stick out of its parent by ``EDGE_TOLERANCE``
degrees (about 0.1 mm) and overlap a sibling by ``AREA_TOLERANCE`` square degrees
(about 0.01 m²) without being refused.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.validation import explain_validity

from .domain.errors import BoundaryOutsideParent, InvalidBoundary, OverlappingGrid
from .domain.events import Ring
from .domain.rings import BoundaryInput, as_ring

EDGE_TOLERANCE = 1e-9
AREA_TOLERANCE = 1e-12

Area = Union[Ring, Polygon, BoundaryInput]


def to_polygon(area: Area, *, what: str = "boundary") -> Polygon:
    """A shapely polygon from a ring, WKT or polygon (checked for closing, not for validity)."""
    if isinstance(area, Polygon):
        return area
    return Polygon(as_ring(area, what=what))


class ShapelyGeometry:
    """The ``Geometry`` the aggregates need (see ``services.grid.domain.rings``), on shapely."""

    def check_area(self, ring: Ring, *, what: str, parent: Optional[Ring] = None,
                   parent_name: str = "", siblings: Mapping[str, Ring] = {}) -> None:
        """Refuse an invalid polygon, one outside ``parent`` or one overlapping a sibling."""
        polygon = Polygon(ring)
        if not polygon.is_valid:
            raise InvalidBoundary(f"{what} boundary is not a valid polygon "
                                  f"({explain_validity(polygon)}); fix the ring so its edges "
                                  f"don't cross")
        if polygon.area <= AREA_TOLERANCE:
            raise InvalidBoundary(f"{what} boundary encloses no area")
        if parent:
            outside = polygon.difference(Polygon(parent).buffer(EDGE_TOLERANCE, join_style="mitre"))
            if outside.area > AREA_TOLERANCE:
                share = outside.area / polygon.area
                raise BoundaryOutsideParent(
                    f"{what} boundary lies {share:.1%} outside {parent_name or 'its parent'}; "
                    f"draw it inside")
        if siblings:
            codes = sorted(siblings)
            others = [Polygon(siblings[c]) for c in codes]
            tree = shapely.STRtree(others)
            for i in sorted(tree.query(polygon, predicate="intersects")):
                overlap = polygon.intersection(others[i]).area
                if overlap > AREA_TOLERANCE:
                    raise OverlappingGrid(
                        f"{what} boundary overlaps {codes[i]} by {overlap / polygon.area:.1%} "
                        f"of its area; areas of one parent must not overlap")

    def contains(self, ring: Ring, lat: float, lng: float) -> bool:
        """Whether the point lies inside or on the edge of ``ring``."""
        return Polygon(ring).intersects(Point(lng, lat))


SHAPELY = ShapelyGeometry()


def check_tiling(areas: Mapping[str, Area]) -> list[tuple[str, str]]:
    """The pairs of areas that overlap by more than ``AREA_TOLERANCE`` (empty when they tile)."""
    codes = sorted(areas)
    polygons = [to_polygon(areas[c], what=c) for c in codes]
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = []
    for i, j in zip(left.tolist(), right.tolist()):
        if i < j and polygons[i].intersection(polygons[j]).area > AREA_TOLERANCE:
            pairs.append((codes[i], codes[j]))
    return pairs


class GridIndex:
    """A spatial index of areas (grids, or streets and communities) for point lookups.

    Built on a shapely STRtree: a lookup walks the tree, never a loop over the areas. A point
    on an edge shared by two areas goes to the one whose code sorts first.
    """

    def __init__(self, areas: Mapping[str, Area]):
        self._codes: list[str] = sorted(areas)
        self._code_set = frozenset(self._codes)
        polygons = [to_polygon(areas[c], what=c) for c in self._codes]
        shapely.prepare(polygons)
        self._polygons = np.array(polygons, dtype=object)
        self._tree = shapely.STRtree(self._polygons)

    def __len__(self) -> int:
        return len(self._codes)

    def __contains__(self, code: str) -> bool:
        return code in self._code_set

    @property
    def codes(self) -> Sequence[str]:
        return tuple(self._codes)

    def locate(self, lat: float, lng: float) -> Optional[str]:
        """The code of the area holding the point, or None outside every area."""
        hits = self._tree.query(Point(lng, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return self._codes[hits.min()]

    def locate_many(self, lats: Iterable[float], lngs: Iterable[float]) -> list[Optional[str]]:
        """``locate`` for many points in one vectorised query."""
        points = shapely.points(np.asarray(list(lngs), dtype=float),
                                np.asarray(list(lats), dtype=float))
        found: list[Optional[str]] = [None] * len(points)
        point_i, area_i = self._tree.query(points, predicate="intersects")
        for p, a in zip(point_i.tolist(), area_i.tolist()):
            current = found[p]
            if current is None or self._codes[a] < current:
                found[p] = self._codes[a]
        return found
