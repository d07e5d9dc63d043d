"""A lock's selection for the target, as the Resolution the resolvers return: nothing resolved, no index asked.

uv.lock (`select_uv_lock`): what `uv sync --frozen` installs. The walk starts at the selected workspace
packages (the root project; `--package`; `--all-packages`; every member under a root without
`[project]`), with their `--extra` extras and dependency groups (uv's default groups unless
`--no-default-groups`, plus `--group`), and follows the lock's edges whose markers hold for the target,
into `[package.optional-dependencies]` where an edge names extras. pylock.toml (`select_pylock`):
packaging.pylock's `select()`, PEP 751's own installer steps.

Either way the file of each package is the best wheel for the target's tags, else the sdist, with the
lock's hashes; the tree's own packages (editable and virtual sources: the project, workspace members)
are walked through but never pinned.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.pylock import PackageArchive, PackageDirectory, PackageVcs, PylockSelectError
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from incrinstall.common.errors import SpecError
from incrinstall.common.names import canonical_name
from incrinstall.resolve.freshness import check_uv_lock
from incrinstall.resolve.model import LockUsed, Pin, PinOrigin, Resolution
from incrinstall.resolve.uv_resolve import LockedFile
from incrinstall.specs import lockfile, pylock, uvlock

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.specs.lockfile import LockRef
    from incrinstall.specs.model import LocalPackage, Selection
    from incrinstall.specs.pylock import PyLock
    from incrinstall.specs.uvlock import Edge, LockedPackage, Requirement, UvLock

DefaultGroups = Sequence[str] | Literal["all"]


@dataclass(frozen=True)
class _Target:
    """What the lock's markers and wheel tags are evaluated for."""

    markers: Mapping[str, str]
    tags: Sequence[str]  # most preferred first
    python_full_version: str


@dataclass
class _Picked:
    """One package of the selection, with the file chosen for the target."""

    name: str
    version: str
    url: str
    hashes: dict[str, str]
    direct: bool  # a URL or path source: installed as `name @ url`
    index: str | None  # the registry, for a registry package
    where: str  # the lock's file:line of the package


def resolve_lock(ref: LockRef, *, project_dir: Path, selection: Selection, frozen: bool, given_args: Sequence[str],
                 interpreter: Interpreter, installed: Mapping[str, InstalledDist],
                 local_packages: Sequence[LocalPackage] = (),
                 installed_files: Mapping[str, tuple[str, str]] | None = None,
                 spec_fingerprint: str | None = None) -> Resolution:
    """Read the lock `ref` names, check that it is fresh (a uv.lock, unless `frozen`), and select from it.

    `given_args`: the index options uv would not find in the project by itself (IndexConfig.given_args);
    `spec_fingerprint`: of the spec files with the lock, under which uv's "fresh" is remembered.
    """
    for given, option in ((selection.requirement_files, "-r"), (selection.constraint_files, "-c / UV_CONSTRAINT"),
                          (selection.providers or selection.provider_devel, "--provider / --provider-devel")):
        if given:
            raise SpecError(f"{option} chooses what to resolve, and with a lock nothing is resolved: the lock "
                            f"({ref.rel}) says what is installed; pass --no-lock to resolve the specs with it",
                            where=option.split(" ", 1)[0])
    if ref.format == "uv.lock":
        if not frozen:
            check_uv_lock(project_dir, ref.rel, python=interpreter.executable, given_args=given_args,
                          spec_fingerprint=spec_fingerprint)
        return select_uv_lock(uvlock.read(ref.path, ref.rel), default_groups=lockfile.uv_default_groups(project_dir),
                              selection=selection, markers=interpreter.markers, tags=interpreter.tags,
                              python_full_version=interpreter.version, installed=installed,
                              local_packages=local_packages, installed_files=installed_files)
    return select_pylock(pylock.read(ref.path, ref.rel), project_dir=project_dir, selection=selection,
                         markers=interpreter.markers, tags=interpreter.tags, python_full_version=interpreter.version,
                         installed=installed, local_packages=local_packages, installed_files=installed_files)


# --- uv.lock -------------------------------------------------------------------------------------------


def select_uv_lock(lock: UvLock, *, selection: Selection, default_groups: DefaultGroups, markers: Mapping[str, str],
                   tags: Sequence[str], python_full_version: str, installed: Mapping[str, InstalledDist],
                   local_packages: Sequence[LocalPackage] = (),
                   installed_files: Mapping[str, tuple[str, str]] | None = None) -> Resolution:
    """The Resolution `uv sync --frozen` would install from `lock` into the target.

    `installed_files` (name -> (version, sha256)): the files a sync from a lock installed last time; a
    package the lock still pins at that version but with another file is reinstalled.
    """
    target = _Target(markers, tags, python_full_version)
    _check_requires_python(lock.requires_python, target, lock.where("requires-python"))
    walk = _UvWalk(lock, target)
    roots = _roots(lock, selection)
    groups, all_groups = _groups(selection, default_groups)
    extras = {canonical_name(e) for e in selection.extras}
    for package in roots:
        index = walk.tree_index(package)
        pkg = lock.packages[index]
        source = f"{lock.rel}:{pkg.line}"
        walk.root_sources.setdefault(pkg.name, []).append(source)
        wanted = set(pkg.optional) if selection.all_extras else extras & set(pkg.optional)
        walk.reach(index, tuple(sorted(wanted)), parent=None)
        for group in sorted(pkg.groups):
            if all_groups or group in groups:
                walk.follow(index, pkg.groups[group])
    if not selection.packages and lock.root_groups and _is_virtual_root(lock):
        # A workspace root without [project]: its own groups ([manifest] dependency-groups) count too.
        for group, requirements in sorted(lock.root_groups.items()):
            if all_groups or group in groups:
                for requirement in requirements:
                    if walk.holds(requirement.marker, lock.where("manifest")):
                        walk.reach(walk.by_requirement(requirement), requirement.extras, parent=None,
                                   source=lock.where("manifest"))
    walk.run()
    picked, local = [], {}
    for index in walk.order:
        pkg = lock.packages[index]
        if _is_tree(lock, pkg):
            local[pkg.name] = pkg.version
            continue
        picked.append(_pick_uv(lock, pkg, target))
    known = {lp.name: lp.version for lp in local_packages}
    local = {name: version or known.get(name) for name, version in local.items()}
    used = LockUsed(lock.rel, "uv.lock", lock.sha256)
    required_by = {name: list(parents) for name, parents in walk.parents.items()}
    requires = {name: tuple(children) for name, children in walk.children.items()}
    return _resolution(picked, local, required_by, requires, walk.root_sources, installed, installed_files, used)


def _check_requires_python(requires_python: str | None, target: _Target, where: str) -> None:
    if not requires_python:
        return
    try:
        fits = SpecifierSet(requires_python).contains(Version(target.python_full_version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        raise SpecError(f"requires-python {requires_python!r} is not a version specifier", where=where) from None
    if not fits:
        raise SpecError(f"the lock is for Python {requires_python}, and the target is Python "
                        f"{target.python_full_version}", where=where)


def _is_virtual_root(lock: UvLock) -> bool:
    """No package of the lock is the root folder itself: a workspace root without [project]."""
    return not any(p.source.is_tree and _is_root_path(p.source.value) for p in lock.packages)


def _is_root_path(value: str) -> bool:
    return value in (".", "./", "")


def _roots(lock: UvLock, selection: Selection) -> list[str]:
    """The workspace packages `uv sync` installs, as it selects them."""
    root = next((p.name for p in lock.packages if p.source.is_tree and _is_root_path(p.source.value)), None)
    members = list(lock.members) or ([root] if root else [])
    if root is not None and root not in members:
        members.insert(0, root)
    if selection.packages:
        out = []
        for name in selection.packages:
            if canonical_name(name) not in members:
                valid = ", ".join(sorted(members)) or "(none)"
                raise SpecError(f"unknown workspace package {name!r}; valid packages: {valid}", where="--package")
            out.append(canonical_name(name))
        return list(dict.fromkeys(out))
    if selection.all_packages or root is None:
        return members
    return [root]


def _groups(selection: Selection, default_groups: DefaultGroups) -> tuple[set[str], bool]:
    """The dependency groups to install (uv's default groups join --group), and whether that is all of them."""
    groups = {canonical_name(g) for g in selection.groups}
    if selection.no_default_groups:
        return groups, False
    if default_groups == "all":
        return groups, True
    return groups | {canonical_name(g) for g in default_groups}, False


def _is_tree(lock: UvLock, pkg: LockedPackage) -> bool:
    """The tree's own package: built from the project's folders, installed (editable) only by --editable."""
    return pkg.source.is_tree or (pkg.source.kind == "directory" and pkg.name in lock.members)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_EXTRA_VARIABLE = re.compile(r"(?<![\w.-])extras?(?![\w.-])")


class _UvWalk:
    """Breadth-first over the lock's edges, as uv walks them: (package, extra) pairs, each once."""

    def __init__(self, lock: UvLock, target: _Target):
        self.lock = lock
        self.env = {**target.markers, "extra": ""}
        self.by_name: dict[str, list[int]] = {}
        for i, pkg in enumerate(lock.packages):
            self.by_name.setdefault(pkg.name, []).append(i)
        self.queue: deque[tuple[int, str | None]] = deque()
        self.seen: set[tuple[int, str | None]] = set()
        self.reached: set[int] = set()
        self.order: list[int] = []  # every package reached, in the order reached
        self.children: dict[str, dict[str, None]] = {}  # name -> the names its edges reached
        self.parents: dict[str, dict[str, None]] = {}  # name -> the names whose edges reached it
        self.root_sources: dict[str, list[str]] = {}
        self._marker_verdicts: dict[str, bool] = {}

    def holds(self, marker: str | None, where: str) -> bool:
        if not marker:
            return True
        verdict = self._marker_verdicts.get(marker)
        if verdict is None:
            if _EXTRA_VARIABLE.search(_QUOTED.sub("''", marker)):
                # uv's conflict markers (`extra == 'extra-3-pkg-gpu'`) stand for extras activated anywhere
                # in the walk; a PEP 508 evaluation cannot answer them.
                raise SpecError(f"the marker {marker!r} depends on which conflicting extras or groups are "
                                "selected ([tool.uv] conflicts), which incrinstall cannot evaluate; pass --no-lock",
                                where=where)
            try:
                verdict = Marker(marker).evaluate(self.env)
            except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
                raise SpecError(f"marker {marker!r}: {exc}", where=where) from None
            self._marker_verdicts[marker] = verdict
        return verdict

    def tree_index(self, name: str) -> int:
        for i in self.by_name.get(name, ()):
            if _is_tree(self.lock, self.lock.packages[i]):
                return i
        raise SpecError(f"the workspace package {name} is not in the lock; run `uv lock`", where=self.lock.rel)

    def target(self, edge: Edge, where: str) -> int:
        """The one locked package an edge points to (uv names its version and source when the name is not enough)."""
        found = self.by_name.get(edge.name, [])
        if edge.version is not None:
            found = [i for i in found if self.lock.packages[i].version == edge.version]
        if edge.source is not None:
            found = [i for i in found if self.lock.packages[i].source == edge.source]
        if len(found) != 1:
            what = f"{edge.name}" + (f" {edge.version}" if edge.version else "")
            raise SpecError(f"a dependency on {what} matches {len(found)} packages of the lock, not one; "
                            "run `uv lock`", where=where)
        return found[0]

    def by_requirement(self, requirement: Requirement) -> int:
        """The locked package a root requirement resolves to: by name, specifier, and the fork its markers hold in."""
        where = self.lock.where("manifest")
        found = self.by_name.get(requirement.name, [])
        if requirement.specifier:
            spec = SpecifierSet(requirement.specifier)
            found = [i for i in found if (version := self.lock.packages[i].version) is None
                     or spec.contains(version, prereleases=True)]
        if len(found) > 1:
            found = [i for i in found if not self.lock.packages[i].resolution_markers
                     or any(self.holds(m, where) for m in self.lock.packages[i].resolution_markers)]
        if len(found) != 1:
            raise SpecError(f"the workspace root's requirement on {requirement.name} matches {len(found)} packages "
                            "of the lock, not one; run `uv lock`", where=where)
        return found[0]

    def reach(self, index: int, extras: Iterable[str], *, parent: int | None, source: str | None = None) -> None:
        name = self.lock.packages[index].name
        if parent is not None:
            parent_name = self.lock.packages[parent].name
            self.children.setdefault(parent_name, {})[name] = None
            self.parents.setdefault(name, {})[parent_name] = None
        if source is not None:
            self.root_sources.setdefault(name, []).append(source)
        if index not in self.reached:
            self.reached.add(index)
            self.order.append(index)
        for key in (None, *extras):
            if (index, key) not in self.seen:
                self.seen.add((index, key))
                self.queue.append((index, key))

    def follow(self, index: int, edges: Sequence[Edge]) -> None:
        where = f"{self.lock.rel}:{self.lock.packages[index].line}"
        for edge in edges:
            if self.holds(edge.marker, where):
                self.reach(self.target(edge, where), edge.extras, parent=index)

    def run(self) -> None:
        while self.queue:
            index, extra = self.queue.popleft()
            pkg = self.lock.packages[index]
            self.follow(index, pkg.dependencies if extra is None else pkg.optional.get(extra, ()))


def _pick_uv(lock: UvLock, pkg: LockedPackage, target: _Target) -> _Picked:
    where = f"{lock.rel}:{pkg.line}"
    kind = pkg.source.kind
    if kind in ("git", "directory"):
        what = "a git repository" if kind == "git" else "a folder outside the workspace"
        raise SpecError(f"{pkg.name} comes from {what} ({pkg.source.value}), which incrinstall does not build "
                        "from a lock; pass --no-lock", where=where)
    if pkg.version is None:
        raise SpecError(f"{pkg.name} has no version in the lock", where=where)
    best = _best_wheel(pkg.wheel_filenames(), target)
    dist = pkg.wheel(best) if best is not None else pkg.sdist
    if dist is None:
        raise SpecError(f"{pkg.name} {pkg.version}: no wheel of the lock suits the target (its best tag is "
                        f"{target.tags[0] if target.tags else '?'}), and the lock has no sdist", where=where)
    folder = lock.path.parent
    if kind == "registry":
        if dist.url:
            url = dist.url
        elif dist.path:  # a registry that is a local folder (find-links)
            url = _file_url(folder / pkg.source.value / dist.path)
        else:
            raise SpecError(f"{pkg.name} {pkg.version}: the file {dist.filename} has no url or path", where=where)
        registry = pkg.source.value if "://" in pkg.source.value else _file_url(folder / pkg.source.value)
        return _Picked(pkg.name, pkg.version, url, dict(dist.hashes), False, registry, where)
    if kind == "url":
        return _Picked(pkg.name, pkg.version, dist.url or pkg.source.value, dict(dist.hashes), True, None, where)
    # "path": a wheel or an sdist file of the project's.
    return _Picked(pkg.name, pkg.version, _file_url(folder / pkg.source.value), dict(dist.hashes), True, None, where)


def _file_url(path: Path) -> str:
    return path.resolve().as_uri()


def _best_wheel(filenames: Sequence[str], target: _Target) -> int | None:
    """The position of the wheel whose best tag ranks highest for the target (as uv picks); None when none fits."""
    rank = _ranks(target.tags)
    best: tuple[int, int] | None = None
    for position, filename in enumerate(filenames):
        found = _wheel_rank(filename, rank)
        if found is not None and (best is None or found < best[0]):
            best = (found, position)
    return best[1] if best is not None else None


@dataclass
class _Ranks:
    """The target's wheel tags by rank (0 best), its Python tags, and what each wheel's tag triple got."""

    rank: dict[str, int]
    pythons: frozenset[str]
    seen: dict[str, int | None]  # "py-abi-plat" as a file name writes it -> its best rank


_RANKS: dict[tuple[str, ...], _Ranks] = {}


def _ranks(tags: Sequence[str]) -> _Ranks:
    key = tuple(tags)
    found = _RANKS.get(key)
    if found is None:
        rank: dict[str, int] = {}
        for i, tag in enumerate(tags):
            rank.setdefault(tag, i)
        found = _RANKS[key] = _Ranks(rank, frozenset(tag.split("-", 1)[0] for tag in tags), {})
    return found


def _wheel_rank(filename: str, ranks: _Ranks) -> int | None:
    """The best rank among a wheel file name's (compressed) tags; None when none suits the target."""
    parts = filename[:-4].lower().rsplit("-", 3) if filename.endswith(".whl") else []
    if len(parts) < 4:
        return None
    triple = "-".join(parts[1:])
    if triple in ranks.seen:
        return ranks.seen[triple]  # a large lock repeats a few dozen tag sets over thousands of wheels
    pythons, abis, platforms = (part.split(".") for part in parts[1:])
    found = [ranks.rank[f"{py}-{abi}-{plat}"] for py in pythons if py in ranks.pythons for abi in abis
             for plat in platforms if f"{py}-{abi}-{plat}" in ranks.rank]
    best = ranks.seen[triple] = min(found) if found else None
    return best


# --- pylock.toml ---------------------------------------------------------------------------------------


def select_pylock(lock: PyLock, *, selection: Selection, markers: Mapping[str, str], tags: Sequence[str],
                  python_full_version: str, installed: Mapping[str, InstalledDist],
                  project_dir: Path, local_packages: Sequence[LocalPackage] = (),
                  installed_files: Mapping[str, tuple[str, str]] | None = None) -> Resolution:
    """The Resolution PEP 751's installer steps give for the target (packaging.pylock's `select()`)."""
    document = lock.lock
    extras: Collection[str] = list(document.extras or ()) if selection.all_extras else \
        [canonical_name(e) for e in selection.extras]
    # PEP 751 (and `uv pip install -r pylock.toml`): the groups asked for replace the default ones.
    groups = {canonical_name(g) for g in selection.groups}
    if not groups and not selection.no_default_groups:
        groups = {canonical_name(g) for g in document.default_groups or ()}
    environment = {**markers, "python_full_version": python_full_version}
    tag_objects = [Tag(*tag.split("-", 2)) for tag in tags]
    positions = {id(pkg): i for i, pkg in enumerate(document.packages)}
    try:
        chosen = list(document.select(environment=environment, tags=tag_objects, extras=extras,  # type: ignore[arg-type]
                                    dependency_groups=groups))
    except PylockSelectError as exc:
        raise SpecError(str(exc), where=lock.where()) from None
    folder = lock.path.parent
    picked: list[_Picked] = []
    local: dict[str, str | None] = {}
    for package, dist in chosen:
        where = lock.where(positions.get(id(package)))
        if isinstance(dist, PackageVcs):
            raise SpecError(f"{package.name} comes from a VCS repository ({dist.url or dist.path}), which incrinstall "
                            "does not build from a lock; pass --no-lock", where=where)
        if isinstance(dist, PackageDirectory):
            path = (folder / dist.path).resolve()
            if path != project_dir and project_dir not in path.parents:
                raise SpecError(f"{package.name} is built from the folder {dist.path}, outside the project; "
                                "incrinstall installs only the project's own folders (with --editable)", where=where)
            local[package.name] = str(package.version) if package.version is not None else None
            continue
        url = dist.url or (_file_url(folder / dist.path) if dist.path else None)
        if url is None:
            raise SpecError(f"{package.name}: its file has neither url nor path", where=where)
        version = str(package.version) if package.version is not None else _version_from_filename(url)
        if version is None:
            raise SpecError(f"{package.name} has no version in the lock", where=where)
        direct = isinstance(dist, PackageArchive)
        picked.append(_Picked(package.name, version, url, dict(dist.hashes), direct,
                              None if direct else package.index, where))
    known = {lp.name: lp.version for lp in local_packages}
    local = {name: version or known.get(name) for name, version in local.items()}
    root_sources = {p.name: [p.where] for p in picked}
    used = LockUsed(lock.rel, "pylock.toml", lock.sha256)
    return _resolution(picked, local, {}, {}, root_sources, installed, installed_files, used)


def _version_from_filename(url: str) -> str | None:
    filename = url.rstrip("/").rsplit("/", 1)[-1]
    try:
        return str(parse_wheel_filename(filename)[1]) if filename.endswith(".whl") else None
    except InvalidWheelFilename:
        return None


# --- the Resolution ------------------------------------------------------------------------------------


def _resolution(picked: list[_Picked], local: dict[str, str | None], required_by: dict[str, list[str]],
                requires: Mapping[str, tuple[str, ...]], root_sources: dict[str, list[str]],
                installed: Mapping[str, InstalledDist], installed_files: Mapping[str, tuple[str, str]] | None,
                used: LockUsed) -> Resolution:
    """Pins for the picked packages (each once), and the installed ones whose file the lock replaces."""
    pins: dict[str, Pin] = {}
    reinstall: dict[str, str] = {}
    where_of: dict[str, str] = {}
    for p in picked:
        if p.name in pins:
            raise SpecError(f"the lock selects two versions of {p.name} for this target ({pins[p.name].version} "
                            f"at {where_of[p.name]}, {p.version})", where=p.where)
        where_of[p.name] = p.where
        dist = installed.get(p.name)
        origin: PinOrigin = "installed" if dist is not None and _same_version(dist.version, p.version) else "index"
        sha256 = p.hashes.get("sha256")
        before = (installed_files or {}).get(p.name)
        if origin == "installed" and before is not None and sha256 and before[1] and \
                _same_version(before[0], p.version) and before[1] != sha256:
            reinstall[p.name] = f"the lock names another file of {p.version}: {_filename(p.url)}"
            origin = "index"
        pins[p.name] = Pin(p.name, p.version, origin, requires.get(p.name, ()),
                           LockedFile(p.url, p.hashes, direct=p.direct), (f"sha256:{sha256}",) if sha256 else (),
                           p.url if p.direct else None, None if p.direct else (p.index or ""))
    return Resolution(pins=dict(sorted(pins.items())), local=local, required_by=required_by,
                      root_sources=root_sources, index_requests=0, lock=used, reinstall=reinstall)


def _filename(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False
