"""``onegrid report pay``: a street office's payroll sheet as Excel or CSV, from the store alone.

Reads the performance service's store (``PERFORMANCE_DATABASE_URL``, ``DATABASE_URL`` or
``var/performance.sqlite``) directly: no broker and no running service are needed.
"""
from __future__ import annotations

import io
import os
import sys

import click

from onegrid import config as cfg
from onegrid.uow import UnitOfWork

from . import reads, reports
from .domain.errors import PerformanceError
from .domain.periods import Quarter, parse_period
from .schemas import REGISTRY


@click.group()
def report():
    """Reports read from a service's store."""


@report.command("pay")
@click.option("--street", required=True, help="the street office, e.g. shazhou")
@click.option("--quarter", help="a closed quarter, e.g. 2026Q3")
@click.option("--year", type=int, help="a closed year, e.g. 2026")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False),
              help="file to write (default pay-<street>-<period>.<format>; '-' prints CSV)")
def pay(street, quarter, year, fmt, output):
    """Write the payroll sheet of a street office for a closed quarter or year."""
    if bool(quarter) == bool(year):
        raise click.UsageError("give exactly one of --quarter (2026Q3) or --year (2026)")
    try:
        period = Quarter.parse(quarter) if quarter else parse_period(str(year))
    except PerformanceError as bad:
        raise click.BadParameter(str(bad), param_hint="--quarter") from None
    store = cfg.open_service_store("performance", dict(os.environ))
    try:
        with store.snapshot() as tx:
            office = reads.street_period(UnitOfWork(tx, REGISTRY, read_only=True), street)
        rows = reports.payroll_rows(office, period)
    except PerformanceError as refused:
        raise click.ClickException(str(refused)) from None
    finally:
        store.close()
    output = output or f"pay-{street}-{period}.{fmt}"
    if fmt == "csv":
        buffer = io.StringIO()
        reports.write_csv(rows, buffer)
        if output == "-":
            sys.stdout.write(buffer.getvalue())
            return
        with open(output, "w", encoding="utf-8", newline="") as target:
            target.write(buffer.getvalue())
    else:
        if output == "-":
            raise click.UsageError("an xlsx sheet needs a file: give --output")
        reports.write_xlsx(rows, output, title=f"{street} {period}")
    click.echo(f"wrote {len(rows)} worker(s) of {street} {period} to {output}", err=True)


COMMANDS = [report]
