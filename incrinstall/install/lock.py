"""One sync at a time per environment: an exclusive lock file in the state folder."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from incrinstall.common.errors import LockTimeout
from incrinstall.install.state import state_dir


@contextmanager
def environment_lock(prefix: str, *, timeout: float | None,
                     on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """An exclusive lock per environment, so two syncs never interleave."""
    path = state_dir(prefix) / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another incrinstall holds the lock on this environment ({path}); "
                        f"gave up after {timeout:g} s (--lock-timeout)"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for another incrinstall on this environment (lock {path})")
                    told = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
