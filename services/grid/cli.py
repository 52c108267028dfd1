"""``onegrid seed``: load the demo district into the grid's store (idempotent)."""
from __future__ import annotations

import os
import time

import click

from onegrid import config as cfg
from onegrid.uow import run_in_transaction

from .geo import SHAPELY
from .schemas import REGISTRY
from .seed import DEFAULT_SEED, build_aggregates, generate_district


def seed_store(store, seed: int = DEFAULT_SEED) -> dict:
    """Append the demo district's streams that don't exist yet, in one transaction.

    Every aggregate of the district (streets, communities with their grids and workers,
    departments) is built by the domain's own commands and appended with expected version 0;
    a stream that already exists is left alone, so a second run changes nothing.
    """
    district = generate_district(seed)
    seeded = build_aggregates(district, SHAPELY)

    def load(uow):
        written = skipped = events = 0
        for aggregate in seeded.aggregates():
            if uow.tx.stream_version(aggregate.id) != 0:
                skipped += 1
                continue
            events += len(uow.save(aggregate))
            written += 1
        return {"streams_written": written, "streams_skipped": skipped, "events": events}

    result, _ = run_in_transaction(store, REGISTRY, load, retries=0)
    result.update(streets=len(district.streets), communities=len(district.communities),
                  grids=len(district.grids), workers=len(district.workers),
                  departments=len(district.departments))
    return result


@click.command()
@click.option("--seed", "seed", default=DEFAULT_SEED, show_default=True,
              help="the generator's seed (the same seed gives the same district)")
def seed(seed):
    """Load the demo Jianye district into the grid service's store (a second run changes nothing)."""
    store = cfg.open_service_store("grid", dict(os.environ))
    started = time.monotonic()
    try:
        result = seed_store(store, seed)
    finally:
        store.close()
    click.echo(f"grid: {result['streets']} streets, {result['communities']} communities, "
               f"{result['grids']} grids, {result['workers']} workers, "
               f"{result['departments']} departments; wrote {result['streams_written']} streams "
               f"({result['events']} events), {result['streams_skipped']} already there "
               f"[{time.monotonic() - started:.1f}s]")


COMMANDS = [seed]
