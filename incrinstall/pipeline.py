"""The main job, top to bottom: specs -> target -> resolve -> plan -> apply -> record.

`make_plan()` stops before anything changes; `sync()` applies the plan; `baseline()` runs
the same pipeline on a tree unpacked from an archive and records it as the baseline.
The CLI renders what these return; nothing here prints except through `report`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.install import stamp as stamps

from incrinstall.target import environment

from incrinstall.install import state
from incrinstall.common.config import IndexConfig
from incrinstall.specs.model import Selection

if TYPE_CHECKING:
    from incrinstall.resolve.model import Resolution
    from incrinstall.resolve.plan import Plan
    from incrinstall.specs.model import SpecSet
    from incrinstall.target.environment import InstalledDist, Interpreter


# Beyond this many packages to look up on the index, uv resolves: resolvelib in Python is far slower at
# hundreds of packages, while a small delta (a bump, an added dependency) stays ours.
LARGE_OPEN_PART = 30


@dataclass
class Options:
    project_dir: Path
    selection: Selection = field(default_factory=Selection)
    python: str | None = None
    index: IndexConfig = field(default_factory=IndexConfig)
    exact: bool = False
    prerelease: str = "if-necessary-or-explicit"
    editable: bool = False
    lock_timeout: float | None = None
    compile_bytecode: bool = False
    require_hashes: bool = False  # a package to install without a known sha256 is an error, before any change
    break_system_packages: bool = False  # let uv change an EXTERNALLY-MANAGED (PEP 668) interpreter

    def stamp_options(self) -> dict:
        """The options that change what a sync does; a change of any of them defeats the fast path."""
        return {
            "selection": self.selection.as_dict(),
            "index": self.index.as_dict(),
            "exact": self.exact,
            "prerelease": self.prerelease,
            "editable": self.editable,
        }


@dataclass
class Planned:
    """A plan and everything needed to apply and explain it."""

    interpreter: Interpreter
    specset: SpecSet
    resolution: Resolution
    plan: Plan
    installed: dict[str, InstalledDist]
    previous: state.State | None
    reinstall: set[str]
    index_requests: int


@dataclass
class Outcome:
    planned: Planned | None  # None when the fast path decided there was nothing to do
    noop: bool
    seconds: float
    editable_installed: bool = False
    prefix: str = ""  # the target environment's prefix


def _protected(interpreter) -> frozenset[str]:
    """incrinstall's own distribution and its dependencies, when it runs inside the target."""
    same_env = os.path.realpath(sys.prefix) == os.path.realpath(interpreter.prefix)
    return frozenset({"incrinstall", "uv", "packaging", "tomlkit", "tomli-w", "resolvelib", "pyyaml"}) if same_env else frozenset()


def make_plan(options: Options, interpreter, *, recovering=None, from_scratch: bool = False,
              report: Callable[[str], None] = lambda _: None, completed=frozenset()) -> Planned:
    """Specs + target + index -> Plan. `from_scratch` (a baseline) lets uv do the fresh resolution.

    `recovering`: the journal of an interrupted sync; `completed`: its "name==version" installs that this
    run already redid (those need no second reinstall).
    """
    from incrinstall.resolve import plan as plan_mod
    from incrinstall.specs import collect as specs
    from incrinstall.resolve import resolver
    from incrinstall.index.client import IndexClient

    specset = specs.collect(
        options.project_dir, options.selection, dict(interpreter.markers),
        python_full_version=interpreter.version, python=interpreter.executable, index=options.index,
    )
    _refuse_unsupported_urls(specset)
    installed = environment.read_installed(interpreter.site_dirs)
    previous = state.load(interpreter.prefix)
    index = IndexClient(options.index, python_full_version=interpreter.version, tags=list(interpreter.tags),
                        build_python=interpreter.executable)
    local_names = {lp.name for lp in specset.local_packages}
    own_packages = set(installed) - plan_mod.ALWAYS_KEEP - _protected(interpreter) - local_names
    versioned = all(lp.version for lp in specset.local_packages)
    resolution = None
    if not versioned or not (from_scratch and not own_packages):
        try:
            resolution = resolver.resolve(
                specset.requirements, specset.constraints,
                interpreter=interpreter, installed=installed, index=index,
                local_packages=specset.local_packages,
                baseline_pins=previous.pins if previous else {},
                prerelease=options.prerelease,
                max_open=LARGE_OPEN_PART if versioned else None,
            )
        except resolver.LargeResolution as exc:
            report(f"{exc.count}+ packages to look up: handing the resolution to uv, preferring what is installed")
    if resolution is None:
        # An empty environment, or a large open part (a CI set from an old environment): uv's much
        # faster resolution decides, preferring what is installed, then the baseline's pins. (A tree
        # package that states no version stays with our resolver, which refuses to check a specifier
        # against it, with the file named, rather than let uv guess.)
        from incrinstall.resolve.uv_resolve import resolve_with_uv

        preferences = {**(previous.pins if previous else {}),
                       **{name: dist.version for name, dist in installed.items()}}
        resolution = resolve_with_uv(
            specset.requirements, specset.constraints, interpreter=interpreter, installed=installed,
            uv_index_args=options.index.uv_args(), local_packages=specset.local_packages,
            prerelease=options.prerelease, preferences=preferences,
            only_prereleases=lambda name: has_only_prereleases(index, name),
            why_missing=lambda name: why_no_versions(index, name),
        )
        resolution.index_requests = index.requests
    managed = set(previous.managed) if previous else None
    touched = recovering.touched() if recovering else set()
    if touched:
        managed = (managed or set()) | touched
    plan = plan_mod.diff(resolution, installed, managed=managed, exact=options.exact,
                         protected=_protected(interpreter))
    # A package the killed run was installing or removing may be half-written: reinstall it.
    redone = {f"{a.name}=={a.to_version}" for a in plan.of("keep")} & set(completed)
    reinstall = {a.name for a in plan.of("keep") if a.name in touched and a.name in resolution.pins
                 and f"{a.name}=={a.to_version}" not in redone}
    return Planned(interpreter, specset, resolution, plan, installed, previous, reinstall, index.requests)


def _complete_interrupted(options: Options, interpreter, journal, report: Callable[[str], None]) -> frozenset[str]:
    """Redo the interrupted run's installs (installer.complete_installs); nothing when that fails.

    A failure (the index lost one of those versions meanwhile) is not this run's error: its plan then
    reinstalls what it keeps, as it would without this step.
    """
    from incrinstall.common.errors import InstallError
    from incrinstall.install import installer

    try:
        done = installer.complete_installs(
            interpreter.prefix, interpreter.executable, journal, uv_index_args=options.index.uv_args(),
            compile_bytecode=options.compile_bytecode, break_system_packages=options.break_system_packages)
    except InstallError as exc:
        report(f"could not complete the interrupted sync's installs ({exc.message}); continuing without")
        return frozenset()
    if done:
        report(f"completed the interrupted sync's installs: {', '.join(done)}")
    return frozenset(done)


def has_only_prereleases(index, name: str) -> bool:
    """Has `name` published nothing but pre-releases (for the target)? One index page, asked only when uv refused."""
    try:
        versions = index.versions(name)
    except Exception:  # noqa: BLE001 - uv's own refusal is the error to show
        return False
    return bool(versions) and all(iv.version.is_prerelease for iv in versions)


def why_no_versions(index, name: str) -> str | None:
    """What the index pages say of `name` when they give no version (their URLs), for uv's "no versions of"."""
    try:
        if index.versions(name):
            return None
    except Exception as exc:  # noqa: BLE001 - the page's own failure is the answer
        return getattr(exc, "message", None) or str(exc)
    return index.why_no_versions(name)


def _refuse_unsupported_urls(specset) -> None:
    """Direct URL requirements name a wheel or an sdist by https://, http:// or file://; VCS URLs are refused."""
    from packaging.requirements import Requirement

    from incrinstall.common.errors import SpecError

    for root in [*specset.requirements, *specset.constraints]:
        if "@" not in root.requirement:
            continue
        url = Requirement(root.requirement).url
        if url and url.split(":", 1)[0] not in ("https", "http", "file"):
            raise SpecError(f"direct URL requirement {root.requirement!r}: only https://, http:// and file:// "
                            "URLs of a wheel or an sdist are supported (not VCS URLs)", where=root.source)


def _install_items(planned: Planned):
    from incrinstall.install.installer import InstallItem

    items = []
    names = {a.name for a in planned.plan.of("install", "upgrade", "downgrade")} | planned.reinstall
    for name in sorted(names):
        pin = planned.resolution.pins[name]
        items.append(InstallItem(name, pin.version, pin.hashes, pin.direct_url, getattr(pin.file, "url", None)))
    return items


def _journal_files(planned: Planned, items, recovered) -> dict[str, dict]:
    """"name==version" -> {"url", "hashes"} of the files this sync installs, for its journal.

    A package found installed has no file in the resolution; when an interrupted run put it there,
    its journal still knows the file, and passes it on.
    """
    known = dict(recovered.files) if recovered is not None else {}
    for item in items:
        pin = planned.resolution.pins.get(item.name)  # None: the project's own editable wheel
        if pin is None:
            known[f"{item.name}=={item.version}"] = {"url": item.url, "hashes": {}, "direct": True}
            continue
        url, hashes = getattr(pin.file, "url", None) or item.url, dict(getattr(pin.file, "hashes", {}) or {})
        if url:
            known[f"{item.name}=={item.version}"] = {"url": url, "hashes": hashes, "direct": item.url is not None}
    return known


def _new_state(planned: Planned, options: Options, *, baseline: dict | None, editable: str | None,
               editable_shape: str | None = None, recovered=None) -> state.State:
    """The state after this sync. `recovered`: the journal of the interrupted run it converged, if any."""
    previous = planned.previous
    managed = set(previous.managed) if previous else set()
    plan = planned.plan
    managed -= {a.name for a in plan.of("remove")}
    managed |= {a.name for a in plan.of("install", "upgrade", "downgrade")}
    managed |= planned.reinstall
    if recovered is not None:
        managed |= recovered.touched() - {a.name for a in plan.of("remove")}  # completed or repaired here
    packages = {}
    for name, pin in planned.resolution.pins.items():
        url = getattr(pin.file, "url", None)
        hashes = dict(getattr(pin.file, "hashes", {}) or {})
        if previous and name in previous.packages and pin.origin == "installed":
            old = previous.packages[name]
            if old.version == pin.version:
                url, hashes = old.url, old.hashes
        if url is None and pin.origin == "installed" and recovered is not None:
            # Installed by the interrupted run: the file its journal recorded.
            entry = recovered.files.get(f"{name}=={pin.version}")
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
    )


def sync(options: Options, *, report: Callable[[str], None] = lambda _: None, dry_run: bool = False,
         baseline: dict | None = None) -> Outcome:
    """Bring the target in line with the project's current specs, touching only the delta."""
    started = time.perf_counter()
    interpreter = environment.find_interpreter(options.python)
    prefix = interpreter.prefix
    if not dry_run and baseline is None and not state.sync_interrupted(prefix):
        stamp = state.load_stamp(prefix)
        if stamps.unchanged(stamp, project_dir=str(options.project_dir), options=options.stamp_options(),
                              selection=options.selection, markers=dict(interpreter.markers),
                              env_signature=stamps.env_signature(interpreter.site_dirs)):
            return Outcome(None, True, time.perf_counter() - started, prefix=prefix)

    if dry_run:
        planned = make_plan(options, interpreter, report=report)
        return Outcome(planned, planned.plan.is_empty, time.perf_counter() - started)

    from incrinstall.install import installer  # not needed on the fast path above

    with installer.environment_lock(prefix, timeout=options.lock_timeout, on_wait=report):
        journal = installer.read_journal(prefix)
        completed: frozenset[str] = frozenset()
        if journal is not None:
            report(f"found the journal of an interrupted sync (pid {journal.pid}, {journal.phase} phase); converging")
            for torn in installer.clear_torn(interpreter.site_dirs, journal.touched()):
                report(f"removed {torn}, left half-written by the interrupted sync")
            for name in installer.clear_half_removed(prefix, interpreter.site_dirs):
                report(f"removed the files the interrupted sync left of {name}, which it was removing")
            # Where the interrupted uv may have left temporary files: the folders of what it touched, as their
            # RECORDs say now, once its installs are completed (a package it had just begun has a RECORD only
            # then) and after this run's changes.
            folders = installer.record_folders(interpreter.site_dirs, journal.touched())
            completed = _complete_interrupted(options, interpreter, journal, report)
            for name, listed in installer.record_folders(interpreter.site_dirs, journal.touched()).items():
                folders.setdefault(name, set()).update(listed)
        planned = make_plan(options, interpreter, recovering=journal, from_scratch=baseline is not None,
                            report=report, completed=completed)
        items = _install_items(planned)
        if options.require_hashes:
            _refuse_unhashed(items, planned)
        removals = [a.name for a in planned.plan.of("remove")]
        # The project's editable wheel rides along with the delta's install: one uv process for both.
        project_wheel = _editable_wheel(options, planned, report) if items and \
            _editable_need(options, planned) == "install" else None
        uv_items = items + ([_editable_wheel_item(project_wheel)] if project_wheel else [])
        if items or removals:
            installer.apply(
                prefix, interpreter.executable, site_dirs=interpreter.site_dirs, install=uv_items, remove=removals,
                uv_index_args=options.index.uv_args(),
                reinstall=planned.reinstall | ({project_wheel.name} if project_wheel else set()),
                compile_bytecode=options.compile_bytecode,
                break_system_packages=options.break_system_packages,
                files=_journal_files(planned, uv_items, journal),
                offline_first=planned.resolution.by_uv,  # uv just revalidated the pages: its cache has them
            )
            if items:
                _check_installed(planned, [item.name for item in items])
        if journal is not None:
            for name, listed in installer.record_folders(interpreter.site_dirs, journal.touched()).items():
                folders.setdefault(name, set()).update(listed)
            for leftover in installer.clear_uv_temporaries(interpreter.site_dirs, folders):
                report(f"removed {leftover}, a temporary file of the interrupted uv")
        editable_installed = _install_editable(options, planned, report, installed_wheel=project_wheel)
        editable = planned.specset.fingerprint if editable_installed else _editable_record(options, planned)
        shape = _editable_shape(planned, editable_installed)
        new_state = _new_state(planned, options, baseline=baseline, editable=editable, editable_shape=shape,
                               recovered=journal)
        if baseline is not None:
            # Recorded here, under the lock and the journal, not rewritten after: a second write once the lock
            # is released could overwrite a concurrent sync's state, and a kill before it would leave the state
            # naming the unpacked tree.
            new_state.baseline = {**baseline, "fingerprint": planned.specset.fingerprint}
            new_state.project_dir = None
        state.save(prefix, new_state)
        if baseline is None:
            state.save_stamp(prefix, stamps.make_stamp(
                project_dir=str(options.project_dir), options=options.stamp_options(), specset=planned.specset,
                interpreter=interpreter, env_signature=stamps.env_signature(interpreter.site_dirs),
            ))
        else:
            # The unpacked tree is deleted after a baseline: the next sync runs on the user's tree.
            state.clear_stamp(prefix)
        installer.clear_journal(prefix)
    return Outcome(planned, planned.plan.is_empty and not editable_installed, time.perf_counter() - started,
                   editable_installed, prefix)


def _refuse_unhashed(items, planned: Planned) -> None:
    """--require-hashes: every file to install has a sha256 the index gave (uv then checks it), or nothing happens."""
    from incrinstall.common.errors import InstallError
    from incrinstall.common.http import redact

    missing = []
    for item in items:
        if not item.hashes:
            file = planned.resolution.pins[item.name].file
            where = item.url or (file.url if file is not None else "no file known")
            missing.append(f"  {item.name} {item.version} ({redact(where)})")
    if missing:
        raise InstallError("--require-hashes: no sha256 is known for these packages, so nothing was installed:\n"
                           + "\n".join(missing))


def _check_installed(planned: Planned, names: list[str]) -> None:
    """What uv installed must need nothing the plan left out (install/verify.py says why it could).

    Raised with the journal still in place, so the next sync reads the installed METADATA and converges.
    """
    from incrinstall.common.errors import InstallError
    from incrinstall.common.http import redact
    from incrinstall.install.verify import unmet_requirements
    from incrinstall.resolve.resolver import requirement_lines

    installed = environment.read_installed(planned.interpreter.site_dirs)
    # Parsed once, through the Requires-Dist cache the next delta walk reads (a baseline's uv
    # resolution parsed none of them).
    lines = requirement_lines(planned.interpreter.markers, [installed[n] for n in names if n in installed])
    provided = [lp.name for lp in planned.specset.local_packages]
    unmet = unmet_requirements(installed, lines, provided)
    if not unmet:
        return
    name, version, _ = unmet[0]
    pin = planned.resolution.pins.get(name)
    source = getattr(pin.file, "metadata_url", None) or getattr(pin.file, "url", None) if pin else None
    said = f" for it ({redact(source)})" if source else ""
    lines = "\n".join(f"  {n} {v} requires {req}, which is not installed" for n, v, req in unmet)
    raise InstallError(
        f"{name} {version} as installed requires more than the index's metadata{said} listed: the index's "
        "metadata disagrees with the wheel; run the command again to install what the wheel needs",
        where=name, detail=lines)


def _editable_here(options: Options, planned: Planned) -> bool:
    """Is the project installed editable from this very tree?"""
    from packaging.utils import canonicalize_name

    name = planned.specset.project_name
    dist = planned.installed.get(canonicalize_name(name)) if name else None
    return bool(dist is not None and dist.editable_path
                and os.path.realpath(dist.editable_path) == os.path.realpath(options.project_dir))


def _editable_record(options: Options, planned: Planned) -> str | None:
    """The fingerprint the editable install was made from, carried over while it stays installed."""
    previous = planned.previous
    return previous.editable if previous is not None and _editable_here(options, planned) else None


def _editable_shape(planned: Planned, installed_now: bool) -> str | None:
    """The shape to record with the editable install: the new one after an install, else the previous one."""
    if installed_now:
        meta = planned.specset.project_metadata
        return meta.shape if meta is not None else None
    return planned.previous.editable_shape if planned.previous is not None else None


@dataclass
class _EditableWheel:
    """The project's editable wheel, ready to install in place of `uv pip install -e`."""

    name: str
    version: str
    path: Path
    source: str  # where it came from, for -v


def _install_editable(options: Options, planned: Planned, report: Callable[[str], None] = lambda _: None,
                      installed_wheel: _EditableWheel | None = None) -> bool:
    """Install the project itself, editable and without dependencies, unless it already is, from these specs.

    With --editable; and also without it when the project is installed editable from this tree and
    the specs changed since: its metadata (Requires-Dist) would otherwise name what the sync removed.
    When only its dependencies changed, the installed METADATA is rewritten in place (install/editable.py)
    rather than built again. Otherwise the project's editable wheel is installed (`installed_wheel`:
    the sync's uv call already did), and uv's own editable install is the fallback.
    """
    from incrinstall.common.uv import run_uv

    meta = planned.specset.project_metadata
    if installed_wheel is not None and _adopt_editable_wheel(options, planned, meta, installed_wheel, report):
        return True
    need = _editable_need(options, planned)
    if need is None:
        return False
    if need == "refresh":
        from incrinstall.install import editable

        if editable.refresh(planned.installed[meta.name].dist_info, meta):
            report(f"refreshed the editable install's metadata of {meta.name} in place (only its dependencies changed)")
            return True
    wheel = _editable_wheel(options, planned, report) if installed_wheel is None else None
    if wheel is not None:
        override = ["--break-system-packages"] if options.break_system_packages else []
        run_uv(["pip", "install", "--python", planned.interpreter.executable, "--no-deps", *override,
                "--reinstall-package", wheel.name, str(wheel.path)], what="installing the project editable")
        if _adopt_editable_wheel(options, planned, meta, wheel, report):
            return True
    override = ["--break-system-packages"] if options.break_system_packages else []
    run_uv(["pip", "install", "--python", planned.interpreter.executable, "--no-deps", *override,
            "-e", str(options.project_dir), *options.index.uv_args()], what="installing the project editable")
    return True


def _editable_need(options: Options, planned: Planned) -> str | None:
    """None: the project's editable install stays as it is; "refresh": its METADATA can be rewritten in place;
    "install": it must be installed."""
    here = _editable_here(options, planned)
    if not (options.editable or here):
        return None
    if here and _editable_record(options, planned) == planned.specset.fingerprint:
        return None
    meta = planned.specset.project_metadata
    previous = planned.previous
    if here and meta is not None and previous is not None and previous.editable_shape == meta.shape:
        return "refresh"
    return "install"


def _editable_wheel(options: Options, planned: Planned, report: Callable[[str], None]) -> _EditableWheel | None:
    """The project's editable wheel: the one spec collection's hook built, a kept one, or one built now.

    No new build environment and, with a kept wheel, no backend run at all (build/editables.py).
    None when there is none to be had (no version, a backend without build_editable, a failed
    build): the caller lets uv install the project editable.
    """
    import tempfile

    from incrinstall.build import backend, editables
    from incrinstall.common.errors import IncrinstallError

    meta = planned.specset.project_metadata
    if meta is None or not meta.version:
        return None
    key = editables.wheel_key(options.project_dir, name=meta.name, version=meta.version, shape=meta.shape,
                              python_version=planned.interpreter.version)
    # The wheel spec collection's hook built from this tree, else one kept from an earlier tree of this shape.
    if meta.editable_wheel and os.path.isfile(meta.editable_wheel):
        path = editables.keep_wheel(key, meta.editable_wheel)
        return _EditableWheel(meta.name, meta.version, path, "the wheel its backend built while the specs were collected")
    kept = editables.kept_wheel(key)
    if kept is not None:
        return _EditableWheel(meta.name, meta.version, kept, "its kept wheel")
    try:
        with tempfile.TemporaryDirectory(prefix="incrinstall-editable-") as out:
            built = backend.build_editable(options.project_dir, out, python=planned.interpreter.executable,
                                           index=options.index)
            path = editables.keep_wheel(key, built)
    except (IncrinstallError, OSError) as exc:
        report(f"building the editable wheel failed ({exc}); letting uv install the project")
        return None
    return _EditableWheel(meta.name, meta.version, path, "the wheel its backend just built (kept for next time)")


def _editable_wheel_item(wheel: _EditableWheel):
    """The wheel as one more item of the sync's own uv install: one uv process for the delta and the project."""
    import hashlib

    from incrinstall.install.installer import InstallItem

    digest = hashlib.sha256(wheel.path.read_bytes()).hexdigest()
    return InstallItem(wheel.name, wheel.version, (f"sha256:{digest}",), wheel.path.as_uri())


def _adopt_editable_wheel(options: Options, planned: Planned, meta, wheel: _EditableWheel,
                          report: Callable[[str], None]) -> bool:
    """After uv installed the wheel: say it is editable from this tree (direct_url.json), bring its METADATA up to date."""
    from incrinstall.install import editable

    dist_info = _installed_dist_info(planned.interpreter.site_dirs, wheel.path.name)
    if dist_info is None or not editable.mark_editable(dist_info, str(options.project_dir)) \
            or not editable.refresh(dist_info, meta):
        report("the editable wheel's dist-info could not be brought up to date; letting uv install the project")
        return False
    report(f"installed {meta.name} editable from {wheel.source}, metadata brought up to date")
    return True


def _installed_dist_info(site_dirs, wheel_filename: str) -> str | None:
    """The dist-info folder a wheel file installs (`{name}-{version}.dist-info`, from its file name)."""
    name, version = wheel_filename.split("-")[:2]
    for site in site_dirs:
        path = os.path.join(site, f"{name}-{version}.dist-info")
        if os.path.isdir(path):
            return path
    return None


def baseline(source: str, options: Options, *, sha256: str | None = None, allow_insecure_http: bool = False,
             max_size: int | None = None, report: Callable[[str], None] = lambda _: None,
             configure: Callable[[Path], Options] | None = None) -> Outcome:
    """Unpack a source archive and install its dependencies (not the project) as the baseline.

    `configure(tree)` makes the Options again once the tree is unpacked, so that the archive's own
    uv settings (`[tool.uv]`, `uv.toml`) count as they would in the project folder.
    """
    from datetime import datetime, timezone

    from incrinstall import archive

    kwargs = {"sha256": sha256, "allow_insecure_http": allow_insecure_http}
    if max_size is not None:
        kwargs["max_size"] = max_size
    with archive.unpacked(source, **kwargs) as unpacked:
        report(f"unpacked {unpacked.source} -> {unpacked.root}")
        base = configure(Path(unpacked.root)) if configure is not None else options
        tree_options = Options(**{**base.__dict__, "project_dir": unpacked.root, "editable": False})
        record = {
            "source": unpacked.source,
            "sha256": unpacked.sha256 or "",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        outcome = sync(tree_options, report=report, baseline=record)  # records the baseline itself
    return outcome
