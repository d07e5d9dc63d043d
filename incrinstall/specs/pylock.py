"""Read a PEP 751 lock file (pylock.toml) with packaging.pylock, errors at file:line.

The standard's own reader validates it; selecting what a target installs (markers, extras, groups,
wheel tags) is resolve/locked.py's job, through `Pylock.select()`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.common.errors import SpecError
from incrinstall.common.tomlfile import parse_toml, read_bytes_and_text

if TYPE_CHECKING:
    from packaging.pylock import Pylock

_PACKAGE_INDEX = re.compile(r"packages\[(\d+)\]")


@dataclass
class PyLock:
    """A validated pylock.toml, with what messages and the state need to name it."""

    path: Path
    rel: str  # as messages name it ("pylock.toml", or the path given with --lock)
    sha256: str  # of the file's bytes: the lock's digest, recorded in the state
    lock: Pylock
    package_lines: tuple[int, ...]  # the line of each `[[packages]]` entry, in order

    def where(self, index: int | None = None) -> str:
        if index is not None and 0 <= index < len(self.package_lines):
            return f"{self.rel}:{self.package_lines[index]}"
        return self.rel


def read(path: Path, rel: str) -> PyLock:
    """The pylock.toml at `path`; SpecError at rel:line when it is not valid TOML or not a valid PEP 751 lock."""
    # packaging.pylock only here and below: a sync's look for a lock (lockfile.find) runs before the no-op answer.
    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    data, text = read_bytes_and_text(path, rel)
    lines = tuple(number for number, line in enumerate(text.splitlines(), 1)
                  if line.strip().replace(" ", "") == "[[packages]]")
    parsed = parse_toml(text, rel)
    located = PyLock(path, rel, hashlib.sha256(data).hexdigest(), None, lines)  # type: ignore[arg-type]
    try:
        located.lock = Pylock.from_dict(parsed)
    except PylockUnsupportedVersionError as exc:
        raise SpecError(f"not a lock this incrinstall can read: {exc}", where=rel) from None
    except PylockValidationError as exc:
        found = _PACKAGE_INDEX.search(exc.context or "")
        raise SpecError(f"not a valid PEP 751 lock file: {exc}",
                        where=located.where(int(found.group(1)) if found else None)) from None
    return located


def is_pylock_name(name: str) -> bool:
    """PEP 751's file names: `pylock.toml`, or `pylock.NAME.toml` with a NAME that has no dot."""
    from packaging.pylock import is_valid_pylock_path  # (as above: off the no-op path)

    return is_valid_pylock_path(Path(name))
