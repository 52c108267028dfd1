"""Boundary checks and the spatial index behind locate(lat, lng)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from shapely.geometry import Point, Polygon

from services.grid.domain import BoundaryOutsideParent, InvalidBoundary, OverlappingGrid, as_ring
from services.grid.geo import SHAPELY, GridIndex, check_tiling
from services.grid.seed import generate_district

from .helpers import square

DISTRICT = generate_district()
INDEX = GridIndex({g.code: g.boundary for g in DISTRICT.grids})
POLYGONS = {g.code: Polygon(g.boundary) for g in DISTRICT.grids}


def test_locate_finds_the_grid_holding_a_point():
    index = GridIndex({"west": square(118.70, 32.0), "east": square(118.71, 32.0)})
    assert index.locate(32.005, 118.705) == "west"
    assert index.locate(32.005, 118.715) == "east"


def test_locate_returns_none_outside_every_grid():
    index = GridIndex({"west": square(118.70, 32.0)})
    assert index.locate(31.0, 118.0) is None


def test_a_point_on_a_shared_edge_goes_to_the_grid_whose_code_sorts_first():
    index = GridIndex({"b": square(118.70, 32.0), "a": square(118.71, 32.0)})
    assert index.locate(32.005, 118.71) == "a"


def test_locate_accepts_wkt_rings_and_polygons():
    index = GridIndex({"w": "POLYGON ((118.70 32.0, 118.71 32.0, 118.71 32.01, 118.70 32.0))",
                       "p": Polygon(square(118.72, 32.0))})
    assert index.locate(32.001, 118.709) == "w" and index.locate(32.005, 118.725) == "p"
    assert len(index) == 2 and "w" in index


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(31.94, 32.07), lng=st.floats(118.64, 118.78))
def test_locate_agrees_with_a_loop_over_every_grid(lat, lng):
    point = Point(lng, lat)
    holders = sorted(code for code, polygon in POLYGONS.items() if polygon.intersects(point))
    assert INDEX.locate(lat, lng) == (holders[0] if holders else None)


def test_locate_many_agrees_with_locate():
    lats = [32.0 + i * 0.0007 for i in range(60)]
    lngs = [118.65 + i * 0.002 for i in range(60)]
    assert INDEX.locate_many(lats, lngs) == [INDEX.locate(a, b) for a, b in zip(lats, lngs)]


def test_check_tiling_names_the_pairs_that_overlap():
    assert check_tiling({"a": square(0, 0), "b": square(0.01, 0)}) == []
    assert check_tiling({"a": square(0, 0), "b": square(0.005, 0)}) == [("a", "b")]


def test_an_area_inside_its_parent_and_beside_its_siblings_passes():
    SHAPELY.check_area(as_ring(square(0.01, 0.01)), what="grid x", parent=as_ring(square(0, 0, 0.05)),
                       siblings={"y": as_ring(square(0.02, 0.01))})


@pytest.mark.parametrize("ring, error, words", [
    (square(0.045, 0.0), BoundaryOutsideParent, "50.0% outside community c"),
    (square(0.015, 0.01), OverlappingGrid, "overlaps y by 50.0%"),
    ([[0.01, 0.01], [0.02, 0.02], [0.02, 0.01], [0.01, 0.02], [0.01, 0.01]], InvalidBoundary,
     "Self-intersection"),
], ids=["an area sticking out of its parent", "an area overlapping a sibling",
        "a bow-tie"])
def test_an_unfit_area_is_refused_with_a_clear_reason(ring, error, words):
    with pytest.raises(error, match=words):
        SHAPELY.check_area(as_ring(ring), what="grid x", parent=as_ring(square(0, 0, 0.05)),
                           parent_name="community c", siblings={"y": as_ring(square(0.02, 0.01))})


def test_contains_tells_whether_a_patrol_start_lies_in_its_grid():
    ring = as_ring(square(118.70, 32.0))
    assert SHAPELY.contains(ring, 32.005, 118.705)
    assert not SHAPELY.contains(ring, 32.05, 118.705)
