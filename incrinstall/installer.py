"""Apply a Plan with uv: install first, remove second, journal every step so a killed run converges.

The journal (`<prefix>/.incrinstall/journal.json`) is written before anything changes and
deleted after the state file is updated. A later run that finds it first deletes the metadata
folders of touched packages that a killed uv left without RECORD or METADATA, then treats
every package the journal touched as managed and reinstalls those that the new plan keeps,
so a package half-written or half-removed by a killed uv is repaired, and nothing it
installed is lost track of.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.errors import LockTimeout
from incrinstall.state import JOURNAL_NAME, _write_atomic, state_dir
from incrinstall.uv import run_uv


_REQUIREMENTS_PREFIX = "incrinstall-"  # the pinned requirements file handed to uv, in the state folder


@dataclass
class Journal:
    phase: str  # "install" | "remove"
    install: list[str] = field(default_factory=list)  # "name==version"
    remove: list[str] = field(default_factory=list)  # names
    pid: int = 0

    def touched(self) -> set[str]:
        return {spec.split("==", 1)[0] for spec in self.install} | set(self.remove)


def journal_path(prefix: str) -> Path:
    return state_dir(prefix) / JOURNAL_NAME


def read_journal(prefix: str) -> Journal | None:
    try:
        data = json.loads(journal_path(prefix).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Journal(data.get("phase", "install"), data.get("install", []), data.get("remove", []), data.get("pid", 0))


def _write_journal(prefix: str, journal: Journal) -> None:
    _write_atomic(journal_path(prefix), json.dumps(journal.__dict__, indent=1))


def clear_journal(prefix: str) -> None:
    """Delete the journal, and the requirements files that killed runs left next to it."""
    try:
        os.unlink(journal_path(prefix))
    except FileNotFoundError:
        pass
    for leftover in state_dir(prefix).glob(f"{_REQUIREMENTS_PREFIX}*.txt"):
        leftover.unlink(missing_ok=True)


def clear_torn(site_dirs, names: set[str]) -> list[str]:
    """Delete the metadata folders of `names` that lack RECORD or METADATA: a killed uv's half-done work.

    uv cannot uninstall a folder without RECORD and counts it as a second installed copy; one without
    METADATA is invisible to our reader, so nothing would ever remove it. The files RECORD lists go too.
    """
    from incrinstall.environment import canonical_name

    cleared = []
    for site in site_dirs:
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            if canonical_name(entry.name[: -len(".dist-info")].rsplit("-", 1)[0]) not in names:
                continue
            record = os.path.join(entry.path, "RECORD")
            if os.path.isfile(record) and os.path.isfile(os.path.join(entry.path, "METADATA")):
                continue
            if os.path.isfile(record):
                with open(record, encoding="utf-8", errors="replace") as f:
                    listed = [line.split(",", 1)[0] for line in f if line.strip()]
                for rel in listed:
                    path = os.path.normpath(os.path.join(site, rel))
                    if not os.path.isabs(rel) and os.path.isfile(path):
                        os.unlink(path)
            shutil.rmtree(entry.path, ignore_errors=True)
            cleared.append(entry.name)
    return cleared


@contextmanager
def environment_lock(prefix: str, *, timeout: float | None, on_wait=None):
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


def _requirements_file(items: list[InstallItem], directory: str) -> tuple[str, bool]:
    with_hashes = all(item.hashes for item in items)
    lines = []
    for item in items:
        line = f"{item.name}=={item.version}"
        if with_hashes:
            line += "".join(f" --hash={h}" for h in item.hashes)
        lines.append(line)
    fd, path = tempfile.mkstemp(prefix=_REQUIREMENTS_PREFIX, suffix=".txt", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, with_hashes


def apply(
    prefix: str,
    python: str,
    *,
    install: list[InstallItem],
    remove: list[str],
    uv_index_args: list[str],
    reinstall: set[str] = frozenset(),
    compile_bytecode: bool = False,
    break_system_packages: bool = False,
) -> None:
    """Install (one uv call, pinned, --no-deps), then remove (one uv call), under a journal."""
    journal = Journal("install", [f"{i.name}=={i.version}" for i in install], list(remove), os.getpid())
    _write_journal(prefix, journal)
    if install:
        req_file, hashed = _requirements_file(install, str(state_dir(prefix)))
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
            run_uv(args, what="installing with uv")
        finally:
            os.unlink(req_file)
    if remove:
        journal.phase = "remove"
        _write_journal(prefix, journal)
        override = ["--break-system-packages"] if break_system_packages else []
        run_uv(["pip", "uninstall", "--python", python, *override, *sorted(remove)], what="removing with uv")
