"""Where a service finds its broker, database and node id (nameko config, then environment)."""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def _get(config: dict, key: str, default=None):
    value = config.get(key) if config else None
    if value in (None, ""):
        value = os.environ.get(key)
    return default if value in (None, "") else value


def amqp_uri(config: dict | None = None) -> str:
    return _get(config or {}, "AMQP_URI", DEFAULT_AMQP_URI)


def node_id(config: dict | None = None) -> str:
    return _get(config or {}, "NODE_ID", "local")


def data_dir(config: dict | None = None) -> Path:
    path = Path(_get(config or {}, "ONEGRID_DATA_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(service: str, config: dict | None = None) -> str:
    """``<SERVICE>_DATABASE_URL``, else ``DATABASE_URL``, else ``<data dir>/<service>.sqlite``."""
    config = config or {}
    specific = _get(config, f"{service.upper()}_DATABASE_URL")
    if specific:
        return specific
    shared = _get(config, "DATABASE_URL")
    if shared:
        return shared
    return f"sqlite:///{data_dir(config).resolve() / (service + '.sqlite')}"


def table_prefix(service: str, config: dict | None = None) -> str:
    """Tables are prefixed with the service name so services may share one database."""
    return _get(config or {}, "ONEGRID_TABLE_PREFIX", f"{service}_")


def open_service_store(service: str, config: dict | None = None, **options):
    from .store import open_store
    return open_store(database_url(service, config), node_id(config),
                      prefix=table_prefix(service, config), **options)


def service_name(config: dict | None, logical: str) -> str:
    """The running name of the service a module calls ``logical`` (``grid``, ``tickets``...).

    ``ONEGRID_SERVICE_NAMES`` maps logical names to running ones, as a dict or as
    ``grid=grid-a1,tickets=tickets-a1``; tests use it to run services under random names.
    """
    names = _get(config or {}, "ONEGRID_SERVICE_NAMES") or {}
    if isinstance(names, str):
        names = dict(item.split("=", 1) for item in names.split(",") if "=" in item)
    return names.get(logical, logical)


def clock(config: dict | None = None):
    """The service's clock: ``ONEGRID_CLOCK`` (a callable, for tests) or the real UTC time."""
    given = (config or {}).get("ONEGRID_CLOCK")
    if callable(given):
        return given
    import datetime as dt
    return lambda: dt.datetime.now(dt.timezone.utc)
