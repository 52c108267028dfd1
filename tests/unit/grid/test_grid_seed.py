"""The demo district: exact counts, valid tiling polygons, same seed same district."""
from __future__ import annotations

import collections

import shapely
from shapely.geometry import Polygon

from services.grid.geo import SHAPELY, check_tiling
from services.grid.seed import build_aggregates, generate_district

DISTRICT = generate_district()


def test_the_district_has_the_counts_of_jianye():
    assert [s.code for s in DISTRICT.streets] == ["mochouhu", "nanyuan", "shazhou", "xinglong",
                                                  "shuangzha", "jiangxinzhou"]
    kinds = collections.Counter(g.kind for g in DISTRICT.grids)
    assert len(DISTRICT.grids) == 792
    assert kinds == {"comprehensive": 598, "dedicated": 194}
    assert len(DISTRICT.workers) >= 800
    assert len(DISTRICT.departments) == 14


def test_the_named_communities_sit_in_their_streets():
    by_name = {c.name: c.street_code for c in DISTRICT.communities}
    assert by_name["Zhongcheng"] == "shazhou" and by_name["Aoti"] == "xinglong" and "Wenti" in by_name


def test_every_grid_has_an_a_post_most_have_a_b_post_and_every_worker_is_posted():
    posts = collections.Counter((grid, post) for w in DISTRICT.workers for grid, post in w.posts)
    assert all(posts[(g.code, "A")] == 1 for g in DISTRICT.grids)
    with_b = sum(posts[(g.code, "B")] for g in DISTRICT.grids)
    assert 0.8 * 792 < with_b < 792
    assert max(posts.values()) == 1
    assert all(w.posts for w in DISTRICT.workers)


def test_polygons_are_valid_and_tile_each_community_without_overlap():
    grids = {g.code: Polygon(g.boundary) for g in DISTRICT.grids}
    assert all(p.is_valid and p.area > 0 for p in grids.values())
    assert check_tiling(grids) == []
    assert check_tiling({c.code: c.boundary for c in DISTRICT.communities}) == []
    for community in DISTRICT.communities:
        mine = [grids[g.code] for g in DISTRICT.grids if g.community_code == community.code]
        assert abs(shapely.union_all(mine).area - Polygon(community.boundary).area) < 1e-12


def test_the_district_lies_around_jianye():
    lng, lat = Polygon(DISTRICT.grids[0].boundary).centroid.coords[0]
    assert 118.6 < lng < 118.8 and 31.9 < lat < 32.1


def test_the_same_seed_gives_the_same_district_and_another_seed_another():
    assert generate_district() == DISTRICT
    assert generate_district().to_dict() == DISTRICT.to_dict()
    assert generate_district(7) != DISTRICT


def test_the_district_builds_through_the_domain_rules():
    seeded = build_aggregates(DISTRICT, SHAPELY)
    assert len(seeded.streets) == 6 and len(seeded.departments) == 14
    assert sum(len(c.grids) for c in seeded.communities.values()) == 792
    assert all(c.designated_grid for c in seeded.communities.values())
    again = build_aggregates(generate_district(), SHAPELY)
    assert [a.collect() for a in seeded.aggregates()] == [a.collect() for a in again.aggregates()]
