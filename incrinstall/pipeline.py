"""The main job, top to bottom: specs -> target -> resolve -> plan -> apply -> record.

`make_plan()` stops before anything changes; `sync()` applies the plan; `baseline()` runs
the same pipeline on a tree unpacked from an archive and records it as the baseline.
The CLI renders what these return; nothing here prints except through `report`.
This module imports the stages every plan runs: the no-op answer comes before it (fastpath.py, and the
sync command's `install.stamp.unchanged_since_last_sync`). The archive download (a baseline's) and the
lock readers (a locked tree's) are imported where they are used: a sync that needs neither would pay
about 70 ms for them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from incrinstall.common.errors import InterpreterError, SpecError
from incrinstall.environment.installed import InstalledDist, read_installed, requirement_closure
from incrinstall.environment.interpreter import Interpreter, find_interpreter
from incrinstall.index.client import IndexClient
from incrinstall.install import apply, installer, state
from incrinstall.install.lock import environment_lock
from incrinstall.install.model import Options, Outcome, Planned, Recovery
from incrinstall.install.stamp import unchanged_since_last_sync
from incrinstall.resolve import plan as plans
from incrinstall.resolve.kept import ALWAYS_KEEP
from incrinstall.resolve.strategy import resolve_specs
from incrinstall.common.uv import REAL_UV, UvRunner
from incrinstall.specs import lockfile
from incrinstall.specs.collect import collect, spec_files_present

__all__ = ["Options", "Outcome", "Planned", "baseline", "make_plan", "sync"]


def _ignore(_: str) -> None:
    pass


def make_plan(options: Options, interpreter: Interpreter, *, recovery: Recovery | None = None,
              from_scratch: bool = False, report: Callable[[str], None] = _ignore,
              uv: UvRunner = REAL_UV) -> Planned:
    """Specs + target + index -> Plan. `from_scratch` (a baseline) lets uv do the fresh resolution.

    `recovery`: what this run found of an interrupted sync; the packages it touched count as managed,
    and those the plan keeps are reinstalled, unless this run already redid them.
    """
    recovery = recovery if recovery is not None else Recovery()
    specset = collect(options.project_dir, options.selection, dict(interpreter.markers),
                      python=interpreter.executable, index=options.index)
    lock = lockfile.find(options.project_dir, options.selection)
    specset = lockfile.watched(specset, lock, dict(interpreter.markers))  # a moved lock defeats the no-op
    installed = read_installed(interpreter.site_dirs)
    previous = state.load(interpreter.prefix)
    protected = _protected(interpreter, installed) | {lp.name for lp in specset.local_packages}
    if lock is not None:  # the lock is the truth: nothing to resolve, no index to ask
        from incrinstall.resolve.locked import resolve_lock  # packaging.pylock and the lock readers: locked trees only

        resolution = resolve_lock(
            lock, project_dir=Path(specset.project_dir), selection=options.selection, frozen=options.frozen,
            given_args=options.index.given_args, interpreter=interpreter, installed=installed,
            local_packages=specset.local_packages, installed_files=_locked_files(previous),
            spec_fingerprint=specset.fingerprint,
        )
        index_requests = 0
    else:
        index = IndexClient(options.index, python_full_version=interpreter.version, tags=list(interpreter.tags),
                            build_python=interpreter.executable)
        own_packages = set(installed) - ALWAYS_KEEP - protected
        resolution = resolve_specs(
            specset, interpreter=interpreter, installed=installed, index=index,
            uv_index_args=options.index.uv_args(), baseline_pins=previous.pins if previous else {},
            prerelease=options.prerelease, fresh=from_scratch and not own_packages, report=report, uv=uv,
        )
        index_requests = index.requests
    managed = set(previous.managed) if previous else None
    touched = recovery.touched()
    if touched:
        managed = (managed or set()) | touched
    plan = plans.diff(resolution, installed, managed=managed, exact=options.exact, protected=protected)
    # A package the killed run was installing or removing may be half-written: reinstall it.
    reinstall = {a.name for a in plan.of("keep") if a.name in touched and a.name in resolution.pins
                 and f"{a.name}=={a.to_version}" not in recovery.completed}
    return Planned(interpreter, specset, resolution, plan, installed, previous, reinstall, index_requests)


def _locked_files(previous: state.State | None) -> dict[str, tuple[str, str]] | None:
    """name -> (version, sha256) of the files the last sync installed from a lock (None when it used no lock)."""
    if previous is None or previous.lock is None:
        return None
    return {name: (p.version, p.hashes.get("sha256", "")) for name, p in previous.packages.items()}


def _protected(interpreter: Interpreter, installed: Mapping[str, InstalledDist]) -> set[str]:
    """incrinstall's own distribution and what it requires, when it runs inside the target (never removed)."""
    if os.path.realpath(sys.prefix) != os.path.realpath(interpreter.prefix):
        return set()
    return requirement_closure(installed, ["incrinstall"], interpreter.markers)


def sync(options: Options, *, report: Callable[[str], None] = _ignore, dry_run: bool = False,
         baseline: dict[str, Any] | None = None, known_changed: bool = False, uv: UvRunner = REAL_UV) -> Outcome:
    """Bring the target in line with the project's current specs, touching only the delta.

    `known_changed`: the caller made the no-op test already (the sync command, before importing this module).
    `uv` runs every uv call (a test may hand a fake).
    """
    started = time.perf_counter()
    interpreter = find_interpreter(options.python)
    prefix = interpreter.prefix
    if not (dry_run or known_changed or baseline is not None) and unchanged_since_last_sync(
            prefix, interpreter.site_dirs, dict(interpreter.markers), project_dir=str(options.project_dir),
            options=options.stamp_options(), selection=options.selection):
        return Outcome(None, True, time.perf_counter() - started, prefix=prefix)

    if dry_run:
        planned = make_plan(options, interpreter, report=report, uv=uv)
        return Outcome(planned, planned.plan.is_empty, time.perf_counter() - started)

    if interpreter.found_by == "PATH" and not interpreter.is_venv and not options.system:
        # As uv does: a Python found by looking, not named, is changed only in a virtual environment.
        raise InterpreterError(
            "no virtual environment is active, and this Python is not one: pass --python PATH (or activate a "
            "virtual environment), or --system to change it anyway", where=interpreter.executable)
    with environment_lock(prefix, timeout=options.lock_timeout, on_wait=report):
        recovery = installer.recover(prefix, interpreter.executable, interpreter.site_dirs,
                                     uv_index_args=options.index.uv_args(), compile_bytecode=options.compile_bytecode,
                                     break_system_packages=options.break_system_packages, report=report, uv=uv)
        planned = make_plan(options, interpreter, recovery=recovery, from_scratch=baseline is not None, report=report,
                            uv=uv)
        applied = apply.apply_plan(planned, options, recovery, report, uv=uv)
        apply.record(planned, options, editable_installed=applied.editable_installed, recovery=recovery,
                     baseline=baseline)
    noop = planned.plan.is_empty and not applied.editable_installed and not applied.members
    return Outcome(planned, noop, time.perf_counter() - started, applied.editable_installed, prefix, applied.members)


def baseline(source: str, options: Options, *, sha256: str | None = None, allow_insecure_http: bool = False,
             max_size: int | None = None, report: Callable[[str], None] = _ignore,
             configure: Callable[[Path], Options] | None = None, uv: UvRunner = REAL_UV) -> Outcome:
    """Unpack a source archive and install its dependencies (not the project) as the baseline.

    `configure(tree)` makes the Options again once the tree is unpacked, so that the archive's own
    uv settings (`[tool.uv]`, `uv.toml`) count as they would in the project folder. A tree with no
    spec file at all (and no -r file given) is refused: "0 changed" would hide a wrong archive.
    The Outcome's seconds run from the start: fetching and unpacking included.
    """
    started = time.perf_counter()
    from incrinstall import archive  # urllib.request, http.client, email: a baseline's download, not a sync's

    with archive.unpacked(source, sha256=sha256, allow_insecure_http=allow_insecure_http,
                          max_size=max_size) as unpacked:
        report(f"unpacked {unpacked.source} -> {unpacked.root}")
        if not options.selection.requirement_files and not spec_files_present(Path(unpacked.root)):
            raise SpecError("no spec file in this tree (pyproject.toml, setup.py, setup.cfg or provider.yaml) "
                            "and no -r file given: nothing to make a baseline of", where=unpacked.source)
        base = configure(Path(unpacked.root)) if configure is not None else options
        tree_options = replace(base, project_dir=Path(unpacked.root), editable=False)
        record = {
            "source": unpacked.source,
            "sha256": unpacked.sha256 or "",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        outcome = sync(tree_options, report=report, baseline=record, uv=uv)  # records the baseline itself
    return replace(outcome, seconds=time.perf_counter() - started)
