"""A deterministic, Jianye-like demo district: streets, communities, 792 grids, 800+ workers.

``generate_district(seed)`` returns plain frozen data (``District``); the same seed always
gives the same district. ``build_aggregates(district)`` runs the domain's own commands on
fresh aggregates and hands back each aggregate with its pending events: a loader appends
each stream with expected version 0 and skips streams that already exist, so loading twice
changes nothing. Coordinates are ``(lng, lat)`` around Jianye (~32.0N, 118.7E).
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
from pathlib import Path
from typing import Optional

from .domain import (COMPREHENSIVE, DEDICATED, POST_A, POST_B, Community, Department,
                     Geometry, Street)
from .domain.events import Ring

DEFAULT_SEED = 20180101
GRID_COUNT = 792
DEDICATED_COUNT = 194
EXTRA_WORKERS = 24  # workers who hold only a B post
NO_B_SHARE = 0.07   # grids left without a B post
DEPARTMENTS_PATH = Path(__file__).parent / "data" / "departments.json"

PURPOSES = ("school", "market", "hospital", "park", "industrial_park", "station",
            "commercial_centre", "kindergarten")

# (code, name, name_zh, (lng_min, lat_min, lng_max, lat_max), communities)
STREETS = (
    ("mochouhu", "Mochouhu", "莫愁湖", (118.735, 32.030, 118.770, 32.060),
     ["Mochou", "Nanhu", "Huayuan", "Lianhua", "Jiangdong", "Yunjin", "Huaqiao", "Beiwei",
      "Hanzhong", "Shuiximen"]),
    ("nanyuan", "Nanyuan", "南苑", (118.735, 31.980, 118.770, 32.030),
     ["Wenti", "Jiqing", "Lushan", "Nanyuan", "Yuanhua", "Chaotian", "Anle", "Shuangyuan",
      "Xiaoxing", "Mingzhu", "Jinling", "Baijia"]),
    ("shazhou", "Shazhou", "沙洲", (118.700, 32.010, 118.735, 32.045),
     ["Zhongcheng", "Hengshan", "Xingcheng", "Shazhou", "Nanxing", "Gaoxin", "Yunhe", "Lvzhou",
      "Jiangshan", "Fuyuan", "Yangguang", "Tongjia"]),
    ("xinglong", "Xinglong", "兴隆", (118.700, 31.980, 118.735, 32.010),
     ["Aoti", "Xinglong", "Mengdu", "Jiangshan Dajie", "Huiyuan", "Xiangshan", "Mingyuan",
      "Jinshi", "Taishan", "Yuquan", "Dasheng", "Anzhou"]),
    ("shuangzha", "Shuangzha", "双闸", (118.700, 31.955, 118.770, 31.980),
     ["Shuangzha", "Yuxi", "Ganzhou", "Yuhua", "Xiaxiang", "Jiangxin", "Qingliang", "Linhu",
      "Weihe"]),
    ("jiangxinzhou", "Jiangxinzhou", "江心洲", (118.650, 31.960, 118.690, 32.020),
     ["Jiangxinzhou", "Zhouzhong", "Zhoubei", "Zhounan", "Minzhu", "Putao"]),
)

SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
            "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong",
         "Yan", "Jie", "Juan", "Tao", "Ming", "Chao", "Xiu", "Xia", "Ping", "Gang", "Hui")


@dataclasses.dataclass(frozen=True)
class StreetSeed:
    code: str
    name: str
    name_zh: str
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class CommunitySeed:
    code: str
    street_code: str
    name: str
    boundary: Ring
    designated_grid: str


@dataclasses.dataclass(frozen=True)
class GridSeed:
    code: str
    community_code: str
    street_code: str
    kind: str
    purpose: Optional[str]
    boundary: Ring


@dataclasses.dataclass(frozen=True)
class WorkerSeed:
    id: str
    community_code: str
    name: str
    posts: tuple[tuple[str, str], ...]  # (grid code, post)


@dataclasses.dataclass(frozen=True)
class DepartmentSeed:
    code: str
    name: str
    name_zh: str
    keeps: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class District:
    seed: int
    streets: tuple[StreetSeed, ...]
    communities: tuple[CommunitySeed, ...]
    grids: tuple[GridSeed, ...]
    workers: tuple[WorkerSeed, ...]
    departments: tuple[DepartmentSeed, ...]

    def to_dict(self) -> dict:
        """A JSON-safe dict of the whole district."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _split(rng: random.Random, quad: tuple, n: int, *, slanted: bool) -> list[tuple]:
    """Split a quad (bl, br, tr, tl; horizontal top and bottom) into n quads that tile it.

    Rows are cut horizontally; cells within a row by straight cuts, slanted when ``slanted``.
    Shared corners are computed once, so neighbours share edges exactly.
    """
    bl, br, tr, tl = quad
    rows = max(1, round(math.sqrt(n)))
    per_row = [n // rows] * rows
    for i in rng.sample(range(rows), n % rows):
        per_row[i] += 1
    levels = [0.0] + _fractions(rng, rows) + [1.0]
    y0, y1 = bl[1], tl[1]

    def edge(t: float) -> tuple:  # the row boundary at height fraction t: its left and right ends
        y = round(y0 + (y1 - y0) * t, 9) if 0 < t < 1 else (y0 if t == 0 else y1)
        left = bl[0] + (tl[0] - bl[0]) * (y - y0) / (y1 - y0)
        right = br[0] + (tr[0] - br[0]) * (y - y0) / (y1 - y0)
        return left, right, y

    cells = []
    for r in range(rows):
        (bl_x, br_x, yb), (tl_x, tr_x, yt) = edge(levels[r]), edge(levels[r + 1])
        k = per_row[r]
        bottom = [0.0] + _fractions(rng, k) + [1.0]
        top = [0.0] + _fractions(rng, k) + [1.0] if slanted else bottom

        def x(left: float, right: float, f: float) -> float:
            return left if f == 0 else right if f == 1 else round(left + (right - left) * f, 9)

        for c in range(k):
            cells.append(((x(bl_x, br_x, bottom[c]), yb), (x(bl_x, br_x, bottom[c + 1]), yb),
                          (x(tl_x, tr_x, top[c + 1]), yt), (x(tl_x, tr_x, top[c]), yt)))
    return cells


def _fractions(rng: random.Random, k: int) -> list[float]:
    """k - 1 sorted cut positions in (0, 1), each near an even split."""
    return [(i + rng.uniform(-0.25, 0.25)) / k for i in range(1, k)]


def _ring(quad: tuple) -> Ring:
    return tuple(quad) + (quad[0],)


def _allocate(rng: random.Random, total: int, n: int) -> list[int]:
    """Split ``total`` into n positive parts with some spread (largest remainder)."""
    weights = [rng.uniform(0.6, 1.4) for _ in range(n)]
    exact = [total * w / sum(weights) for w in weights]
    parts = [int(e) for e in exact]
    by_remainder = sorted(range(n), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def load_departments(path: Path | str = DEPARTMENTS_PATH) -> tuple[DepartmentSeed, ...]:
    """The 14 departments and the categories each keeps, from data/departments.json."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(DepartmentSeed(d["code"], d["name"], d["name_zh"], tuple(d["keeps"]))
                 for d in data["departments"])


def generate_district(seed: int = DEFAULT_SEED) -> District:
    """Generate the demo district; the same seed always gives the same district."""
    rng = random.Random(seed)
    streets, communities, grids, workers = [], [], [], []
    community_specs = []  # (street code, name, quad)
    for code, name, name_zh, (x0, y0, x1, y1), names in STREETS:
        quad = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        streets.append(StreetSeed(code, name, name_zh, _ring(quad)))
        for cname, cquad in zip(names, _split(rng, quad, len(names), slanted=False)):
            community_specs.append((code, cname, cquad))

    per_community = _allocate(rng, GRID_COUNT, len(community_specs))
    dedicated = set(rng.sample(range(GRID_COUNT), DEDICATED_COUNT))
    index = 0
    grids_by_community: dict[str, list[str]] = {}
    for (street_code, cname, cquad), n in zip(community_specs, per_community):
        ccode = f"{street_code}-{_slug(cname)}"
        codes = []
        for i, gquad in enumerate(_split(rng, cquad, n, slanted=True), start=1):
            gcode = f"{ccode}-{i:02d}"
            is_dedicated = index in dedicated
            grids.append(GridSeed(gcode, ccode, street_code,
                                  DEDICATED if is_dedicated else COMPREHENSIVE,
                                  rng.choice(PURPOSES) if is_dedicated else None, _ring(gquad)))
            codes.append(gcode)
            index += 1
        kinds = {g.code: g.kind for g in grids[-n:]}
        designated = next((c for c in codes if kinds[c] == COMPREHENSIVE), codes[0])
        communities.append(CommunitySeed(ccode, street_code, cname, _ring(cquad), designated))
        grids_by_community[ccode] = codes

    # Every grid's A post is its own worker; the next grid's A worker stands in as B (AB岗),
    # a few grids have no B, and a few extra workers hold only a B post.
    posts: dict[str, list[tuple[str, str]]] = {}
    home: dict[str, str] = {}
    number = 0
    for ccode, codes in grids_by_community.items():
        ids = []
        for gcode in codes:
            number += 1
            wid = f"w{number:04d}"
            ids.append(wid)
            home[wid] = ccode
            posts[wid] = [(gcode, POST_A)]
        for i, gcode in enumerate(codes):
            if rng.random() >= NO_B_SHARE:
                posts[ids[(i + 1) % len(ids)]].append((gcode, POST_B))
    b_holder = {g: w for w, ps in posts.items() for g, p in ps if p == POST_B}
    for gcode in sorted(rng.sample([g.code for g in grids], EXTRA_WORKERS)):
        number += 1
        wid = f"w{number:04d}"
        home[wid] = next(g.community_code for g in grids if g.code == gcode)
        if gcode in b_holder:
            posts[b_holder[gcode]].remove((gcode, POST_B))
        posts[wid] = [(gcode, POST_B)]
    for wid in sorted(posts):
        name = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}{rng.choice(('', *GIVEN)).lower()}"
        workers.append(WorkerSeed(wid, home[wid], name, tuple(posts[wid])))

    return District(seed, tuple(streets), tuple(communities), tuple(grids), tuple(workers),
                    load_departments())


@dataclasses.dataclass
class Seeded:
    """The aggregates that build a district, each holding its pending events."""

    streets: dict[str, Street]
    communities: dict[str, Community]
    departments: dict[str, Department]

    def aggregates(self) -> list:
        """Every aggregate, streets first, then communities, then departments."""
        return [*self.streets.values(), *self.communities.values(), *self.departments.values()]


def build_aggregates(district: District, geometry: Geometry) -> Seeded:
    """Run the domain's commands that build ``district`` on fresh aggregates (events pending)."""
    streets: dict[str, Street] = {}
    for s in district.streets:
        street = Street.of(s.code)
        street.register(s.name, s.name_zh, s.boundary, geometry=geometry,
                        siblings={c: o.boundary for c, o in streets.items()})
        streets[s.code] = street
    communities: dict[str, Community] = {}
    for c in district.communities:
        community = Community.of(c.code)
        community.register(c.street_code, c.name, "", c.boundary, geometry=geometry,
                           street_boundary=streets[c.street_code].boundary,
                           siblings={k: o.boundary for k, o in communities.items()
                                     if o.street_code == c.street_code})
        communities[c.code] = community
    for g in district.grids:
        communities[g.community_code].draw_grid(g.code, g.kind, g.boundary, geometry=geometry,
                                                purpose=g.purpose)
    for c in district.communities:
        communities[c.code].designate_grid(c.designated_grid)
    for w in district.workers:
        communities[w.community_code].enroll(w.id, w.name)
    for w in district.workers:
        for grid_code, post in w.posts:
            communities[grid_code.rsplit("-", 1)[0]].post(w.id, grid_code, post)
    departments: dict[str, Department] = {}
    for d in district.departments:
        department = Department.of(d.code)
        department.register(d.name, d.name_zh)
        department.set_categories(d.keeps)
        departments[d.code] = department
    return Seeded(streets, communities, departments)
