"""The state kept inside the target environment: what incrinstall installed, and why.

Two files live in `<prefix>/.incrinstall/`:
- `pylock.toml`: a PEP 751 lock file of the managed packages, with incrinstall's own
  data (baseline source, fingerprint, selection, managed set) under `[tool.incrinstall]`.
  A standard format, so other tools can read what was installed. Packages of the resolution
  that incrinstall knows no file for (installed by other means) are listed there too, as
  `packages-without-file`: PEP 751 requires a file with hashes for every `[[packages]]` entry.
- `stamp.json`: the few values the no-op fast path compares (fingerprint, selection,
  environment signature, the spec files and folders to re-check). JSON because the fast
  path must not import a TOML library.

The contract of both: each carries a schema number (`[tool.incrinstall] schema`, the stamp's
`"schema"`). A file that is missing, unparsable, of another schema or of an unexpected shape
is treated as absent: never a traceback. For the stamp that only costs the fast path; for the
state it means nothing is known as managed, so that sync removes nothing (a one-line warning
on stderr says so), and it writes a fresh state.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from incrinstall.common.atomic import write_atomic
from incrinstall.common.tomlfile import read_toml
from incrinstall.install.stamp import STAMP_NAME, STATE_DIRNAME

if TYPE_CHECKING:
    from incrinstall.install.stamp import Stamp

SCHEMA = 1  # of [tool.incrinstall] in pylock.toml (and its JSON copy); bump on any incompatible change


@dataclass
class LockedPackage:
    name: str
    version: str
    url: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class State:
    packages: dict[str, LockedPackage] = field(default_factory=dict)  # the resolution, by canonical name
    managed: set[str] = field(default_factory=set)  # what incrinstall installed itself
    fingerprint: str | None = None
    selection: dict[str, Any] = field(default_factory=dict)  # Selection.as_dict()
    baseline: dict[str, Any] | None = None  # {"source", "sha256", "fingerprint", "created"[, "lock-sha256"]}
    project_dir: str | None = None
    editable: str | None = None  # fingerprint of the specs the project was last installed editable from
    editable_shape: str | None = None  # ProjectMetadata.shape of that install (a refresh in place needs it equal)
    tree: dict[str, str] = field(default_factory=dict)  # canonical name -> version of each package the tree provides
    # The lock the packages were installed from: {"file", "format", "sha256"}; None when they were resolved.
    lock: dict[str, str] | None = None

    @property
    def pins(self) -> dict[str, str]:
        return {name: p.version for name, p in self.packages.items()}


def state_dir(prefix: str) -> Path:
    return Path(prefix) / STATE_DIRNAME


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text, durable=True)  # after a crash the state is whole or absent


def save(prefix: str, state: State) -> None:
    # tomli-w: correct TOML for any string (an emoji or a control character in a path), and fast
    # enough (tens of ms for thousands of packages, where tomlkit takes a second).
    data = _as_lock_data(state)
    _write_atomic(state_dir(prefix) / "pylock.toml", tomli_w.dumps(data))
    # The same data as JSON, written after the TOML: parsing a lock of thousands of packages with
    # tomllib costs a tenth of a second on every sync; json.load is many times faster.
    _write_atomic(state_dir(prefix) / READ_COPY, json.dumps(data))


READ_COPY = "pylock.json"


def _as_lock_data(state: State) -> dict[str, Any]:
    """The state as the dict a TOML parser would return for pylock.toml."""
    packages: list[dict[str, Any]] = []
    without_file: list[dict[str, str]] = []
    for name in sorted(state.packages):
        pkg = state.packages[name]
        if not (pkg.url and pkg.hashes):
            # PEP 751 wants a file with hashes for every package; one installed by other means has none we know.
            without_file.append({"name": name, "version": pkg.version, **({"url": pkg.url} if pkg.url else {})})
            continue
        dist = {"url": pkg.url, "hashes": dict(pkg.hashes)}
        entry: dict[str, Any] = {"name": name, "version": pkg.version}
        if _is_wheel(pkg.url):
            entry["wheels"] = [dist]
        else:
            entry["sdist"] = dist
        packages.append(entry)
    own: dict[str, Any] = {
        "schema": SCHEMA,
        "fingerprint": state.fingerprint or "",
        "project-dir": state.project_dir or "",
        "selection": state.selection,
        "managed": sorted(state.managed),
        "tree-packages": dict(sorted(state.tree.items())),
    }
    if without_file:
        own["packages-without-file"] = without_file
    if state.editable:
        own["editable-fingerprint"] = state.editable
    if state.editable and state.editable_shape:
        own["editable-shape"] = state.editable_shape
    if state.baseline:
        own["baseline"] = state.baseline
    if state.lock:
        own["lock"] = state.lock
    return {"lock-version": "1.0", "created-by": "incrinstall", "packages": packages,
            "tool": {"incrinstall": own}}


def _is_wheel(url: str) -> bool:
    return url.split("#", 1)[0].split("?", 1)[0].endswith(".whl")


class _Unreadable(ValueError):
    """The state file is not one this version of incrinstall wrote."""


def _typed(table: dict[str, Any], key: str, kind: type | tuple[type, ...], default: object = None) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise _Unreadable(f"{key!r} is {type(value).__name__}, expected {getattr(kind, '__name__', kind)}")
    return value


def _strings(value: Iterable[object], what: str) -> None:
    if not all(isinstance(v, str) for v in value):
        raise _Unreadable(f"{what} must hold strings")


def _from_lock_data(data: object) -> State:
    """The State in `data` (a parsed pylock.toml or its copy); _Unreadable if it is of another schema or shape."""
    if not isinstance(data, dict):
        raise _Unreadable(f"a {type(data).__name__}, not a table")
    tool = _typed(data, "tool", dict, {})
    own = _typed(tool, "incrinstall", dict, {})
    # A [tool.incrinstall] table without a schema was written by incrinstall 0.1, whose layout schema 1
    # kept: read it, so that its managed set survives the upgrade.
    if own.get("schema", SCHEMA if own else None) != SCHEMA:
        raise _Unreadable(f"[tool.incrinstall] schema is {own.get('schema')!r}, this incrinstall reads {SCHEMA}")
    packages = {}
    for entry in _typed(data, "packages", list, []):
        # Checked inline, not through _typed(): thousands of entries, on every sync.
        try:
            name, version = entry["name"], entry["version"]
            dist = (entry.get("wheels") or [entry.get("sdist") or {}])[0]
            url, hashes = dist.get("url"), dist.get("hashes", {})
        except (TypeError, KeyError, AttributeError, IndexError):
            raise _Unreadable("a [[packages]] entry is not a table with name, version and a file") from None
        if not (isinstance(name, str) and isinstance(version, str) and isinstance(url, (str, type(None)))
                and isinstance(hashes, dict)):
            raise _Unreadable(f"[[packages]] entry {name!r} has values of the wrong type")
        _strings(hashes.values(), f"the hashes of {name}")
        packages[name] = LockedPackage(name, version, url, dict(hashes))
    for entry in _typed(own, "packages-without-file", list, []):
        if not isinstance(entry, dict):
            raise _Unreadable("a packages-without-file entry is not a table")
        name = _typed(entry, "name", str)
        packages[name] = LockedPackage(name, _typed(entry, "version", str), _typed(entry, "url", (str, type(None))))
    managed = _typed(own, "managed", list, [])
    _strings(managed, "managed")
    tree = _typed(own, "tree-packages", dict, {})
    _strings(tree.values(), "tree-packages")
    baseline = _typed(own, "baseline", (dict, type(None)))
    lock = _typed(own, "lock", (dict, type(None)))
    if lock is not None:
        _strings(lock.values(), "lock")
    return State(
        packages=packages,
        managed=set(managed),
        fingerprint=_typed(own, "fingerprint", str, "") or None,
        selection=dict(_typed(own, "selection", dict, {})),
        baseline=dict(baseline) if baseline else None,
        project_dir=_typed(own, "project-dir", str, "") or None,
        editable=_typed(own, "editable-fingerprint", str, "") or None,
        editable_shape=_typed(own, "editable-shape", str, "") or None,
        tree=dict(tree),
        lock=dict(lock) if lock else None,
    )


def load(prefix: str) -> State | None:
    """The state of the environment at `prefix`, or None when there is none this version can read.

    A state file that cannot be read (garbage, another schema, an unexpected shape) is reported in
    one line on stderr and treated as absent: nothing is known as managed, so nothing is removed.
    """
    path = state_dir(prefix) / "pylock.toml"
    try:
        toml_mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    except OSError as exc:
        _unreadable(path, exc.strerror or str(exc))
        return None
    copy = state_dir(prefix) / READ_COPY
    try:
        if copy.stat().st_mtime_ns >= toml_mtime:  # a hand-edited pylock.toml is newer: read that
            return _from_lock_data(json.loads(copy.read_text(encoding="utf-8")))
    except (OSError, ValueError, RecursionError):  # RecursionError: absurdly nested garbage
        pass  # the copy is only a shortcut: read the TOML
    try:
        return _from_lock_data(read_toml(path))
    except (OSError, ValueError, RecursionError) as exc:  # tomllib's and tomlkit's parse errors are ValueErrors
        _unreadable(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None


def _unreadable(path: Path, reason: str) -> None:
    """Say, in one line on stderr, that the state file is treated as absent, and why."""
    print(f"warning: ignoring the state file {path} ({reason}); no package is known as installed by "
          "incrinstall, so this sync removes none", file=sys.stderr, flush=True)
    return None


def save_stamp(prefix: str, stamp: Stamp) -> None:
    _write_atomic(state_dir(prefix) / STAMP_NAME, json.dumps(stamp, indent=1, sort_keys=True))


def clear_stamp(prefix: str) -> None:
    try:
        os.unlink(state_dir(prefix) / STAMP_NAME)
    except FileNotFoundError:
        pass
