"""The ``onegrid`` command: run a node, replay projections, handle dead letters, benchmark.

Services add their own commands (``seed``, ``report`` …) by exposing a list ``COMMANDS`` of
click commands in ``services/<name>/cli.py``.
"""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports socket: nameko needs a green stdlib

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import click  # noqa: E402

from . import config as cfg  # noqa: E402

SERVICES = ("tickets", "grid", "performance", "orgs")


def _env_config() -> dict:
    return {k: v for k, v in os.environ.items()}


@click.group()
def main():
    """OneGrid (一张网): event-sourced community governance services."""


def service_classes(names=SERVICES) -> list:
    """The nameko service classes that exist: ``SERVICE`` in ``services/<name>/service.py``."""
    modules = (_service_module(name, "service") for name in names)
    return [module.SERVICE for module in modules if module is not None]


def _service_module(service: str, module: str):
    """``services.<service>.<module>``, or None when the service has no such module."""
    name = f"services.{service}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as missing:
        if missing.name != name:
            raise
        return None


@main.command()
@click.option("--services", "names", default="", metavar="NAMES",
              help="comma-separated services to run (default: every service there is)")
@click.option("--replicas", multiple=True, metavar="SERVICE=N",
              help="run N processes of a service, e.g. --replicas grid=3")
@click.option("--seed", "seed_first", is_flag=True, help="load the demo district first")
@click.option("--ready-timeout", default=120.0, show_default=True,
              help="seconds to wait for every service to answer")
def up(names, replicas, seed_first, ready_timeout):
    """Run a whole node: every service in its own process, restarted when it dies."""
    import logging
    import subprocess
    import sys

    from nameko.standalone.rpc import ClusterRpcProxy

    from . import up as node_up

    available = [s for s in SERVICES if _service_module(s, "service") is not None]
    wanted = [n.strip() for n in names.split(",") if n.strip()] or available
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}: not a service here "
                                 f"(there are {', '.join(available)})", param_hint="--services")
    try:
        counts = node_up.parse_replicas(replicas, wanted)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--replicas") from None
    env = node_up.child_env(_env_config(), cfg.data_dir(), cfg.node_id(), cfg.amqp_uri())
    if seed_first:
        click.echo("seeding the demo district ...")
        subprocess.run([sys.executable, "-m", "onegrid.cli", "seed"], env=env, check=True)
    node = node_up.Node(wanted, counts, env, cfg.data_dir(), say=click.echo)
    node_up.install_stop_on()
    click.echo(f"node {cfg.node_id()}: starting {', '.join(wanted)} on {cfg.amqp_uri()} "
               f"(data in {cfg.data_dir().resolve()})")
    try:
        node.start()
        # a call to a service whose queue is not declared yet is returned by the broker;
        # py-amqp logs each such return, which says nothing to the person waiting
        logging.getLogger("amqp").setLevel(logging.ERROR)
        with ClusterRpcProxy({"AMQP_URI": cfg.amqp_uri()}, timeout=2) as rpc:
            late = node.wait_ready(node_up.rpc_answers(rpc), ready_timeout)
        if late:
            raise click.ClickException(f"{', '.join(late)} did not answer within "
                                       f"{ready_timeout:.0f} s; see {node.logs}")
        click.echo(f"node {cfg.node_id()}: running {', '.join(wanted)}; ready; Ctrl-C stops")
        node.run_forever()
    except KeyboardInterrupt:
        click.echo("stopping ...")
    finally:
        node.stop()


@main.command()
@click.argument("service", type=click.Choice(SERVICES))
@click.argument("projection", required=False)
@click.option("--page-size", default=5000, show_default=True)
def replay(service, projection, page_size):
    """Drop a service's read models (or one of them) and rebuild them from its log."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .projections import replay as replay_projection

    config = _env_config()
    every = _projections(service, config)
    projections = [p for p in every if not projection or p.name in (projection, f"{service}_{projection}")]
    if not projections:
        names = ", ".join(p.name for p in every)
        raise click.ClickException(f"{service} has no projection {projection!r}; it has: {names}")
    store = cfg.open_service_store(service, config)
    total = store.last_position()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]:>10} ev/s"), TimeRemainingColumn()) as progress:
        for p in projections:
            task = progress.add_task(f"{service}.{p.name}", total=total, rate="")
            started = time.monotonic()

            def advance(n, task=task, started=started):
                progress.advance(task, n)
                done = progress.tasks[task].completed
                elapsed = max(time.monotonic() - started, 1e-9)
                progress.update(task, rate=f"{done / elapsed:,.0f}")

            replay_projection(store, p, page_size=page_size, progress=advance)
    store.close()


def _projections(service: str, config: dict) -> list:
    """A service's read models, built by its composition root as a container would."""
    from .runtime import Setup
    try:
        context = importlib.import_module(f"services.{service}.context")
        module = importlib.import_module(f"services.{service}.projections")
    except ModuleNotFoundError:
        raise click.ClickException(f"{service} has no projections yet") from None
    return list(module.projections(context.build_context(Setup.of(service, config))))


@main.group()
def dlq():
    """List and replay a service's dead-lettered events."""


@dlq.command("list")
@click.argument("service")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")
def dlq_list(service, as_json):
    """Show the dead letters of SERVICE without taking them off the queue."""
    from rich.console import Console
    from rich.table import Table

    from .runtime.dead_letters import DeadLetters

    letters = DeadLetters(cfg.amqp_uri(_env_config()), service).list()
    if as_json:
        click.echo(json.dumps(letters, indent=2))
        return
    table = Table(title=f"{service}.dead-letters ({len(letters)})")
    for column in ("event_id", "event_type", "stream_id", "version", "attempts", "failed_at", "error"):
        table.add_column(column)
    for letter in letters:
        table.add_row(*(str(letter[c]) for c in ("event_id", "event_type", "stream_id",
                                                 "version", "attempts", "failed_at", "error")))
    Console().print(table)


@dlq.command("replay")
@click.argument("service")
@click.option("--event-id", "event_ids", multiple=True, help="replay only these (default: all)")
def dlq_replay(service, event_ids):
    """Send SERVICE's dead letters back to the queues they failed on."""
    from .runtime.dead_letters import DeadLetters

    count = DeadLetters(cfg.amqp_uri(_env_config()), service).replay(event_ids or None)
    click.echo(f"replayed {count} dead letter(s) of {service}")


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--quick", is_flag=True, help="a smaller run, under a minute")
def bench(name, as_json, quick):
    """Run a benchmark (kernel, tickets, grid) and print what it measured."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError:
        raise click.ClickException(f"no benchmark named {name!r}") from None
    results = module.run(quick=quick, log=(lambda *_: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(results))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"onegrid bench {name}{' --quick' if quick else ''}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, f"{value:,.1f}" if isinstance(value, float) else str(value))
    Console().print(table)


@main.group()
def docs():
    """Regenerate generated documentation."""


@docs.command("events")
@click.option("--output", default="docs/events.md", show_default=True)
def docs_events(output):
    """Write every event type with its fields, from the services' marshmallow schemas."""
    from .eventdocs import events_markdown

    with open(output, "w", encoding="utf-8") as out:
        out.write(events_markdown())
    click.echo(f"wrote {output}")


def _add_service_commands():
    for service in SERVICES:
        module = _service_module(service, "cli")
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_add_service_commands()


if __name__ == "__main__":
    main()
