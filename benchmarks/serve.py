"""Run one service in its own process, as a node would, for a benchmark in another process.

Usage: python -m benchmarks.serve MODULE:FACTORY NAME [ARG ...]
Builds the class with ``FACTORY(NAME, *ARGS)``, runs it with the config in the environment
(``AMQP_URI``, ``<NAME>_DATABASE_URL``, ...), prints "ready" and serves until stdin closes.
"""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import importlib  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from onegrid.testing import running  # noqa: E402


def main(target, name, *args):
    module, factory = target.split(":")
    service = getattr(importlib.import_module(module), factory)(name, *args)
    config = dict(os.environ)
    with running(service, config=config):
        print("ready", flush=True)
        eventlet.tpool.execute(sys.stdin.read)  # off the loop: the service keeps serving


def serve(target, name, *args, env):
    """Start ``main`` in a child process; returns it once it prints "ready"."""
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.serve", target, name, *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = eventlet.tpool.execute(child.stdout.readline)
    if line.strip() != "ready":
        child.kill()
        raise RuntimeError(f"{name} did not start")
    return child


def stop(child):
    child.stdin.close()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()


if __name__ == "__main__":
    main(*sys.argv[1:])
