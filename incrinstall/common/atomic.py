"""Writing a file so that readers see the old content or the new, never a torn one.

The one implementation for every file incrinstall writes outside an install (state, caches,
downloads): write a temporary file beside the target, then `os.replace` it. Only `os` is
imported, because the no-op path's shortcut record is written through here too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO


@contextmanager
def replacing(path: str | os.PathLike[str], *, durable: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write; on a clean exit it becomes `path`, on an exception it is removed.

    `durable` syncs the data to disk before the rename (the state: after a crash, a state file
    is whole or absent). The parent folder is created when missing.
    """
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    # pid and thread in the name: two writers of one path never share a temporary file.
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = False) -> None:
    """Replace `path` with `data` (str is written as UTF-8)."""
    with replacing(path, durable=durable) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
