"""Decide, with a handful of stat calls and file hashes, that a sync has nothing to do.

Standard library only (os, json, hashlib): no argument parser, no dataclasses, no TOML, no
resolver, no network. Two records make it possible:
- the stamp, in the target environment (`<prefix>/.incrinstall/stamp.json`), written by the
  last sync: the spec files and their fingerprint, the folders that decide which spec files
  exist, the environment's signature, the interpreter and its marker environment;
- the invocation record, in incrinstall's cache, keyed by the exact command line, working
  folder and the environment variables that could change its meaning: it says which target
  that command synced last time, so `try_noop()` needs no argument parsing and no
  interpreter discovery.

Each record carries a schema number. A record that is missing, unparsable, of another schema or
of an unexpected shape (another version wrote it, or someone edited it) only means "not known to
be unchanged": the caller runs the full path. Nothing here raises on what it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

from incrinstall.common.fingerprint import fingerprint, is_url
from incrinstall.common.paths import cache_root

STATE_DIRNAME = ".incrinstall"  # inside the target environment's prefix (see state.py)
STAMP_NAME = "stamp.json"
JOURNAL_NAME = "journal.json"  # written by installer.py while a sync changes the environment
# Bump a schema when its record's keys or their meaning change: older records then count as absent.
STAMP_SCHEMA = 1
INVOCATION_SCHEMA = 1
JOURNAL_SCHEMA = 1  # read and written by installer.py
# Environment variables that can change what a given command line means.
_MEANINGFUL_ENV = ("VIRTUAL_ENV", "PATH", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "PIP_INDEX_URL",
                   "PIP_EXTRA_INDEX_URL", "INCRINSTALL_CACHE_DIR", "XDG_CACHE_HOME", "HOME",
                   # read by index_config() (the one configuration) or refused by it:
                   "UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS", "UV_NO_INDEX", "UV_OFFLINE", "UV_INDEX_STRATEGY",
                   "UV_PRERELEASE", "UV_EXCLUDE_NEWER", "UV_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT",
                   "UV_RESOLUTION", "UV_NO_BINARY", "UV_NO_BUILD", "UV_NO_BINARY_PACKAGE", "UV_NO_BUILD_PACKAGE",
                   "UV_TORCH_BACKEND", "UV_CONFIG_FILE", "UV_EXCLUDE_NEWER_PACKAGE", "UV_PYTHON_PLATFORM")
# Options that ask for more than the one-line answer: the full path handles them.
_NOT_FAST = {"--dry-run", "-h", "--help", "-v", "--verbose", "--version"}
_SIGNED_SUFFIXES = (".dist-info", ".egg-info", ".egg-link")


def env_signature(site_dirs) -> str:
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


def dir_mtimes(project_dir: str, dirs: list[str]) -> dict[str, int]:
    out = {}
    for rel in dirs:
        try:
            # Whole seconds: image layers keep only those, and the stamp must survive a layer commit.
            out[rel] = int(os.stat(os.path.join(project_dir, rel)).st_mtime)
        except (OSError, ValueError):
            out[rel] = -1
    return out


def _identity(path: str) -> list:
    """What changes when an interpreter is replaced at the same path."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return []
    return [st.st_size, st.st_mtime_ns // 1_000_000_000]


def make_stamp(*, project_dir: str, options: dict, specset, interpreter, env_signature: str) -> dict:
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
    }


# Every key of a stamp and the type its value must have (what make_stamp writes).
_STAMP_SHAPE = {"schema": int, "project_dir": str, "options": dict, "fingerprint": str, "files": list,
                "dirs": dict, "env_signature": str, "markers": dict, "python": str, "python_identity": list,
                "site_dirs": list}


def valid_stamp(stamp) -> bool:
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


def read_stamp(path: str) -> dict | None:
    """The stamp at `path`, or None when it is missing or not valid_stamp()."""
    stamp = _read_json(path)
    return stamp if valid_stamp(stamp) else None


def unchanged(stamp: dict | None, *, project_dir: str, options: dict, selection, markers: dict,
              env_signature: str) -> bool:
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
    try:
        return fingerprint(project_dir, files, selection, markers) == stamp["fingerprint"]
    except (OSError, ValueError):  # a spec path that is unreadable or not a path at all: not unchanged
        return False


# -- the no-op answer before any argument parsing ------------------------------------------------


def _invocation_file(argv: list[str]) -> str:
    material = json.dumps([[str(a) for a in argv], os.getcwd(), {k: os.environ.get(k) for k in _MEANINGFUL_ENV}])
    return os.path.join(cache_root(), "invocations", hashlib.sha256(material.encode()).hexdigest() + ".json")


def _read_json(path: str) -> dict | None:
    """A JSON object from `path`; None if it is missing, unreadable, not JSON or not an object."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested garbage
        return None
    return data if isinstance(data, dict) else None


def remember_invocation(argv: list[str], prefix: str) -> None:
    """After a sync: this exact command targets `prefix`."""
    path = _invocation_file(argv)
    from incrinstall.common.atomic import write_atomic

    try:
        write_atomic(path, json.dumps({"schema": INVOCATION_SCHEMA, "prefix": prefix}))
    except OSError:
        pass  # only a missed shortcut next time


def try_noop(argv: list[str]) -> bool:
    """For `incrinstall sync ...`: answer "nothing to do" and return True, or return False to run the full path."""
    if not argv or argv[0] != "sync" or _NOT_FAST.intersection(argv):
        return False
    started = time.perf_counter()
    record = _read_json(_invocation_file(argv))
    if not record or record.get("schema") != INVOCATION_SCHEMA or not isinstance(record.get("prefix"), str):
        return False
    state = os.path.join(record["prefix"], STATE_DIRNAME)
    if os.path.exists(os.path.join(state, JOURNAL_NAME)):
        return False  # an interrupted sync must be converged first
    stamp = read_stamp(os.path.join(state, STAMP_NAME))
    if stamp is None or _identity(stamp["python"]) != stamp["python_identity"]:
        return False
    if not unchanged(stamp, project_dir=stamp["project_dir"], options=stamp["options"],
                     selection=stamp["options"]["selection"], markers=stamp["markers"],
                     env_signature=env_signature(stamp["site_dirs"])):
        return False
    seconds = time.perf_counter() - started
    if "--json" in argv:
        print(json.dumps({"python": stamp["python"], "noop": True, "seconds": round(seconds, 4), "installed": [],
                          "removed": [], "changed": [], "unchanged": None, "index_requests": 0}, indent=2))
    elif not {"-q", "--quiet"}.intersection(argv):
        print(f"sync: nothing to do, specs and environment unchanged ({seconds:.3f} s)")
    sys.stdout.flush()
    return True
