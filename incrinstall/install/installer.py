"""Apply a Plan with uv: install first, remove second, journal every step so a killed run converges.

The journal (`<prefix>/.incrinstall/journal.json`) is written before anything changes and
deleted after the state file is updated. A later run that finds it (pipeline.sync):
- deletes the metadata folders of touched packages that a killed uv left without RECORD or METADATA;
- deletes what a cut-short removal left of the dists it was removing, whose files `removing.json`
  lists (written before the removal begins);
- redoes the journal's installs, so that whatever a killed uv half-wrote is named by a RECORD again;
- plans as usual, treating every package the journal touched as managed, and reinstalls the touched
  ones that the new plan keeps and that were not just redone;
- deletes the temporary files a killed uv left in the folders of touched packages.
So a package half-written or half-removed by a killed uv is repaired or removed, and nothing it
installed is lost track of (the journal also keeps the file of each install, for the state file).

Dists can ship the same files (jwt / PyJWT, psycopg2 / psycopg2-binary), and removing one
deletes them for the other. So before the removal the RECORDs of the dists to remove are
compared with those of the dists that stay; the staying ones that share a path ("overlapped
survivors") join the journal's install list, and after the removal uv reinstalls them from
its cache. A run killed in between reinstalls them like any other touched package.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.common.errors import InstallError, LockTimeout
from incrinstall.install.state import JOURNAL_NAME, _write_atomic, state_dir
from incrinstall.common.uv import run_uv


_REQUIREMENTS_PREFIX = "incrinstall-"  # the pinned requirements file handed to uv, in the state folder


@dataclass
class Journal:
    phase: str  # "install" | "remove"
    install: list[str] = field(default_factory=list)  # "name==version"
    remove: list[str] = field(default_factory=list)  # names
    pid: int = 0
    # "name==version" -> {"url", "hashes", "direct"}: the file each install came from. A run that converges a
    # killed one finds those packages installed, and would otherwise no longer know their files (the state
    # file lists them); "direct" says the install was `name @ url`, which completing it must repeat.
    files: dict[str, dict] = field(default_factory=dict)

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
    from incrinstall.install.stamp import JOURNAL_SCHEMA  # kept beside JOURNAL_NAME and the other records' schemas

    path = journal_path(prefix)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError):
        data = None
    if (isinstance(data, dict) and data.get("schema") == JOURNAL_SCHEMA and data.get("phase") in ("install", "remove")
            and isinstance(data.get("pid"), int)
            and all(isinstance(data.get(key), list) and all(isinstance(v, str) for v in data[key])
                    for key in ("install", "remove"))):
        return Journal(data["phase"], data["install"], data["remove"], data["pid"], _journal_files(data.get("files")))
    from incrinstall.common.names import canonical_name

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
                    touched.add(canonical_name(meta.name[: -len(".dist-info")].rsplit("-", 1)[0]))
    # Journal.touched() is install names plus `remove`: the unknown extent goes there.
    return Journal("unreadable", [], sorted(touched), 0)


def _journal_files(value) -> dict[str, dict]:
    """The journal's `files`, keeping only well-formed entries: they only add to what the state knows."""
    if not isinstance(value, dict):
        return {}
    return {spec: {"url": entry["url"], "hashes": dict(entry["hashes"]), "direct": entry.get("direct") is True}
            for spec, entry in value.items()
            if isinstance(entry, dict) and isinstance(entry.get("url"), str) and isinstance(entry.get("hashes"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in entry["hashes"].items())}


def _write_journal(prefix: str, journal: Journal) -> None:
    from incrinstall.install.stamp import JOURNAL_SCHEMA  # kept beside JOURNAL_NAME and the other records' schemas

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
    for leftover in [*folder.glob(f"{_REQUIREMENTS_PREFIX}*.txt"), *folder.glob(".*.tmp"), folder / REMOVING_NAME]:
        leftover.unlink(missing_ok=True)


# What the removal phase removes, file by file, written before uv's uninstall begins: uv deletes a dist's
# metadata folder first (its paths sort before the package's), so a uv killed midway leaves files that no
# RECORD names any more. {"schema": 1, "files": {name: [path relative to the prefix, ...]}}
REMOVING_NAME = "removing.json"


def _write_removing(prefix: str, site_dirs: Iterable[str], remove: Iterable[str]) -> None:
    from incrinstall.common.names import canonical_name

    names = {canonical_name(n) for n in remove}
    root = os.path.realpath(prefix)
    files: dict[str, list[str]] = {}
    for site, entry in _dist_infos_of(dict.fromkeys(os.path.realpath(s) for s in site_dirs), names):
        name = canonical_name(entry.name[: -len(".dist-info")].rsplit("-", 1)[0])
        paths = [os.path.normpath(os.path.join(site, rel)) for rel in _record_paths(entry.path)
                 if not os.path.isabs(rel)]
        files.setdefault(name, []).extend(os.path.relpath(p, root) for p in paths)
    _write_atomic(state_dir(prefix) / REMOVING_NAME, json.dumps({"schema": 1, "files": files}))


def clear_half_removed(prefix: str, site_dirs: Iterable[str]) -> list[str]:
    """Delete what an interrupted removal left of the dists it was removing; return the names cleaned up.

    Only for a dist that is no longer installed (clear_torn() has already removed a metadata folder the
    killed uv cut short): the files its RECORD named that are still there, except any that an installed
    dist's RECORD names too (a survivor's; it is reinstalled anyway), then the folders left empty.
    """
    from incrinstall.common.names import canonical_name

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
                name = canonical_name(entry.name[: -len(".dist-info")].rsplit("-", 1)[0])
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
            for folders in installed.values() for site, folder in folders for rel in _record_paths(folder)}
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


def _dist_infos_of(site_dirs: Iterable[str], names: set[str]):
    """(site folder, os.DirEntry) of every `*.dist-info` folder whose name is one of `names` (canonical)."""
    from incrinstall.common.names import canonical_name

    for site in site_dirs:
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            if canonical_name(entry.name[: -len(".dist-info")].rsplit("-", 1)[0]) in names:
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
            for rel in _record_paths(entry.path):
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
        for rel in _record_paths(entry.path):
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


@contextmanager
def environment_lock(prefix: str, *, timeout: float | None, on_wait: Callable[[str], None] | None = None):
    """An exclusive lock per environment, so two syncs never interleave."""
    import fcntl

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


@dataclass(frozen=True)
class InstallItem:
    name: str
    version: str
    hashes: tuple[str, ...] = ()  # "sha256:..." for every file of that version, when the index gave them
    url: str | None = None  # a direct URL requirement's file: installed from there, not by name
    file_url: str | None = None  # where the index lists the file, for messages (uv's causes may not say)


def _requirements_file(items: list[InstallItem], directory: str) -> tuple[str, bool]:
    with_hashes = all(item.hashes for item in items)
    lines = []
    for item in items:
        line = f"{item.name} @ {item.url}" if item.url else f"{item.name}=={item.version}"
        if with_hashes:
            line += "".join(f" --hash={h}" for h in item.hashes)
        lines.append(line)
    fd, path = tempfile.mkstemp(prefix=_REQUIREMENTS_PREFIX, suffix=".txt", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, with_hashes


def _record_paths(dist_info: str) -> list[str]:
    """The paths a dist-info's RECORD lists, as written (relative to site-packages, maybe with `..`)."""
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", errors="replace", newline="") as f:
            return [row[0] for row in csv.reader(f) if row and row[0]]
    except OSError:
        return []


def _needles(removed: set[str], site: str) -> list[bytes] | None:
    """Byte strings one of which a RECORD naming any of `removed` must contain, as installers write RECORD.

    A path in site-packages is found by its top-level name at the start of a line (`jwt` for `jwt/...`,
    `six.py`); one outside (a script, `../../../bin/tool`) by its file name before the comma. A
    needle may match more than it should (`jwtx/`): that only costs parsing that RECORD. None: too
    unusual to filter (a quoted path), parse every RECORD.
    """
    needles = set()
    for path in removed:
        if '"' in path or "," in path:
            return None
        rel = os.path.relpath(path, site)
        if rel.startswith(".."):
            needles.add(f"/{os.path.basename(path)},")
        else:
            needles.add("\n" + rel.split(os.sep, 1)[0])
    return [n.encode("utf-8") for n in needles]


def overlapped_survivors(site_dirs: Iterable[str], remove: Iterable[str]) -> list[str]:
    """"name==version" of every dist that stays but whose RECORD names a file a dist in `remove` also names.

    Paths are compared normalized (RECORD's are relative to site-packages and may hold `..`). The
    removed dists' RECORDs are parsed; a staying dist's RECORD is only searched for the removed
    top-level names, and parsed when one is there, so a removal without overlap costs a read per dist.
    """
    from incrinstall.common.names import canonical_name

    removing = {canonical_name(name) for name in remove}
    removed: dict[str, set[str]] = {}  # site -> normalized absolute paths the removed dists name
    staying = []
    for site in dict.fromkeys(os.path.realpath(s) for s in site_dirs):
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            name, _, version = entry.name[: -len(".dist-info")].rpartition("-")
            if canonical_name(name) not in removing:
                staying.append((site, entry.path, f"{canonical_name(name)}=={version}"))
                continue
            own = entry.path + os.sep  # its own metadata is no one else's
            removed.setdefault(site, set()).update(
                p for p in (os.path.normpath(os.path.join(site, rel)) for rel in _record_paths(entry.path))
                if not p.startswith(own))
    every = set().union(*removed.values())
    if not every:
        return []
    # A staying dist in another site folder reaches these paths only by `..`: its own needles.
    needles = {site: _needles(every, site) for site in dict.fromkeys(site for site, _, _ in staying)}
    survivors = set()
    for site, dist_info, spec in staying:
        wanted = needles[site]
        if wanted is not None:
            try:
                with open(os.path.join(dist_info, "RECORD"), "rb") as f:
                    text = b"\n" + f.read()
            except OSError:
                continue
            if not any(n in text for n in wanted):
                continue
        if any(os.path.normpath(os.path.join(site, rel)) in every for rel in _record_paths(dist_info)):
            survivors.add(spec)
    return sorted(survivors)


def _uv_install(python: str, items: list[InstallItem], state_folder: str, *, uv_index_args: list[str],
                reinstall: Iterable[str], compile_bytecode: bool, break_system_packages: bool, what: str,
                offline_first: bool = False) -> None:
    """One `uv pip install --no-deps` of the exact pins.

    `offline_first`: uv has just resolved these pins and revalidated every index page they need, so
    the install asks its cache only (`--offline`: about 0.1 s instead of 1.8 s for 100 packages on
    PyPI); a pin whose file is not in uv's cache yet makes uv refuse before it changes anything, and
    the install runs again online.
    """
    from incrinstall.common.errors import InstallError

    if offline_first and "--offline" not in uv_index_args:
        try:
            return _uv_install(python, items, state_folder, uv_index_args=[*uv_index_args, "--offline"],
                               reinstall=reinstall, compile_bytecode=compile_bytecode,
                               break_system_packages=break_system_packages, what=what)
        except InstallError:
            pass  # not all in uv's cache: the same install, online
    req_file, hashed = _requirements_file(items, state_folder)
    try:
        args = ["pip", "install", "--python", python, "--no-deps", "-r", req_file,
                *uv_index_args]  # uv_index_args carries --index-strategy (IndexConfig.uv_args)
        if hashed:
            args.append("--require-hashes")
        if compile_bytecode:
            args.append("--compile-bytecode")
        if break_system_packages:
            args.append("--break-system-packages")
        for name in sorted(reinstall):
            args += ["--reinstall-package", name]
        try:
            run_uv(args, what=what)
        except InstallError as exc:
            raise _naming_the_file(exc, items) from None
    finally:
        os.unlink(req_file)


def complete_installs(prefix: str, python: str, journal: Journal, *, uv_index_args: list[str],
                      compile_bytecode: bool = False, break_system_packages: bool = False) -> list[str]:
    """Redo the install step of the interrupted run its journal describes; return the "name==version" done.

    A uv killed while installing leaves packages half-written: files of a version whose metadata folder
    is not there yet (so no RECORD will ever name them), or files of a new version over an old one. The
    plan cannot see those files; reinstalling each journaled "name==version" gives them a RECORD again,
    and the plan then keeps, replaces or removes the package like any other. When the specs did not
    change since, this is the install the plan would have made anyway.
    """
    items = []
    for spec in journal.install:
        name, _, version = spec.partition("==")
        entry = journal.files.get(spec, {})
        items.append(InstallItem(name, version, url=entry["url"] if entry.get("direct") else None))
    if not items:
        return []
    _uv_install(python, items, str(state_dir(prefix)), uv_index_args=uv_index_args, reinstall={i.name for i in items},
                compile_bytecode=compile_bytecode, break_system_packages=break_system_packages,
                what="completing the interrupted sync's installs")
    return list(journal.install)


def _naming_the_file(exc: InstallError, items: list[InstallItem]) -> InstallError:
    """The error with the URL of the file uv could not get added (from the index's listing).

    uv's headline names `name==version`, but its causes for a reset, a timeout or a hash
    mismatch do not say where the file came from.
    """
    import re

    from incrinstall.common.http import redact
    from incrinstall.common.names import canonical_name

    named = re.search(r"`([A-Za-z0-9][A-Za-z0-9._-]*)==[^`]+`", exc.message)
    if named is None:
        return exc
    item = next((i for i in items if canonical_name(i.name) == canonical_name(named.group(1))), None)
    url = item and (item.url or item.file_url)
    if url and redact(url) not in exc.message:
        exc.message = f"{exc.message} (from {redact(url)})"
        exc.args = (exc.message,)
    return exc


def apply(
    prefix: str,
    python: str,
    *,
    site_dirs: Iterable[str],
    install: list[InstallItem],
    remove: list[str],
    uv_index_args: list[str],
    reinstall: set[str] = frozenset(),
    compile_bytecode: bool = False,
    break_system_packages: bool = False,
    files: dict[str, dict] | None = None,
    offline_first: bool = False,
) -> None:
    """Install (one uv call, pinned, --no-deps), remove (one uv call), restore the survivors, under a journal.

    `files` ("name==version" -> {"url", "hashes", "direct"}) goes into the journal, for a run that converges
    this one.
    """
    journal = Journal("install", [f"{i.name}=={i.version}" for i in install], list(remove), os.getpid(),
                      dict(files or {}))
    _write_journal(prefix, journal)
    uv_options = {"uv_index_args": uv_index_args, "compile_bytecode": compile_bytecode,
                  "break_system_packages": break_system_packages}
    if install:
        _uv_install(python, install, str(state_dir(prefix)), reinstall=reinstall, what="installing with uv",
                    offline_first=offline_first, **uv_options)
    if not remove:
        return
    # Read after the install step: what it installed may share files with what goes now.
    survivors = overlapped_survivors(site_dirs, remove)
    _write_removing(prefix, site_dirs, remove)
    journal.phase = "remove"
    # In the journal before the removal, so a run killed after it reinstalls them.
    journal.install += [spec for spec in survivors if spec not in journal.install]
    _write_journal(prefix, journal)
    override = ["--break-system-packages"] if break_system_packages else []
    run_uv(["pip", "uninstall", "--python", python, *override, *sorted(remove)], what="removing with uv")
    if survivors:
        # uv puts back the exact files, from its cache; hashes where this sync had them.
        known = {f"{i.name}=={i.version}": i for i in install}
        items = [known.get(spec) or InstallItem(*spec.split("==", 1)) for spec in survivors]
        _uv_install(python, items, str(state_dir(prefix)), reinstall={i.name for i in items},
                    what=f"restoring {', '.join(survivors)}, whose files the removal deleted", **uv_options)
