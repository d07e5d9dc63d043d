"""Apply a Plan with uv: install first, remove second, journal every step so a killed run converges.

The journal (`<prefix>/.incrinstall/journal.json`) is written before anything changes and
deleted after the state file is updated. A later run that finds it (recover(), then finish_recovery()):
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

import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import tomli_w

from incrinstall.common.errors import InstallError
from incrinstall.common.names import canonical_name
from incrinstall.common.urls import redact
from incrinstall.install.journal import (
    PYLOCK_PREFIX, REQUIREMENTS_PREFIX, Journal, JournalFile, clear_half_removed, clear_torn, clear_uv_temporaries,
    read_journal, record_folders, write_journal, write_removing,
)
from incrinstall.install.model import Recovery
from incrinstall.install.overlap import overlapped_survivors
from incrinstall.install.state import state_dir
from incrinstall.common.uv import REAL_UV, UvRunner


@dataclass(frozen=True)
class InstallItem:
    name: str
    version: str
    hashes: tuple[str, ...] = ()  # "sha256:..." for every file of that version, when the index gave them
    url: str | None = None  # a direct URL requirement's file: installed from there, not by name
    file_url: str | None = None  # where the index lists the file, for messages (uv's causes may not say)
    # A lock's file (`file_url`, with `hashes`), installed exactly, as a package of this registry ("" when the
    # lock names none): what `uv sync` does, with no index page asked and no direct_url.json written.
    index: str | None = None


def _pylock_entry(item: InstallItem) -> dict[str, Any] | None:
    """`item` as a PEP 751 [[packages]] entry, or None when it cannot be one (no file, or no hashes for it)."""
    hashes = dict(h.split(":", 1) for h in item.hashes if ":" in h)
    if item.url is not None:
        return {"name": item.name, "version": item.version, "archive": {**_location(item.url), "hashes": hashes}} \
            if hashes else None
    if item.index is None or not item.file_url or len(item.hashes) != 1:
        return None
    dist = {**_location(item.file_url), "hashes": hashes}
    kind = "wheels" if item.file_url.split("#", 1)[0].split("?", 1)[0].endswith(".whl") else "sdist"
    entry: dict[str, Any] = {"name": item.name, "version": item.version, kind: [dist] if kind == "wheels" else dist}
    if item.index:
        entry["index"] = item.index
    return entry


def _location(url: str) -> dict[str, str]:
    """A file's place in a PEP 751 entry: `path` for a local file (uv takes no file: URL there), else `url`."""
    if url.startswith("file:"):

        return {"path": url2pathname(urlsplit(url).path)}
    return {"url": url}


def _install_file(items: list[InstallItem], directory: str) -> tuple[str, bool]:
    """The file `uv pip install -r` takes: a pylock.toml when a lock's files are installed, else requirements.

    uv installs every package of a PEP 751 file from the file it names, as `uv sync` installs a lock; a
    requirements file would have uv look `name==version` up on the index and pick a file itself.
    """
    if any(item.index is not None for item in items):
        entries = [_pylock_entry(item) for item in items]
        if all(entry is not None for entry in entries):
            fd, path = tempfile.mkstemp(prefix=PYLOCK_PREFIX, suffix=".toml", dir=directory)
            with os.fdopen(fd, "w") as f:
                f.write(tomli_w.dumps({"lock-version": "1.0", "created-by": "incrinstall", "packages": entries}))
            return path, True
    return _requirements_file(items, directory)


def _requirements_file(items: list[InstallItem], directory: str) -> tuple[str, bool]:
    with_hashes = all(item.hashes for item in items)
    lines = []
    for item in items:
        # A lock's file that cannot go into a PEP 751 file (it has no hash) is still installed from that file.
        url = item.url or (item.file_url if item.index is not None else None)
        line = f"{item.name} @ {url}" if url else f"{item.name}=={item.version}"
        if with_hashes:
            line += "".join(f" --hash={h}" for h in item.hashes)
        lines.append(line)
    fd, path = tempfile.mkstemp(prefix=REQUIREMENTS_PREFIX, suffix=".txt", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, with_hashes


def _uv_install(python: str, items: list[InstallItem], state_folder: str, *, uv: UvRunner, uv_index_args: list[str],
                reinstall: Iterable[str], compile_bytecode: bool, break_system_packages: bool, what: str,
                offline_first: bool = False) -> None:
    """One `uv pip install --no-deps` of the exact pins.

    `offline_first`: uv has just resolved these pins and revalidated every index page they need, so
    the install asks its cache only (`--offline`: about 0.1 s instead of 1.8 s for 100 packages on
    PyPI); a pin whose file is not in uv's cache yet makes uv refuse before it changes anything, and
    the install runs again online.
    """
    if offline_first and "--offline" not in uv_index_args:
        try:
            return _uv_install(python, items, state_folder, uv=uv, uv_index_args=[*uv_index_args, "--offline"],
                               reinstall=reinstall, compile_bytecode=compile_bytecode,
                               break_system_packages=break_system_packages, what=what)
        except InstallError:
            pass  # not all in uv's cache: the same install, online
    req_file, hashed = _install_file(items, state_folder)
    try:
        args = ["pip", "install", "--python", python, "--no-deps", "-r", req_file,
                *uv_index_args]  # uv_index_args carries --index-strategy (IndexConfig.uv_args)
        if hashed and not req_file.endswith(".toml"):  # a PEP 751 file's hashes are always checked
            args.append("--require-hashes")
        if compile_bytecode:
            args.append("--compile-bytecode")
        if break_system_packages:
            args.append("--break-system-packages")
        for name in sorted(reinstall):
            args += ["--reinstall-package", name]
        try:
            uv.run(args, what=what)
        except InstallError as exc:
            raise _naming_the_file(exc, items) from None
    finally:
        os.unlink(req_file)


def complete_installs(prefix: str, python: str, journal: Journal, *, uv_index_args: list[str],
                      compile_bytecode: bool = False, break_system_packages: bool = False,
                      uv: UvRunner = REAL_UV) -> list[str]:
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
        entry = journal.files.get(spec)
        if entry is not None and "index" in entry:  # a lock's file: that very file again
            items.append(InstallItem(name, version, tuple(f"{k}:{v}" for k, v in entry["hashes"].items()),
                                     file_url=entry["url"], index=entry["index"]))
        else:
            items.append(InstallItem(name, version, url=entry["url"] if entry is not None and entry["direct"] else None))
    if not items:
        return []
    _uv_install(python, items, str(state_dir(prefix)), uv=uv, uv_index_args=uv_index_args, reinstall={i.name for i in items},
                compile_bytecode=compile_bytecode, break_system_packages=break_system_packages,
                what="completing the interrupted sync's installs")
    return list(journal.install)


def _naming_the_file(exc: InstallError, items: list[InstallItem]) -> InstallError:
    """The error with the URL of the file uv could not get added (from the index's listing).

    uv's headline names `name==version`, but its causes for a reset, a timeout or a hash
    mismatch do not say where the file came from.
    """
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
    reinstall: Iterable[str] = (),
    compile_bytecode: bool = False,
    break_system_packages: bool = False,
    files: dict[str, JournalFile] | None = None,
    offline_first: bool = False,
    uv: UvRunner = REAL_UV,
) -> None:
    """Install (one uv call, pinned, --no-deps), remove (one uv call), restore the survivors, under a journal.

    `files` ("name==version" -> its file) goes into the journal, for a run that converges this one.
    """
    journal = Journal("install", [f"{i.name}=={i.version}" for i in install], list(remove), os.getpid(),
                      dict(files or {}))
    write_journal(prefix, journal)
    if install:
        _uv_install(python, install, str(state_dir(prefix)), uv=uv, uv_index_args=uv_index_args, reinstall=reinstall,
                    compile_bytecode=compile_bytecode, break_system_packages=break_system_packages,
                    what="installing with uv", offline_first=offline_first)
    if not remove:
        return
    # Read after the install step: what it installed may share files with what goes now.
    survivors = overlapped_survivors(site_dirs, remove)
    write_removing(prefix, site_dirs, remove)
    journal.phase = "remove"
    # In the journal before the removal, so a run killed after it reinstalls them.
    journal.install += [spec for spec in survivors if spec not in journal.install]
    write_journal(prefix, journal)
    override = ["--break-system-packages"] if break_system_packages else []
    uv.run(["pip", "uninstall", "--python", python, *override, *sorted(remove)], what="removing with uv")
    if survivors:
        # uv puts back the exact files, from its cache; hashes where this sync had them.
        known = {f"{i.name}=={i.version}": i for i in install}
        items = [known.get(spec) or InstallItem(spec.partition("==")[0], spec.partition("==")[2]) for spec in survivors]
        _uv_install(python, items, str(state_dir(prefix)), uv=uv, uv_index_args=uv_index_args,
                    reinstall={i.name for i in items}, compile_bytecode=compile_bytecode,
                    break_system_packages=break_system_packages,
                    what=f"restoring {', '.join(survivors)}, whose files the removal deleted")


# --- converging an interrupted run ----------------------------------------------------------------


def recover(prefix: str, python: str, site_dirs: tuple[str, ...], *, uv_index_args: list[str],
            compile_bytecode: bool, break_system_packages: bool, report: Callable[[str], None],
            uv: UvRunner = REAL_UV) -> Recovery:
    """Before planning: repair what a killed run left (see the module docstring); Recovery() when none was."""
    journal = read_journal(prefix)
    if journal is None:
        return Recovery()
    report(f"found the journal of an interrupted sync (pid {journal.pid}, {journal.phase} phase); converging")
    for torn in clear_torn(site_dirs, journal.touched()):
        report(f"removed {torn}, left half-written by the interrupted sync")
    for name in clear_half_removed(prefix, site_dirs):
        report(f"removed the files the interrupted sync left of {name}, which it was removing")
    # The folders as their RECORDs say now, and again once its installs are completed (a package it had
    # just begun has a RECORD only then); finish_recovery() adds them as this run's changes leave them.
    folders = record_folders(site_dirs, journal.touched())
    try:
        done = complete_installs(prefix, python, journal, uv_index_args=uv_index_args,
                                 compile_bytecode=compile_bytecode, break_system_packages=break_system_packages, uv=uv)
    except InstallError as exc:
        # Not this run's error (the index lost one of those versions meanwhile): its plan then reinstalls
        # what it keeps, as it would without this step.
        report(f"could not complete the interrupted sync's installs ({exc.message}); continuing without")
        done = []
    if done:
        report(f"completed the interrupted sync's installs: {', '.join(done)}")
    for name, listed in record_folders(site_dirs, journal.touched()).items():
        folders.setdefault(name, set()).update(listed)
    return Recovery(journal, frozenset(done), folders)


def finish_recovery(recovery: Recovery, site_dirs: tuple[str, ...], report: Callable[[str], None]) -> None:
    """After this run's changes: delete the temporary files the killed uv left that no RECORD lists."""
    if recovery.journal is None:
        return
    folders = recovery.folders
    for name, listed in record_folders(site_dirs, recovery.journal.touched()).items():
        folders.setdefault(name, set()).update(listed)
    for leftover in clear_uv_temporaries(site_dirs, folders):
        report(f"removed {leftover}, a temporary file of the interrupted uv")
