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

from incrinstall.common.paths import cache_root
from incrinstall.install.stamp import (
    JOURNAL_NAME, STAMP_NAME, STATE_DIRNAME, _identity, env_signature, read_json, read_stamp, unchanged,
)

INVOCATION_SCHEMA = 1  # bump when the invocation record changes: older records then count as absent
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
# -- the no-op answer before any argument parsing ------------------------------------------------


def _invocation_file(argv: list[str]) -> str:
    material = json.dumps([[str(a) for a in argv], os.getcwd(), {k: os.environ.get(k) for k in _MEANINGFUL_ENV}])
    return os.path.join(cache_root(), "invocations", hashlib.sha256(material.encode()).hexdigest() + ".json")


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
    record = read_json(_invocation_file(argv))
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
