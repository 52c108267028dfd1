"""Test set-up shared by every suite.

eventlet must patch the standard library before anything else imports socket or
threading: a test that touches the broker hangs without it.
"""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

_containers = []


def _docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        import docker
        docker.from_env().ping()
        return True
    except Exception:
        return False


def _need(variable: str, example: str, start):
    value = os.environ.get(variable)
    if value:
        return value
    if _docker_available():
        container = start()
        _containers.append(container)
        return container.url
    pytest.exit(
        f"{variable} is not set and no Docker engine answers: set {variable} (for example "
        f"{variable}={example}) or start Docker so testcontainers can run one.", returncode=3)


def _start_rabbitmq():
    from testcontainers.rabbitmq import RabbitMqContainer
    c = RabbitMqContainer("rabbitmq:3.13-management").start()
    c.url = f"amqp://guest:guest@{c.get_container_host_ip()}:{c.get_exposed_port(5672)}/"
    return c


def _start_postgres():
    from testcontainers.postgres import PostgresContainer
    c = PostgresContainer("postgres:16", driver="psycopg2").start()
    c.url = c.get_connection_url()
    return c


_NEEDS = {
    "amqp_uri": ("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", _start_rabbitmq),
    "database_url": ("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test", _start_postgres),
}
_resolved = {}


def pytest_collection_modifyitems(session, config, items):
    """Resolve the broker and database before the first test, or stop saying what to set."""
    wanted = {name for item in items for name in getattr(item, "fixturenames", ())}
    markers = {mark.name for item in items for mark in item.iter_markers()}
    if "postgres" in markers:
        wanted.add("database_url")
    if "broker" in markers:
        wanted.add("amqp_uri")
    for fixture, (variable, example, start) in _NEEDS.items():
        if fixture in wanted:
            _resolved[fixture] = _need(variable, example, start)


@pytest.fixture(scope="session")
def amqp_uri():
    """The real RabbitMQ the broker tests use (AMQP_URI, or a testcontainer)."""
    return _resolved.get("amqp_uri") or _need(*_NEEDS["amqp_uri"])


@pytest.fixture(scope="session")
def database_url():
    """The real PostgreSQL the store tests use (DATABASE_URL, or a testcontainer)."""
    return _resolved.get("database_url") or _need(*_NEEDS["database_url"])


@pytest.fixture
def vhosts(amqp_uri):
    """Make RabbitMQ virtual hosts (one per node under test); all are deleted afterwards."""
    from onegrid.testing import RabbitAdmin

    admin, made = RabbitAdmin(amqp_uri), []

    def make(name):
        try:
            uri = admin.create_vhost(name)
        except OSError as err:
            pytest.fail(f"cannot reach RabbitMQ's management API ({err}): enable it with "
                        "`rabbitmq-plugins enable rabbitmq_management` or set RABBIT_API_URI")
        made.append(name)
        return uri

    make.admin = admin
    yield make
    for name in made:
        admin.delete_vhost(name)


@pytest.fixture
def unique():
    """A short random suffix so tests never collide on a shared broker or database."""
    return uuid.uuid4().hex[:10]


def pytest_sessionfinish(session, exitstatus):
    for container in _containers:
        container.stop()
