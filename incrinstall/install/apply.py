"""Apply a Plan to the target and record the result: the one entry point of the install stage.

`apply_plan()` reads top to bottom: the files to install, the project's editable wheel riding along,
one uv install and one removal under the journal (installer.apply), the check that what uv installed
needs nothing the plan left out, the interrupted run's leftovers, the project's editable install and
the workspace members it reached.
`record()` then writes the state and the stamp, and deletes the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from incrinstall.common.errors import InstallError
from incrinstall.common.urls import redact
from incrinstall.environment.installed import read_installed
from incrinstall.install import installer, journal, project, stamp, state
from incrinstall.install.installer import InstallItem
from incrinstall.install.journal import JournalFile
from incrinstall.install.model import Applied, Recovery
from incrinstall.install.verify import unmet_requirements
from incrinstall.resolve.requires import requirement_lines
from incrinstall.common.uv import REAL_UV, UvRunner

if TYPE_CHECKING:
    from incrinstall.install.model import Options, Planned


def apply_plan(planned: Planned, options: Options, recovery: Recovery, report: Callable[[str], None],
               uv: UvRunner = REAL_UV) -> Applied:
    """Install, upgrade, downgrade and remove what the plan says, then the project itself and the workspace
    members it reached (editable). `uv` runs every uv call (a test may hand a fake)."""
    interpreter = planned.interpreter
    items = install_items(planned)
    if options.require_hashes:
        refuse_unhashed(items, planned)
    removals = [a.name for a in planned.plan.of("remove")]
    # The project's editable wheel rides along with the delta's install: one uv process for both.
    wheel = project.wheel_for(options, planned, report) if items and project.need(options, planned) == "install" \
        else None
    uv_items = items + ([wheel.install_item()] if wheel is not None else [])
    if items or removals:
        installer.apply(
            interpreter.prefix, interpreter.executable, site_dirs=interpreter.site_dirs, install=uv_items,
            remove=removals, uv_index_args=options.index.uv_args(),
            reinstall=planned.reinstall | {a.name for a in planned.plan.of("reinstall")}
            | ({wheel.name} if wheel is not None else set()),
            compile_bytecode=options.compile_bytecode, break_system_packages=options.break_system_packages,
            files=journal_files(planned, uv_items, recovery),
            offline_first=planned.resolution.by_uv,  # uv just revalidated the pages: its cache has them
            uv=uv,
        )
        if items:
            check_installed(planned, [item.name for item in items])
    installer.finish_recovery(recovery, interpreter.site_dirs, report)
    installed_now = project.install(options, planned, report, installed_wheel=wheel, uv=uv)
    members = project.install_members(options, planned, report, uv=uv)
    return Applied(installed_now, tuple((name, str(folder)) for name, folder in members))


def record(planned: Planned, options: Options, *, editable_installed: bool, recovery: Recovery,
           baseline: dict[str, Any] | None) -> None:
    """The state after this sync (and the stamp the no-op path reads); then the journal goes."""
    prefix = planned.interpreter.prefix
    editable = planned.specset.fingerprint if editable_installed else project.recorded_fingerprint(options, planned)
    new_state = _new_state(planned, options, baseline=baseline, editable=editable,
                           editable_shape=project.shape_to_record(planned, editable_installed), recovery=recovery)
    if baseline is not None:
        # Recorded here, under the lock and the journal, not rewritten after: a second write once the lock
        # is released could overwrite a concurrent sync's state, and a kill before it would leave the state
        # naming the unpacked tree.
        new_state.baseline = {**baseline, "fingerprint": planned.specset.fingerprint,
                              **({"lock-sha256": planned.resolution.lock.sha256} if planned.resolution.lock else {})}
        new_state.project_dir = None
    state.save(prefix, new_state)
    if baseline is None:
        state.save_stamp(prefix, stamp.make_stamp(
            project_dir=str(options.project_dir), options=options.stamp_options(), specset=planned.specset,
            interpreter=planned.interpreter, env_signature=stamp.env_signature(planned.interpreter.site_dirs),
        ))
    else:
        # The unpacked tree is deleted after a baseline: the next sync runs on the user's tree.
        state.clear_stamp(prefix)
    journal.clear_journal(prefix)


def install_items(planned: Planned) -> list[InstallItem]:
    """The exact files to install: what the plan installs, upgrades or downgrades, and the reinstalls."""
    items = []
    names = {a.name for a in planned.plan.of("install", "upgrade", "downgrade", "reinstall")} | planned.reinstall
    for name in sorted(names):
        pin = planned.resolution.pins[name]
        items.append(InstallItem(name, pin.version, pin.hashes, pin.direct_url,
                                 pin.file.url if pin.file is not None else None, index=pin.index))
    return items


def journal_files(planned: Planned, items: list[InstallItem], recovery: Recovery) -> dict[str, JournalFile]:
    """"name==version" -> the file of each install of this sync, for its journal.

    A package found installed has no file in the resolution; when an interrupted run put it there,
    its journal still knows the file, and passes it on.
    """
    known = dict(recovery.journal.files) if recovery.journal is not None else {}
    for item in items:
        pin = planned.resolution.pins.get(item.name)  # None: the project's own editable wheel
        if pin is None:
            if item.url is not None:
                known[f"{item.name}=={item.version}"] = JournalFile(url=item.url, hashes={}, direct=True)
            continue
        url = (pin.file.url if pin.file is not None else None) or item.url
        hashes = dict(pin.file.hashes) if pin.file is not None else {}
        if url:
            entry = JournalFile(url=url, hashes=hashes, direct=item.url is not None)
            if pin.index is not None:
                entry["index"] = pin.index
            known[f"{item.name}=={item.version}"] = entry
    return known


def refuse_unhashed(items: list[InstallItem], planned: Planned) -> None:
    """--require-hashes: every file to install has a sha256 the index gave (uv then checks it), or nothing happens."""
    missing = []
    for item in items:
        if not item.hashes:
            file = planned.resolution.pins[item.name].file
            where = item.url or (file.url if file is not None else "no file known")
            missing.append(f"  {item.name} {item.version} ({redact(where)})")
    if missing:
        raise InstallError("--require-hashes: no sha256 is known for these packages, so nothing was installed:\n"
                           + "\n".join(missing))


def check_installed(planned: Planned, names: list[str]) -> None:
    """What uv installed must need nothing the plan left out (install/verify.py says why it could).

    Raised with the journal still in place, so the next sync reads the installed METADATA and converges.
    """
    installed = read_installed(planned.interpreter.site_dirs)
    # Parsed once, through the Requires-Dist cache the next delta walk reads (a baseline's uv
    # resolution parsed none of them).
    lines = requirement_lines(planned.interpreter.markers, [installed[n] for n in names if n in installed])
    provided = [lp.name for lp in planned.specset.local_packages]
    unmet = unmet_requirements(installed, lines, provided)
    if not unmet:
        return
    name, version, _ = unmet[0]
    pin = planned.resolution.pins.get(name)
    source = (pin.file.metadata_url or pin.file.url) if pin is not None and pin.file is not None else None
    said = f" for it ({redact(source)})" if source else ""
    detail = "\n".join(f"  {n} {v} requires {req}, which is not installed" for n, v, req in unmet)
    raise InstallError(
        f"{name} {version} as installed requires more than the index's metadata{said} listed: the index's "
        "metadata disagrees with the wheel; run the command again to install what the wheel needs",
        where=name, detail=detail)


def _new_state(planned: Planned, options: Options, *, baseline: dict[str, Any] | None, editable: str | None,
               editable_shape: str | None, recovery: Recovery) -> state.State:
    """The state after this sync; `recovery` holds the journal of the interrupted run it converged, if any."""
    previous = planned.previous
    managed = set(previous.managed) if previous else set()
    plan = planned.plan
    managed -= {a.name for a in plan.of("remove")}
    managed |= {a.name for a in plan.of("install", "upgrade", "downgrade", "reinstall")}
    managed |= planned.reinstall
    interrupted = recovery.journal
    if interrupted is not None:
        managed |= interrupted.touched() - {a.name for a in plan.of("remove")}  # completed or repaired here
    packages = {}
    for name, pin in planned.resolution.pins.items():
        url = pin.file.url if pin.file is not None else None
        hashes = dict(pin.file.hashes) if pin.file is not None else {}
        # A kept package keeps the file recorded when it was installed; from a lock, the lock's file of that
        # version is recorded (uv sync keeps any file of the right version; a later change of the lock's file
        # is then seen, and reinstalled, by comparing with this record).
        if previous and name in previous.packages and pin.origin == "installed" and planned.resolution.lock is None:
            old = previous.packages[name]
            if old.version == pin.version:
                url, hashes = old.url, old.hashes
        if url is None and pin.origin == "installed" and interrupted is not None:
            # Installed by the interrupted run: the file its journal recorded.
            entry = interrupted.files.get(f"{name}=={pin.version}")
            if entry is not None and entry["hashes"]:
                url, hashes = entry["url"], dict(entry["hashes"])
        packages[name] = state.LockedPackage(name, pin.version, url, hashes)
    return state.State(
        packages=packages,
        managed=managed & set(packages),
        fingerprint=planned.specset.fingerprint,
        selection=options.selection.as_dict(),
        baseline=baseline if baseline is not None else (previous.baseline if previous else None),
        project_dir=str(options.project_dir),
        editable=editable,
        editable_shape=editable_shape if editable else None,
        tree={lp.name: lp.version for lp in planned.specset.local_packages if lp.version},
        lock=asdict(planned.resolution.lock) if planned.resolution.lock is not None else None,
    )
