"""Read pyproject.toml files (the project and its uv workspace members) into declared requirements with file:line."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.common.errors import SpecError
from incrinstall.common.names import canonical_name
from incrinstall.common.shape import pyproject_shape
from incrinstall.common.tomlfile import TomlLocator, load_toml
from incrinstall.specs.model import Declared

if TYPE_CHECKING:
    from incrinstall.specs.hatch import HookResult

if TYPE_CHECKING:
    from incrinstall.specs.collect import HookOutput

PYPROJECT = "pyproject.toml"


@dataclass
class Project:
    """One pyproject.toml: the root project or a workspace member."""

    name: str | None  # canonical; None for a virtual workspace root (no [project] table)
    version: str | None
    path: str  # folder relative to the project dir, "." for the root
    pyproject: str  # relpath of its pyproject.toml
    dynamic: frozenset[str] = frozenset()
    base: list[Declared] = field(default_factory=list)
    extras: dict[str, list[Declared]] = field(default_factory=dict)  # normalized name -> requirements
    groups: dict[str, list] = field(default_factory=dict)  # normalized name -> Declared | _Include
    extras_where: str = ""  # "relpath:line" of the optional-dependencies table, for errors
    groups_where: str = ""
    spec_globs: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # workspace member globs
    exclude: list[str] = field(default_factory=list)
    shape: str = ""  # digest of the pyproject.toml minus what only changes dependencies (ProjectMetadata.shape)
    backend: HookResult | None = None  # what the backend computed, when a field is dynamic


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
    """The root pyproject.toml and every `[tool.uv.workspace]` member."""
    if not (project_dir / PYPROJECT).is_file():
        return Workspace(None, [], [])
    root = read_project(project_dir, ".")
    files = [root.pyproject]
    members = []
    for rel in _member_dirs(project_dir, root):
        member = read_project(project_dir, rel)
        if member.name is None:
            raise SpecError("workspace member has no [project] name", where=member.pyproject)
        members.append(member)
        files.append(member.pyproject)
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
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    proj = Project(name=None, version=None, path=rel_dir, pyproject=rel, shape=pyproject_shape(data))

    workspace = (tool.get("uv") or {}).get("workspace") if isinstance(tool.get("uv"), dict) else None
    if isinstance(workspace, dict):
        proj.members = _str_list(workspace.get("members", []), locator, ("tool", "uv", "workspace", "members"))
        proj.exclude = _str_list(workspace.get("exclude", []), locator, ("tool", "uv", "workspace", "exclude"))
    mine = tool.get("incrinstall")
    if isinstance(mine, dict) and "spec-files" in mine:
        proj.spec_globs = _str_list(mine["spec-files"], locator, ("tool", "incrinstall", "spec-files"))

    if table is not None:
        if not isinstance(table, dict):
            raise SpecError("[project] must be a table", where=locator.where(("project",)))
        name = table.get("name")
        if not isinstance(name, str) or not name:
            raise SpecError("[project] has no name", where=locator.where(("project",)))
        proj.name = canonical_name(name)
        version = table.get("version")
        proj.version = version if isinstance(version, str) else None
        proj.dynamic = frozenset(_str_list(table.get("dynamic", []), locator, ("project", "dynamic")))
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


def static_requires_dist(project: Project) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(Requires-Dist, Provides-Extra) as a PEP 621 backend writes them from static tables."""
    from packaging.requirements import Requirement

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


def marker_holds(req, environment: dict[str, str], *, where: str) -> bool:
    """Does `req`'s marker hold for `environment`? SpecError at `where` for a comparison no marker defines.

    packaging parses `os_name ~= "1"` (any operator, any string) but cannot evaluate it: `~=` needs
    a version specifier on one side, and raises UndefinedComparison, not a parse error.
    """
    from packaging.markers import UndefinedComparison, UndefinedEnvironmentName

    if req.marker is None:
        return True
    try:
        return req.marker.evaluate(environment)
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise SpecError(f"invalid marker in requirement {str(req)!r}: {exc}", where=where) from None


def _str_list(value, locator: TomlLocator, path: tuple) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{'.'.join(path)} must be a list of strings", where=locator.where(path))
    return list(value)


def _requirements(value, locator: TomlLocator, path: tuple, extra: str) -> list[Declared]:
    reqs = _str_list(value, locator, path)
    return [Declared(req, locator.where(path, i), "pyproject", extra) for i, req in enumerate(reqs)]


def _group_entries(entries, locator: TomlLocator, group: str) -> list:
    path = ("dependency-groups", group)
    if not isinstance(entries, list):
        raise SpecError(f"dependency group {group!r} must be a list", where=locator.where(path))
    out: list = []
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


def _listing(names) -> str:
    return ", ".join(sorted(names)) or "(none)"


# --- dynamic dependencies computed by the build backend -------------------------------------------

def apply_hook_result(project: Project, result: HookOutput, project_dir: Path, *, markers: dict[str, str]) -> list[str]:
    """Replace the dynamic fields of `project` with the backend's Requires-Dist; return the files the hook read.

    Each line's marker is evaluated for the target (`markers`), as pip would: a line belongs to
    the base when it holds with extra == "", and to extra X (one of Provides-Extra) when it holds
    with extra == X but not with extra == "". So `"x" == extra`, `extra == "a" or extra == "b"`
    and `python_version < "3.12" and extra == "x"` land where an installer would put them.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    prefix = "" if project.path == "." else project.path + "/"
    hook_files = [prefix + f for f in result.files]
    label = prefix + (result.metadata_file or "hatch_build.py")
    finder = _LiteralFinder(project_dir, [label, *hook_files])
    base: list[Declared] = []
    extras: dict[str, list[Declared]] = {canonical_name(e): [] for e in result.provides_extra}
    for line in result.requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise SpecError(f"invalid requirement {line!r} in the backend's metadata: {exc}", where=label) from None
        source = finder.source_of(req) or f"{label}:1"
        if marker_holds(req, {**markers, "extra": ""}, where=source):
            base.append(Declared(line, source, "hatch", ""))
            continue
        for name in extras:
            if marker_holds(req, {**markers, "extra": name}, where=source):
                extras[name].append(Declared(line, source, "hatch", name))
    project.backend = result
    if "dependencies" in project.dynamic:
        project.base = base
    if "optional-dependencies" in project.dynamic:
        project.extras = extras
        project.extras_where = label
    return hook_files


class _LiteralFinder:
    """Find where a requirement string appears literally (a quoted string) in the files a hook read."""

    _STRING = re.compile(r""""((?:[^"\\\n]|\\.)*)"|'([^'\n]*)'""")

    def __init__(self, project_dir: Path, files: list[str]):
        self.project_dir = project_dir
        self.files = list(dict.fromkeys(files))
        self._index: dict[str, str] | None = None

    @staticmethod
    def _key(req) -> str:
        # name, extras, specifier or url: the part a source literal and Requires-Dist share.
        from packaging.utils import canonicalize_name

        return f"{canonicalize_name(req.name)}[{','.join(sorted(req.extras))}]{req.specifier}@{req.url or ''}"

    def _build(self) -> dict[str, str]:
        from packaging.requirements import InvalidRequirement, Requirement

        index: dict[str, str] = {}
        for rel in self.files:
            try:
                text = (self.project_dir / rel).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if '"' not in line and "'" not in line:
                    continue
                for m in self._STRING.finditer(line):
                    literal = m.group(1) if m.group(1) is not None else m.group(2)
                    if not literal or not literal[0].isalnum() or len(literal) > 500:
                        continue
                    try:
                        key = self._key(Requirement(literal))
                    except InvalidRequirement:
                        continue
                    index.setdefault(key, f"{rel}:{number}")
        return index

    def source_of(self, req) -> str | None:
        if self._index is None:
            self._index = self._build()
        return self._index.get(self._key(req))
