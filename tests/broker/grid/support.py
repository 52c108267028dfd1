"""Builders shared by the grid service's broker tests."""
from __future__ import annotations

import datetime as dt

from onegrid import config as cfg
from services.grid.cli import seed_store
from services.grid.service import make_service

CST = dt.timezone(dt.timedelta(hours=8))


def grid_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    name = f"grid{unique}"
    config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou", "ONEGRID_POLL_SECONDS": 0.05,
              "ONEGRID_RETRY_DELAYS": "0.2,0.5,1", "ONEGRID_LEASE_SECONDS": 2,
              f"{name.upper()}_DATABASE_URL": f"sqlite:///{tmp_path}/{name}.sqlite"}
    config.update(extra)
    return config


def make_grid(unique, **options):
    return make_service(f"grid{unique}", f"tickets{unique}", **options)


def seeded(config, service) -> dict:
    store = cfg.open_service_store(service.name, config)
    try:
        return seed_store(store)
    finally:
        store.close()


def square(x0, y0, size=0.01):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
