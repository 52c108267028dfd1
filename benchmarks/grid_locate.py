"""Measure GridIndex.locate over the demo district and print lookups/s (target: >= 20,000/s).

Run: python -m benchmarks.grid_locate [--n 200000]
"""
from __future__ import annotations

import argparse
import random
import time

from services.grid.geo import GridIndex
from services.grid.seed import STREETS, generate_district


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200_000, help="lookups to time")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    district = generate_district()
    started = time.perf_counter()
    index = GridIndex({g.code: g.boundary for g in district.grids})
    built = time.perf_counter() - started

    # Points spread over the district's bounding box: most fall in a grid, some outside all.
    lng0 = min(b[0] for *_, b, _ in STREETS)
    lat0 = min(b[1] for *_, b, _ in STREETS)
    lng1 = max(b[2] for *_, b, _ in STREETS)
    lat1 = max(b[3] for *_, b, _ in STREETS)
    rng = random.Random(args.seed)
    points = [(rng.uniform(lat0, lat1), rng.uniform(lng0, lng1)) for _ in range(args.n)]

    locate = index.locate
    started = time.perf_counter()
    hits = sum(1 for lat, lng in points if locate(lat, lng) is not None)
    one = time.perf_counter() - started

    started = time.perf_counter()
    many = index.locate_many([p[0] for p in points], [p[1] for p in points])
    batch = time.perf_counter() - started
    assert sum(1 for code in many if code is not None) == hits

    print(f"grids indexed:           {len(index)} (built in {built * 1000:.1f} ms)")
    print(f"lookups:                 {args.n:,} ({hits / args.n:.0%} inside a grid)")
    print(f"locate:                  {args.n / one:,.0f} lookups/s (one call per point)")
    print(f"locate_many:             {args.n / batch:,.0f} lookups/s (one vectorised query)")


if __name__ == "__main__":
    main()
