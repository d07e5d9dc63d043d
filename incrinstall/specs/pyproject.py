"""Read pyproject.toml files (the project and its uv workspace members) into declared requirements with file:line.

A project whose metadata is not static PEP 621 data (no [project] table beside a setup.py, a
setup.cfg, [tool.poetry] or a [build-system]; a tree with only setup.py or setup.cfg; `dynamic`
dependencies, optional dependencies or version) is marked `needs_backend`: collect() asks its
build backend (specs/backend_metadata.py) and apply_hook_result() puts the answer in place.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from incrinstall.common.errors import SpecError
from incrinstall.common.names import canonical_name
from incrinstall.common.shape import pyproject_shape
from incrinstall.common.tomlfile import TomlLocator, load_toml
from incrinstall.specs.backend_metadata import backend_name
from incrinstall.specs.model import Declared

if TYPE_CHECKING:
    from incrinstall.specs.collect import HookOutput

PYPROJECT = "pyproject.toml"
LEGACY_FILES = ("setup.py", "setup.cfg")  # what setuptools reads when pyproject.toml does not say it all
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"  # PEP 517's default without [build-system]
_DYNAMIC_METADATA = frozenset({"dependencies", "optional-dependencies", "version"})


@dataclass
class Project:
    """One pyproject.toml: the root project or a workspace member."""

    name: str | None  # canonical; None for a virtual root (no [project] table) or until the backend says it
    version: str | None
    path: str  # folder relative to the project dir, "." for the root
    pyproject: str  # relpath of its pyproject.toml (setup.py or setup.cfg in a tree without one)
    dynamic: frozenset[str] = frozenset()
    base: list[Declared] = field(default_factory=list)
    extras: dict[str, list[Declared]] = field(default_factory=dict)  # normalized name -> requirements
    groups: dict[str, list[Declared | _Include]] = field(default_factory=dict)  # normalized name -> its entries
    extras_where: str = ""  # "relpath:line" of the optional-dependencies table, for errors
    groups_where: str = ""
    spec_globs: list[str] = field(default_factory=list)
    provider_globs: list[str] = field(default_factory=list)  # [tool.incrinstall] provider-paths
    members: list[str] = field(default_factory=list)  # workspace member globs
    exclude: list[str] = field(default_factory=list)
    shape: str = ""  # digest of the pyproject.toml minus what only changes dependencies (ProjectMetadata.shape)
    backend: HookOutput | None = None  # what the backend computed, when the metadata is not static
    # Why the build backend must be asked ("" when [project] says it all, or for a virtual root):
    # "setup.py", "setup.cfg", "[tool.poetry]", "[build-system]" (no [project] table), or "dynamic".
    needs_backend: str = ""
    declared: bool = False  # a [project] table states the name and the static fields
    build_backend: str = ""  # [build-system].build-backend, setuptools' legacy backend when none is declared
    build_hooks: bool = False  # hatchling with build hooks: only a build shows what they add to the dependencies
    own_files: list[str] = field(default_factory=list)  # its pyproject.toml, setup.py, setup.cfg (relpaths)


@dataclass(frozen=True)
class _Include:
    group: str  # normalized
    source: str


@dataclass
class Workspace:
    root: Project | None  # None when the project dir has no pyproject.toml
    members: list[Project]
    files: list[str]


def read_workspace(project_dir: Path) -> Workspace:
    """The root pyproject.toml and every `[tool.uv.workspace]` member (a setup.py / setup.cfg tree: its project)."""
    if not (project_dir / PYPROJECT).is_file():
        legacy = [name for name in LEGACY_FILES if (project_dir / name).is_file()]
        if not legacy:
            return Workspace(None, [], [])
        root = Project(name=None, version=None, path=".", pyproject=legacy[0], shape=_legacy_shape(project_dir, {}),
                       needs_backend=legacy[0], build_backend=LEGACY_BACKEND, own_files=legacy)
        return Workspace(root, [], list(legacy))
    root = read_project(project_dir, ".")
    files = list(root.own_files)
    members = []
    for rel in _member_dirs(project_dir, root):
        member = read_project(project_dir, rel)
        if not member.declared:
            raise SpecError("workspace member has no [project] name", where=member.pyproject)
        members.append(member)
        files += member.own_files
    return Workspace(root, members, files)


def _member_dirs(project_dir: Path, root: Project) -> list[str]:
    excluded: set[str] = set()
    for pattern in root.exclude:
        excluded.update(_glob_dirs(project_dir, pattern))
    found: list[str] = []
    for pattern in root.members:
        for rel in _glob_dirs(project_dir, pattern):
            if rel in excluded or rel == "." or rel in found:
                continue
            if not (project_dir / rel / PYPROJECT).is_file():
                raise SpecError(f"workspace member {rel!r} (from {pattern!r}) has no pyproject.toml",
                                where=root.pyproject)
            found.append(rel)
    return found


def _glob_dirs(project_dir: Path, pattern: str) -> list[str]:
    hits = glob.glob(os.path.join(glob.escape(str(project_dir)), pattern), recursive=True)
    rels = []
    for hit in sorted(hits):
        if os.path.isdir(hit):
            rel = os.path.relpath(hit, project_dir).replace(os.sep, "/")
            if not rel.startswith(".") or rel == ".":
                rels.append(rel)
    return rels


def read_project(project_dir: Path, rel_dir: str) -> Project:
    rel = PYPROJECT if rel_dir == "." else f"{rel_dir}/{PYPROJECT}"
    data, locator = load_toml(project_dir / rel, rel)
    table = data.get("project")
    tool: dict[str, Any] = data["tool"] if isinstance(data.get("tool"), dict) else {}
    proj = Project(name=None, version=None, path=rel_dir, pyproject=rel, shape=pyproject_shape(data))

    workspace = (tool.get("uv") or {}).get("workspace") if isinstance(tool.get("uv"), dict) else None
    if isinstance(workspace, dict):
        proj.members = _str_list(workspace.get("members", []), locator, ("tool", "uv", "workspace", "members"))
        proj.exclude = _str_list(workspace.get("exclude", []), locator, ("tool", "uv", "workspace", "exclude"))
    mine = tool.get("incrinstall")
    if isinstance(mine, dict) and "spec-files" in mine:
        proj.spec_globs = _str_list(mine["spec-files"], locator, ("tool", "incrinstall", "spec-files"))
    if isinstance(mine, dict) and "provider-paths" in mine:
        proj.provider_globs = _str_list(mine["provider-paths"], locator, ("tool", "incrinstall", "provider-paths"))

    build_system = data.get("build-system")
    folder = project_dir / rel_dir
    legacy = [name for name in LEGACY_FILES if (folder / name).is_file()]
    proj.own_files = [rel] + [name if rel_dir == "." else f"{rel_dir}/{name}" for name in legacy]
    declared_backend = build_system.get("build-backend") if isinstance(build_system, dict) else None
    proj.build_backend = declared_backend if isinstance(declared_backend, str) else LEGACY_BACKEND
    proj.build_hooks = proj.build_backend.split(":")[0] == "hatchling.build" and _hatch_build_hooks(tool)
    if legacy:
        proj.shape = _legacy_shape(folder, data)  # setup.py / setup.cfg decide the build as much as pyproject.toml

    if table is None and not isinstance(workspace, dict):
        # Not static data, and not a virtual workspace root (uv's rule): the backend knows the project.
        for reason, present in (("setup.py", "setup.py" in legacy), ("setup.cfg", "setup.cfg" in legacy),
                                ("[tool.poetry]", isinstance(tool.get("poetry"), dict)),
                                ("[build-system]", isinstance(build_system, dict))):
            if present:
                proj.needs_backend = reason
                break

    if table is not None:
        if not isinstance(table, dict):
            raise SpecError("[project] must be a table", where=locator.where(("project",)))
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise SpecError("[project] has no name", where=locator.where(("project",)))
        proj.declared = True
        proj.name = canonical_name(name)
        version = table.get("version")
        proj.version = version if isinstance(version, str) else None
        proj.dynamic = frozenset(_str_list(table.get("dynamic", []), locator, ("project", "dynamic")))
        if proj.dynamic & _DYNAMIC_METADATA:
            proj.needs_backend = "dynamic"
        proj.base = _requirements(table.get("dependencies", []), locator, ("project", "dependencies"), "")
        optional = table.get("optional-dependencies", {})
        if not isinstance(optional, dict):
            raise SpecError("optional-dependencies must be a table",
                            where=locator.where(("project", "optional-dependencies")))
        proj.extras_where = locator.where(("project", "optional-dependencies"))
        for extra, reqs in optional.items():
            key = canonical_name(extra)
            items = _requirements(reqs, locator, ("project", "optional-dependencies", extra), key)
            proj.extras.setdefault(key, []).extend(items)

    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict):
        raise SpecError("[dependency-groups] must be a table", where=locator.where(("dependency-groups",)))
    proj.groups_where = locator.where(("dependency-groups",))
    for group, entries in groups.items():
        proj.groups.setdefault(canonical_name(group), []).extend(_group_entries(entries, locator, group))
    return proj


def _hatch_build_hooks(tool: dict[str, Any]) -> bool:
    """Does hatchling run build hooks ([tool.hatch.build.hooks] or a wheel / editable target's hooks)?"""
    hatch = tool.get("hatch")
    build = hatch.get("build") if isinstance(hatch, dict) else None
    if not isinstance(build, dict):
        return False
    targets: dict[str, Any] = build["targets"] if isinstance(build.get("targets"), dict) else {}
    tables = [build.get("hooks")] + [t.get("hooks") for name, t in targets.items()
                                     if name in ("wheel", "editable") and isinstance(t, dict)]
    return any(isinstance(t, dict) and t for t in tables)


def _legacy_shape(folder: Path, data: dict[str, Any]) -> str:
    """pyproject.toml's shape with setup.py and setup.cfg as they are: any edit to them may change the build."""
    digest = hashlib.sha256(pyproject_shape(data).encode())
    for name in LEGACY_FILES:
        try:
            digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
        except OSError:
            digest.update(name.encode() + b"\0-\0")
    return digest.hexdigest()


def static_requires_dist(project: Project) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Requires-Dist, Provides-Extra) as a PEP 621 backend writes them from static tables."""
    lines = [d.requirement for d in project.base]
    for extra, items in project.extras.items():
        for item in items:
            req = Requirement(item.requirement)
            if req.marker is None:
                lines.append(f'{req}; extra == "{extra}"')
            else:
                marker, req.marker = req.marker, None
                lines.append(f'{req}; ({marker}) and extra == "{extra}"')
    return tuple(lines), tuple(project.extras)


def marker_holds(req: Requirement, environment: dict[str, str], *, where: str) -> bool:
    """Does `req`'s marker hold for `environment`? SpecError at `where` for a comparison no marker defines.

    packaging parses `os_name ~= "1"` (any operator, any string) but cannot evaluate it: `~=` needs
    a version specifier on one side, and raises UndefinedComparison, not a parse error.
    """
    if req.marker is None:
        return True
    try:
        return req.marker.evaluate(environment)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise SpecError(f"invalid marker in requirement {str(req)!r}: {exc}", where=where) from None


def _str_list(value: object, locator: TomlLocator, path: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{'.'.join(path)} must be a list of strings", where=locator.where(path))
    return list(value)


def _requirements(value: object, locator: TomlLocator, path: tuple[str, ...], extra: str) -> list[Declared]:
    reqs = _str_list(value, locator, path)
    return [Declared(req, locator.where(path, i), "pyproject", extra) for i, req in enumerate(reqs)]


def _group_entries(entries: object, locator: TomlLocator, group: str) -> list[Declared | _Include]:
    path = ("dependency-groups", group)
    if not isinstance(entries, list):
        raise SpecError(f"dependency group {group!r} must be a list", where=locator.where(path))
    out: list[Declared | _Include] = []
    for i, entry in enumerate(entries):
        where = locator.where(path, i)
        if isinstance(entry, str):
            out.append(Declared(entry, where, "pyproject", ""))
        elif isinstance(entry, dict) and set(entry) == {"include-group"} and isinstance(entry["include-group"], str):
            out.append(_Include(canonical_name(entry["include-group"]), where))
        else:
            raise SpecError(f"dependency group {group!r}: expected a requirement string or "
                            f"{{include-group = \"...\"}}, got {entry!r}", where=where)
    return out


def group_requirements(project: Project, group: str, *, where: str) -> list[Declared]:
    """The requirements of one dependency group with `include-group` expanded (PEP 735)."""
    out: list[Declared] = []

    def walk(name: str, stack: tuple[str, ...], at: str) -> None:
        if name not in project.groups:
            raise SpecError(f"unknown dependency group {name!r}; valid groups: {_listing(project.groups)}", where=at)
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name):], name))
            raise SpecError(f"dependency group include cycle: {cycle}", where=at)
        for entry in project.groups[name]:
            if isinstance(entry, _Include):
                walk(entry.group, (*stack, name), entry.source)
            else:
                out.append(entry)

    walk(canonical_name(group), (), where)
    return out


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "(none)"


# --- dynamic dependencies computed by the build backend -------------------------------------------

def apply_hook_result(project: Project, result: HookOutput, project_dir: Path, *, markers: dict[str, str]) -> list[str]:
    """Put the backend's answer in place of what pyproject.toml does not say; return the files the backend read.

    A project without a [project] table takes everything from the backend (Name, Version,
    Requires-Dist, Provides-Extra); one with it, only its dynamic fields.
    Each line's marker is evaluated for the target (`markers`), as pip would: a line belongs to
    the base when it holds with extra == "", and to extra X (one of Provides-Extra) when it holds
    with extra == X but not with extra == "". So `"x" == extra`, `extra == "a" or extra == "b"`
    and `python_version < "3.12" and extra == "x"` land where an installer would put them.
    Each requirement is credited to the line of a file the backend read that states it, else to
    the backend itself (`setup.py (setuptools)`).
    """
    prefix = "" if project.path == "." else project.path + "/"
    hook_files = [prefix + f for f in result.files]
    label = prefix + (result.metadata_file or PYPROJECT)
    credit = f"{label} ({backend_name(project.build_backend)})"
    finder = _SourceFinder(project_dir, [label, *hook_files])
    base: list[Declared] = []
    extras: dict[str, list[Declared]] = {canonical_name(e): [] for e in result.provides_extra}
    for line in result.requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise SpecError(f"invalid requirement {line!r} in the metadata {credit} wrote: {exc}",
                            where=label) from None
        found = finder.source_of(req)
        source, where = (found, found) if found else (credit, label)  # an error names a file, never the credit
        if marker_holds(req, {**markers, "extra": ""}, where=where):
            base.append(Declared(line, source, "backend", ""))
            continue
        for name in extras:
            if marker_holds(req, {**markers, "extra": name}, where=where):
                extras[name].append(Declared(line, source, "backend", name))
    project.backend = result
    whole = not project.declared
    if whole:
        if not result.name:
            raise SpecError(f"{credit} wrote no Name into the project's metadata", where=label)
        project.name = canonical_name(result.name)
        project.version = result.version or None
    if whole or "dependencies" in project.dynamic:
        project.base = base
    if whole or "optional-dependencies" in project.dynamic:
        project.extras = extras
        project.extras_where = label
    return hook_files


class _SourceFinder:
    """Find the line that states a requirement in the files a backend read.

    In order: a quoted string that is the requirement (pyproject.toml, setup.py, hatch_build.py,
    JSON); a whole line that is the requirement (requirements files, setup.cfg's
    `install_requires`); a key named like the package in a dependency table of a TOML file
    (Poetry's `six = "^1.16"`, which the backend writes as `six<2.0,>=1.16`).
    """

    _STRING = re.compile(r""""((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'""")
    _KEY = re.compile(r"""^\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)["']?\s*=""")
    _TABLE = re.compile(r"^\s*\[\[?([^\]]+)\]")

    def __init__(self, project_dir: Path, files: list[str]):
        self.project_dir = project_dir
        self.files = list(dict.fromkeys(files))
        self._index: tuple[dict[str, str], dict[str, str], dict[str, str]] | None = None

    @staticmethod
    def _key(req: Requirement) -> str:
        # name, extras, specifier or url: the part a source literal and Requires-Dist share.
        return f"{canonical_name(req.name)}[{','.join(sorted(req.extras))}]{req.specifier}@{req.url or ''}"

    def _parse(self, text: str) -> str | None:
        if not text or not text[0].isalnum() or len(text) > 500:
            return None
        try:
            return self._key(Requirement(text))
        except InvalidRequirement:
            return None

    def _build(self) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        literals: dict[str, str] = {}
        lines: dict[str, str] = {}
        keys: dict[str, str] = {}
        for rel in self.files:
            try:
                text = (self.project_dir / rel).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            toml = rel.endswith(".toml")
            table = ""
            for number, line in enumerate(text.splitlines(), 1):
                where = f"{rel}:{number}"
                if '"' in line or "'" in line:
                    for m in self._STRING.finditer(line):
                        key = self._parse(m.group(1) if m.group(1) is not None else m.group(2))
                        if key is not None:
                            literals.setdefault(key, where)
                bare = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip().rstrip("\\").rstrip(",").strip()
                key = self._parse(bare)
                if key is not None:
                    lines.setdefault(key, where)
                if toml:
                    header = self._TABLE.match(line)
                    if header:
                        table = header.group(1).strip()
                        continue
                    named = self._KEY.match(line)
                    if named and ("dependencies" in table or "extras" in table):
                        keys.setdefault(canonical_name(named.group(1)), where)
        return literals, lines, keys

    def source_of(self, req: Requirement) -> str | None:
        if self._index is None:
            self._index = self._build()
        literals, lines, keys = self._index
        key = self._key(req)
        return literals.get(key) or lines.get(key) or keys.get(canonical_name(req.name))
