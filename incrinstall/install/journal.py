"""The journal of a sync that changes the environment, and the repairs it lets the next run make.

The journal (`<prefix>/.incrinstall/journal.json`) is written before anything changes and deleted after
the state file is updated. A run that finds it (installer.recover) can:
- delete the metadata folders of touched packages that a killed uv left without RECORD or METADATA
  (clear_torn);
- delete what a cut-short removal left of the dists it was removing, whose files `removing.json` lists,
  written before the removal begins (clear_half_removed);
- delete the temporary files a killed uv left in the folders of touched packages (clear_uv_temporaries).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypedDict

from incrinstall.common.names import canonical_name
from incrinstall.install.stamp import JOURNAL_NAME, JOURNAL_SCHEMA
from incrinstall.install.state import _write_atomic, state_dir

# What the journal's run was doing: installing, then removing; "unreadable" for a journal found but not
# understood (read_journal), whose run touched an unknown part of the environment.
JournalPhase = Literal["install", "remove", "unreadable"]
_WRITTEN_PHASES: tuple[JournalPhase, ...] = ("install", "remove")


class _JournalFileFields(TypedDict):
    url: str
    hashes: dict[str, str]  # {"sha256": hex}; empty when the source gave none
    direct: bool  # installed as `name @ url`: completing the install must repeat that


class JournalFile(_JournalFileFields, total=False):
    """The file one install of the journal came from."""

    index: str  # a lock's file, installed as a package of this registry ("" when the lock names none)


REQUIREMENTS_PREFIX = "incrinstall-"  # the pinned requirements file handed to uv, in the state folder
PYLOCK_PREFIX = "pylock.incrinstall_"  # the PEP 751 file handed to uv instead, for a lock's files (uv wants pylock.NAME.toml)


@dataclass
class Journal:
    phase: JournalPhase
    install: list[str] = field(default_factory=list)  # "name==version"
    remove: list[str] = field(default_factory=list)  # names
    pid: int = 0
    # "name==version" -> the file each install came from. A run that converges a killed one finds those
    # packages installed, and would otherwise no longer know their files (the state file lists them).
    files: dict[str, JournalFile] = field(default_factory=dict)

    def touched(self) -> set[str]:
        return {spec.split("==", 1)[0] for spec in self.install} | set(self.remove)


def journal_path(prefix: str) -> Path:
    return state_dir(prefix) / JOURNAL_NAME


def read_journal(prefix: str) -> Journal | None:
    """The journal of an interrupted sync, or None when there is none.

    A journal that exists but cannot be read (garbage, another schema, an unexpected shape) still
    means a sync was interrupted, so it is never ignored: it is read as a journal of unknown
    extent, phase "unreadable", that touched every distribution whose metadata folder is missing
    RECORD or METADATA or changed since the last completed sync wrote the state file (all of them
    when there is no state file). The recovery then clears those that are torn, treats them all as
    managed and reinstalls those the new plan keeps. That may also take over a package installed
    by other means since the last sync and remove it if the specs do not need it: the price of
    never leaving a half-written package or an untracked install behind.
    """
    path = journal_path(prefix)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError):
        data = None
    if (isinstance(data, dict) and data.get("schema") == JOURNAL_SCHEMA and data.get("phase") in _WRITTEN_PHASES
            and isinstance(data.get("pid"), int)
            and all(isinstance(data.get(key), list) and all(isinstance(v, str) for v in data[key])
                    for key in ("install", "remove"))):
        return Journal(data["phase"], data["install"], data["remove"], data["pid"], _journal_files(data.get("files")))
    try:
        since = (state_dir(prefix) / "pylock.toml").stat().st_mtime_ns // 1_000_000_000
    except OSError:
        since = None
    touched = set()
    # The site folders a venv or an interpreter prefix has (POSIX, Debian's dist-packages, Windows).
    for pattern in ("lib*/python*/*-packages", "local/lib*/python*/*-packages", "Lib/site-packages"):
        for site in Path(prefix).glob(pattern):
            for meta in site.glob("*.dist-info"):
                try:
                    changed = meta.stat().st_mtime_ns // 1_000_000_000
                except OSError:
                    continue
                torn = not ((meta / "RECORD").is_file() and (meta / "METADATA").is_file())
                if torn or since is None or changed >= since:
                    touched.add(dist_info_name(meta.name)[0])
    # Journal.touched() is install names plus `remove`: the unknown extent goes there.
    return Journal("unreadable", [], sorted(touched), 0)


def _journal_files(value: object) -> dict[str, JournalFile]:
    """The journal's `files`, keeping only well-formed entries: they only add to what the state knows."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, JournalFile] = {}
    for spec, entry in value.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("url"), str) and isinstance(entry.get("hashes"), dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in entry["hashes"].items())):
            continue
        file = JournalFile(url=entry["url"], hashes=dict(entry["hashes"]), direct=entry.get("direct") is True)
        if isinstance(entry.get("index"), str):
            file["index"] = entry["index"]
        out[spec] = file
    return out


def dist_info_name(folder: str) -> tuple[str, str]:
    """(canonical name, version) of a `{name}-{version}.dist-info` folder's name: install/'s one reading of it.

    (Issue 22 part A makes the one for the whole package in common/names.py; this then goes.)
    """
    name, _, version = folder[: -len(".dist-info")].rpartition("-")
    return (canonical_name(name), version) if name else (canonical_name(version), "")


def write_journal(prefix: str, journal: Journal) -> None:
    _write_atomic(journal_path(prefix), json.dumps({"schema": JOURNAL_SCHEMA, **journal.__dict__}, indent=1))


def clear_journal(prefix: str) -> None:
    """Delete the journal, and what killed runs left next to it: requirements files, half-written records.

    A record is written as `.NAME.<pid>.<thread>.tmp` and then renamed (common/atomic.py); a run killed
    in between leaves the temporary file. Every writer of this folder holds the lock, as the caller does.
    """
    try:
        os.unlink(journal_path(prefix))
    except FileNotFoundError:
        pass
    folder = state_dir(prefix)
    for leftover in [*folder.glob(f"{REQUIREMENTS_PREFIX}*.txt"), *folder.glob(f"{PYLOCK_PREFIX}*.toml"),
                     *folder.glob(".*.tmp"), folder / REMOVING_NAME]:
        leftover.unlink(missing_ok=True)


# What the removal phase removes, file by file, written before uv's uninstall begins: uv deletes a dist's
# metadata folder first (its paths sort before the package's), so a uv killed midway leaves files that no
# RECORD names any more. {"schema": 1, "files": {name: [path relative to the prefix, ...]}}
REMOVING_NAME = "removing.json"


def write_removing(prefix: str, site_dirs: Iterable[str], remove: Iterable[str]) -> None:
    names = {canonical_name(n) for n in remove}
    root = os.path.realpath(prefix)
    files: dict[str, list[str]] = {}
    for site, entry in _dist_infos_of(dict.fromkeys(os.path.realpath(s) for s in site_dirs), names):
        name = dist_info_name(entry.name)[0]
        paths = [os.path.normpath(os.path.join(site, rel)) for rel in record_paths(entry.path)
                 if not os.path.isabs(rel)]
        files.setdefault(name, []).extend(os.path.relpath(p, root) for p in paths)
    _write_atomic(state_dir(prefix) / REMOVING_NAME, json.dumps({"schema": 1, "files": files}))


def clear_half_removed(prefix: str, site_dirs: Iterable[str]) -> list[str]:
    """Delete what an interrupted removal left of the dists it was removing; return the names cleaned up.

    Only for a dist that is no longer installed (clear_torn() has already removed a metadata folder the
    killed uv cut short): the files its RECORD named that are still there, except any that an installed
    dist's RECORD names too (a survivor's; it is reinstalled anyway), then the folders left empty.
    """
    try:
        data = json.loads((state_dir(prefix) / REMOVING_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    files = data.get("files") if isinstance(data, dict) and data.get("schema") == 1 else None
    if not isinstance(files, dict) or not all(isinstance(v, list) for v in files.values()):
        return []  # not what this version writes: nothing to go by
    installed: dict[str, list[tuple[str, str]]] = {}  # canonical name -> (site, metadata folder), complete ones
    sites = [os.path.realpath(s) for s in site_dirs]
    for site in dict.fromkeys(sites):
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            if os.path.isfile(os.path.join(entry.path, "RECORD")) and os.path.isfile(os.path.join(entry.path, "METADATA")):
                name = dist_info_name(entry.name)[0]
                installed.setdefault(name, []).append((site, entry.path))
    root = os.path.realpath(prefix)
    leftover: dict[str, list[str]] = {}
    for name, rels in files.items():
        if not isinstance(name, str) or name in installed:
            continue
        paths = [os.path.normpath(os.path.join(root, r)) for r in rels if isinstance(r, str)]
        # Never outside the environment, whatever the file says.
        paths = [p for p in paths if p.startswith(root + os.sep) and os.path.lexists(p)]
        if paths:
            leftover[name] = paths
    if not leftover:
        return []
    kept = {os.path.normpath(os.path.join(site, rel))
            for folders in installed.values() for site, folder in folders for rel in record_paths(folder)}
    for paths in leftover.values():
        for path in paths:
            if path in kept or os.path.isdir(path):
                continue
            try:
                os.unlink(path)
            except OSError:
                continue
            here = os.path.dirname(path)
            while here != root and here not in sites and here.startswith(root + os.sep):
                try:
                    os.rmdir(here)
                except OSError:
                    break
                here = os.path.dirname(here)
    return sorted(leftover)


def _dist_infos_of(site_dirs: Iterable[str], names: set[str]) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(site folder, os.DirEntry) of every `*.dist-info` folder whose name is one of `names` (canonical)."""
    for site in site_dirs:
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            if dist_info_name(entry.name)[0] in names:
                yield site, entry


def clear_torn(site_dirs: Iterable[str], names: set[str]) -> list[str]:
    """Delete the metadata folders of `names` that lack RECORD or METADATA: a killed uv's half-done work.

    uv cannot uninstall a folder without RECORD and counts it as a second installed copy; one without
    METADATA is invisible to our reader, so nothing would ever remove it. The files RECORD lists go too.
    """
    cleared = []
    for site, entry in _dist_infos_of(site_dirs, names):
        record = os.path.join(entry.path, "RECORD")
        if os.path.isfile(record) and os.path.isfile(os.path.join(entry.path, "METADATA")):
            continue
        if os.path.isfile(record):
            for rel in record_paths(entry.path):
                path = os.path.normpath(os.path.join(site, rel))
                if not os.path.isabs(rel) and os.path.isfile(path):
                    os.unlink(path)
        shutil.rmtree(entry.path, ignore_errors=True)
        cleared.append(entry.name)
    return cleared


# uv writes a file as a temporary `.tmpXXXXXX` beside it and renames it (Rust's tempfile crate); a uv killed
# in between leaves the temporary file in the package's folder, listed by no RECORD.
_UV_TEMPORARY = re.compile(r"\.tmp[A-Za-z0-9]{6}")


def record_folders(site_dirs: Iterable[str], names: set[str]) -> dict[str, set[str]]:
    """Each folder that the RECORD of one of `names` puts files in (its metadata folder too) -> the paths listed there."""
    folders: dict[str, set[str]] = {}
    for site, entry in _dist_infos_of(site_dirs, names):
        folders.setdefault(entry.path, set())
        for rel in record_paths(entry.path):
            if os.path.isabs(rel):
                continue
            path = os.path.normpath(os.path.join(site, rel))
            folders.setdefault(os.path.dirname(path), set()).add(path)
    return folders


def clear_uv_temporaries(site_dirs: Iterable[str], folders: dict[str, set[str]]) -> list[str]:
    """Delete uv's temporary files that no RECORD lists from `folders` (record_folders()); folders left empty go too.

    Only for a run that converges an interrupted one: nothing else leaves such files behind.
    """
    sites = {os.path.normpath(s) for s in site_dirs}
    cleared = []
    for folder, listed in folders.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if (_UV_TEMPORARY.fullmatch(entry.name) and entry.path not in listed
                    and entry.is_file(follow_symlinks=False)):
                os.unlink(entry.path)
                cleared.append(entry.path)
        # A package folder that held nothing but the temporary file is gone in an uninterrupted run too.
        here = os.path.normpath(folder)
        while here not in sites and os.path.dirname(here) != here and any(
                here.startswith(site + os.sep) for site in sites):
            try:
                os.rmdir(here)
            except OSError:
                break
            here = os.path.dirname(here)
    return cleared




def record_paths(dist_info: str) -> list[str]:
    """The paths a dist-info's RECORD lists, as written (relative to site-packages, maybe with `..`)."""
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", errors="replace", newline="") as f:
            return [row[0] for row in csv.reader(f) if row and row[0]]
    except OSError:
        return []
