"""Apply a Plan with uv: install first, remove second, journal every step so a killed run converges.

The journal (`<prefix>/.incrinstall/journal.json`) is written before anything changes and
deleted after the state file is updated. A later run that finds it treats every package
the journal touched as managed and reinstalls those that the new plan keeps, so a package
half-written or half-removed by a killed uv is repaired, and nothing it installed is lost
track of.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.errors import LockTimeout
from incrinstall.state import _write_atomic, state_dir
from incrinstall.uv import run_uv


@dataclass
class Journal:
    phase: str  # "install" | "remove"
    install: list[str] = field(default_factory=list)  # "name==version"
    remove: list[str] = field(default_factory=list)  # names
    pid: int = 0

    def touched(self) -> set[str]:
        return {spec.split("==", 1)[0] for spec in self.install} | set(self.remove)


def journal_path(prefix: str) -> Path:
    return state_dir(prefix) / "journal.json"


def read_journal(prefix: str) -> Journal | None:
    try:
        data = json.loads(journal_path(prefix).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Journal(data.get("phase", "install"), data.get("install", []), data.get("remove", []), data.get("pid", 0))


def _write_journal(prefix: str, journal: Journal) -> None:
    _write_atomic(journal_path(prefix), json.dumps(journal.__dict__, indent=1))


def clear_journal(prefix: str) -> None:
    try:
        os.unlink(journal_path(prefix))
    except FileNotFoundError:
        pass


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
    fd, path = tempfile.mkstemp(prefix="incrinstall-", suffix=".txt", dir=directory)
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
) -> None:
    """Install (one uv call, pinned, --no-deps), then remove (one uv call), under a journal."""
    journal = Journal("install", [f"{i.name}=={i.version}" for i in install], list(remove), os.getpid())
    _write_journal(prefix, journal)
    if install:
        req_file, hashed = _requirements_file(install, str(state_dir(prefix)))
        try:
            args = ["pip", "install", "--python", python, "--no-deps", "-r", req_file,
                    "--index-strategy", "unsafe-best-match", *uv_index_args]
            if hashed:
                args.append("--require-hashes")
            if compile_bytecode:
                args.append("--compile-bytecode")
            for name in sorted(reinstall):
                args += ["--reinstall-package", name]
            run_uv(args, what="installing with uv")
        finally:
            os.unlink(req_file)
    if remove:
        journal.phase = "remove"
        _write_journal(prefix, journal)
        run_uv(["pip", "uninstall", "--python", python, *sorted(remove)], what="removing with uv")
