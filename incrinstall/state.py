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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.fastpath import JOURNAL_NAME, STAMP_NAME, STATE_DIRNAME


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
    selection: dict = field(default_factory=dict)
    baseline: dict | None = None  # {"source", "sha256", "fingerprint", "created"}
    project_dir: str | None = None
    editable: str | None = None  # fingerprint of the specs the project was last installed editable from
    tree: dict[str, str] = field(default_factory=dict)  # canonical name -> version of each package the tree provides

    @property
    def pins(self) -> dict[str, str]:
        return {name: p.version for name, p in self.packages.items()}


def state_dir(prefix: str) -> Path:
    return Path(prefix) / STATE_DIRNAME


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(prefix: str, state: State) -> None:
    # tomli-w: correct TOML for any string (an emoji or a control character in a path), and fast
    # enough (tens of ms for thousands of packages, where tomlkit takes a second). Only a sync
    # that did something imports it.
    import tomli_w

    data = _as_lock_data(state)
    _write_atomic(state_dir(prefix) / "pylock.toml", tomli_w.dumps(data))
    # The same data as JSON, written after the TOML: parsing a lock of thousands of packages with
    # tomllib costs a tenth of a second on every sync; json.load is many times faster.
    _write_atomic(state_dir(prefix) / READ_COPY, json.dumps(data))


READ_COPY = "pylock.json"


def _as_lock_data(state: State) -> dict:
    """The state as the dict a TOML parser would return for pylock.toml."""
    packages, without_file = [], []
    for name in sorted(state.packages):
        pkg = state.packages[name]
        if not (pkg.url and pkg.hashes):
            # PEP 751 wants a file with hashes for every package; one installed by other means has none we know.
            without_file.append({"name": name, "version": pkg.version, **({"url": pkg.url} if pkg.url else {})})
            continue
        dist = {"url": pkg.url, "hashes": dict(pkg.hashes)}
        entry = {"name": name, "version": pkg.version}
        if _is_wheel(pkg.url):
            entry["wheels"] = [dist]
        else:
            entry["sdist"] = dist
        packages.append(entry)
    own = {
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
    if state.baseline:
        own["baseline"] = state.baseline
    return {"lock-version": "1.0", "created-by": "incrinstall", "packages": packages,
            "tool": {"incrinstall": own}}


def _is_wheel(url: str) -> bool:
    return url.split("#", 1)[0].split("?", 1)[0].endswith(".whl")


def read_toml(path: Path) -> dict:
    """A TOML file as plain data: tomllib where the Python has it, else tomlkit."""
    try:
        import tomllib  # 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import tomlkit

        return tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    with open(path, "rb") as f:
        return tomllib.load(f)


def load(prefix: str) -> State | None:
    path = state_dir(prefix) / "pylock.toml"
    try:
        toml_mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    data = None
    copy = state_dir(prefix) / READ_COPY
    try:
        if copy.stat().st_mtime_ns >= toml_mtime:  # a hand-edited pylock.toml is newer: read that
            data = json.loads(copy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    if data is None:
        data = read_toml(path)
    own = data.get("tool", {}).get("incrinstall", {})
    packages = {}
    for entry in data.get("packages", []):
        dist = (entry.get("wheels") or [entry.get("sdist") or {}])[0]
        packages[entry["name"]] = LockedPackage(entry["name"], entry["version"], dist.get("url"),
                                                dict(dist.get("hashes", {})))
    for entry in own.get("packages-without-file", []):
        packages[entry["name"]] = LockedPackage(entry["name"], entry["version"], entry.get("url"))
    return State(
        packages=packages,
        managed=set(own.get("managed", [])),
        fingerprint=own.get("fingerprint") or None,
        selection=dict(own.get("selection", {})),
        baseline=dict(own["baseline"]) if own.get("baseline") else None,
        project_dir=own.get("project-dir") or None,
        editable=own.get("editable-fingerprint") or None,
        tree=dict(own.get("tree-packages", {})),
    )


def sync_interrupted(prefix: str) -> bool:
    """Is there the journal of a sync that did not finish? (A stat call, for the fast path.)"""
    return os.path.exists(state_dir(prefix) / JOURNAL_NAME)


def load_stamp(prefix: str) -> dict | None:
    try:
        with open(state_dir(prefix) / STAMP_NAME, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_stamp(prefix: str, stamp: dict) -> None:
    _write_atomic(state_dir(prefix) / STAMP_NAME, json.dumps(stamp, indent=1, sort_keys=True))


def clear_stamp(prefix: str) -> None:
    try:
        os.unlink(state_dir(prefix) / STAMP_NAME)
    except FileNotFoundError:
        pass
