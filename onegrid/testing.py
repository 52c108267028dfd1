"""Helpers for tests that run real nameko containers against a real broker."""
from __future__ import annotations

import contextlib
import time

import eventlet
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy


def service_config(amqp_uri: str, data_dir, *names: str, **extra) -> dict:
    """Config for services under test: a SQLite file each in ``data_dir``, short timings.

    Short retry delays, lease and poll interval keep broker tests quick; ``extra`` adds or
    overrides keys.
    """
    config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou", "ONEGRID_POLL_SECONDS": 0.05,
              "ONEGRID_RETRY_DELAYS": "0.2,0.5,1", "ONEGRID_LEASE_SECONDS": 2}
    for name in names:
        config[f"{name.upper()}_DATABASE_URL"] = f"sqlite:///{data_dir}/{name}.sqlite"
    config.update(extra)
    return config


@contextlib.contextmanager
def running(*service_classes, config: dict):
    """Start a container per service class (repeat a class for replicas); stop them after."""
    containers = [ServiceContainer(cls, config) for cls in service_classes]
    for container in containers:
        container.start()
    try:
        yield containers
    finally:
        for container in containers:
            container.stop()


@contextlib.contextmanager
def rpc_client(config: dict, timeout: float = 30):
    with ClusterRpcProxy(config, timeout=timeout) as proxy:
        yield proxy


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        eventlet.sleep(interval)
