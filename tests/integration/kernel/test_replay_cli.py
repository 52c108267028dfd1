"""`onegrid replay <service> [<projection>]` drops a read model and rebuilds it from the log."""
import sqlalchemy as sa
from click.testing import CliRunner

from onegrid import config as cfg
from onegrid.cli import _env_config, _projections, main
from onegrid.projections import catch_up


def dump(store, projection):
    """Every table of the read model, except the map's change counter (``*_meta``), which
    only tells the dispatcher's cache to reload and counts folds, not content."""
    with store.reading() as conn:
        return {t.name: sorted(tuple(map(str, r)) for r in conn.execute(sa.select(t)))
                for t in projection.metadata.sorted_tables if not t.name.endswith("_meta")}


def test_replay_rebuilds_the_grid_map_exactly_as_the_live_fold_built_it(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GRID_DATABASE_URL", f"sqlite:///{tmp_path}/grid.sqlite")
    runner = CliRunner()
    seeded = runner.invoke(main, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    store = cfg.open_service_store("grid")
    # the read models as the CLI builds them (the service's composition root)
    map_projection = next(p for p in _projections("grid", _env_config())
                          if p.name == "grid_map")
    map_projection.create(store.engine)
    catch_up(store, map_projection)  # what the running service folds
    live = dump(store, map_projection)
    assert sum(len(rows) for rows in live.values()) > 792
    with store.transaction() as tx:  # a damaged read model
        for table in map_projection.metadata.sorted_tables:
            tx.connection.execute(table.delete())

    replayed = runner.invoke(main, ["replay", "grid", "grid_map"])
    assert replayed.exit_code == 0, replayed.output
    assert "grid.grid_map" in replayed.output  # the progress bar's line
    assert dump(store, map_projection) == live

    unknown = runner.invoke(main, ["replay", "grid", "nope"])
    assert unknown.exit_code != 0 and "has no projection 'nope'" in unknown.output
    store.close()
