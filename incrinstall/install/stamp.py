"""The records in a target environment's `.incrinstall/` folder: names, schemas, and the stamp.

The stamp says what the last sync saw (spec files and their fingerprint, the folders that decide
which spec files exist, the spec files that must stay absent (a lock that would appear), the
environment's signature, the interpreter); `unchanged()` compares it with now. Standard library only (os, json, hashlib): the no-op path (fastpath.py) reads it
before any argument parsing, and nothing here raises on what it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable

from incrinstall.common.fingerprint import dir_mtimes, fingerprint
from incrinstall.common.names import is_url

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing: the no-op path reads this module
if TYPE_CHECKING:
    from typing import Any, TypeGuard

    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.specs.model import Selection, SpecSet

    Stamp = dict[str, Any]  # what make_stamp writes (see _STAMP_SHAPE), as JSON reads it back

STATE_DIRNAME = ".incrinstall"  # inside the target environment's prefix (state.py writes the rest)
STAMP_NAME = "stamp.json"
JOURNAL_NAME = "journal.json"  # written by installer.py while a sync changes the environment
# Bump a schema when its record's keys or their meaning change: older records then count as absent.
STAMP_SCHEMA = 1
JOURNAL_SCHEMA = 1  # read and written by installer.py
_SIGNED_SUFFIXES = (".dist-info", ".egg-info", ".egg-link")


def env_signature(site_dirs: Iterable[str]) -> str:
    """A hash of every metadata folder's name and mtime: changes on install, removal and reinstall.

    Whole seconds, not nanoseconds: Docker and containerd truncate mtimes to seconds when they commit
    a layer, so a signature taken in one RUN step must still match in the next.  (A reinstall of the
    same version within the same second as the original install goes unnoticed; nothing does that.)
    """
    digest = hashlib.sha256()
    for site in site_dirs:
        digest.update(os.fsencode(site) + b"\0")
        items = []
        try:
            with os.scandir(site) as it:
                for entry in it:
                    if entry.name.endswith(_SIGNED_SUFFIXES):
                        try:
                            seconds = entry.stat().st_mtime_ns // 1_000_000_000
                        except OSError:
                            continue
                        items.append(f"{entry.name}\0{seconds}")
        except (OSError, ValueError):  # ValueError: a path with a NUL byte, from a damaged stamp
            digest.update(b"<missing>\0")
            continue
        items.sort()
        digest.update("\n".join(items).encode("utf-8", "surrogateescape"))
        digest.update(b"\0\0")
    return digest.hexdigest()


def _identity(path: str) -> list[int]:
    """What changes when an interpreter is replaced at the same path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return []
    return [st.st_size, st.st_mtime_ns // 1_000_000_000]


def make_stamp(*, project_dir: str, options: dict[str, Any], specset: SpecSet, interpreter: Interpreter,
               env_signature: str) -> Stamp:
    return {
        "schema": STAMP_SCHEMA,
        "project_dir": str(project_dir),
        "options": options,
        "fingerprint": specset.fingerprint,
        "files": list(specset.files),
        "dirs": dir_mtimes(str(project_dir), specset.scanned_dirs),
        "env_signature": env_signature,
        "markers": dict(interpreter.markers),
        "python": interpreter.executable,
        "python_identity": _identity(interpreter.executable),
        "site_dirs": list(interpreter.site_dirs),
        "absent": list(specset.absent),
    }


# Every key of a stamp and the type its value must have (what make_stamp writes).
_STAMP_SHAPE = {"schema": int, "project_dir": str, "options": dict, "fingerprint": str, "files": list,
                "dirs": dict, "env_signature": str, "markers": dict, "python": str, "python_identity": list,
                "site_dirs": list}


def valid_stamp(stamp: object) -> TypeGuard[Stamp]:
    """Is `stamp` one that make_stamp of this version wrote? (Anything else is treated as no stamp.)"""
    if not isinstance(stamp, dict) or stamp.get("schema") != STAMP_SCHEMA:
        return False
    if not all(isinstance(stamp.get(key), kind) for key, kind in _STAMP_SHAPE.items()):
        return False
    if not isinstance(stamp["options"].get("selection"), dict):
        return False
    strings = [*stamp["files"], *stamp["site_dirs"], *stamp["dirs"], *stamp["markers"].values()]
    return (all(isinstance(s, str) for s in strings)
            and all(isinstance(v, int) for v in stamp["dirs"].values()))


def read_stamp(path: str) -> Stamp | None:
    """The stamp at `path`, or None when it is missing or not valid_stamp()."""
    stamp = read_json(path)
    return stamp if valid_stamp(stamp) else None


def unchanged(stamp: Stamp | None, *, project_dir: str, options: dict[str, Any], selection: Selection | dict[str, Any],
              markers: dict[str, str], env_signature: str) -> bool:
    """True when the specs, the selection and the environment are exactly as the last sync left them."""
    if not valid_stamp(stamp) or stamp["project_dir"] != str(project_dir) or stamp["options"] != options:
        return False
    if stamp["env_signature"] != env_signature or stamp["markers"] != markers:
        return False
    files = stamp["files"]
    if any(is_url(f) for f in files):
        return False  # a remote constraints file cannot be checked without the network
    if dir_mtimes(str(project_dir), list(stamp["dirs"])) != stamp["dirs"]:
        return False  # a folder that decided which spec files exist has changed
    absent = stamp.get("absent", [])
    if not isinstance(absent, list) or any(not isinstance(rel, str) or os.path.lexists(os.path.join(project_dir, rel))
                                           for rel in absent):
        return False  # a spec file that was not there (a lock) has appeared
    try:
        return bool(fingerprint(project_dir, files, selection, markers) == stamp["fingerprint"])
    except (OSError, ValueError):  # a spec path that is unreadable or not a path at all: not unchanged
        return False


def unchanged_since_last_sync(prefix: str, site_dirs: Iterable[str], markers: dict[str, str], *, project_dir: str,
                              options: dict[str, Any], selection: Selection | dict[str, Any]) -> bool:
    """The no-op test once the arguments are parsed: no sync was interrupted, and the stamp says unchanged()."""
    folder = os.path.join(prefix, STATE_DIRNAME)
    if os.path.exists(os.path.join(folder, JOURNAL_NAME)):
        return False  # an interrupted sync must be converged first
    return unchanged(read_stamp(os.path.join(folder, STAMP_NAME)), project_dir=project_dir, options=options,
                     selection=selection, markers=markers, env_signature=env_signature(site_dirs))


def read_json(path: str) -> dict[str, Any] | None:
    """A JSON object from `path`; None if it is missing, unreadable, not JSON or not an object."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested garbage
        return None
    return data if isinstance(data, dict) else None
