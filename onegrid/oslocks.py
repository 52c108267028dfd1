"""Locks that hold between OS threads while eventlet has patched ``threading``.

Store calls run on eventlet's thread pool (``tpool``): real OS threads beside the hub's.
``eventlet.monkey_patch()`` turns ``threading.Lock``/``RLock`` green (it even converts the
RLocks that exist already). A green lock works between greenthreads of one OS thread only:
an OS thread that finds it taken parks on its own thread's hub, and the release, made in
another thread, tries to switch to it there, fails ("greenlet.error: Cannot switch to a
different thread") and leaves it parked for ever: the tpool call never returns.

``logging`` takes such locks (its module lock when a logger's level cache fills, a
handler's lock for every record), and SQLAlchemy logs from inside tpool calls (a pool
pre-ping that fails, a reset or close of a connection the database cut), many threads at
once after a database restart. ``os_logging_locks()`` gives logging real locks; they are
held for a write to a stream only, so taking one in the hub's thread is harmless.
"""
from __future__ import annotations

import logging
import os

try:
    from eventlet.patcher import original as _original
    real_threading = _original("threading")
except ImportError:  # pragma: no cover - eventlet is a dependency of the runtime
    import threading as real_threading

_REAL_RLOCK = type(real_threading.RLock())


def _create_os_lock(handler: logging.Handler) -> None:
    handler.lock = real_threading.RLock()
    register = getattr(logging, "_register_at_fork_reinit_lock", None)
    if register is not None:
        register(handler)


def os_logging_locks() -> None:
    """Give logging's module lock and every handler's lock (now and later) to the OS."""
    old = logging._lock
    if not isinstance(old, _REAL_RLOCK):
        with old:
            logging._lock = real_threading.RLock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=logging._lock._at_fork_reinit)
    logging.Handler.createLock = _create_os_lock
    for ref in list(logging._handlerList):
        handler = ref()
        if handler is not None and handler.lock is not None \
                and not isinstance(handler.lock, _REAL_RLOCK):
            handler.lock = real_threading.RLock()
