"""Read pyproject.toml files (the project and its uv workspace members) into declared requirements with file:line."""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.errors import SpecError
from incrinstall.specs import Declared, normalize

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
    proj = Project(name=None, version=None, path=rel_dir, pyproject=rel)

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
        proj.name = normalize(name)
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
            key = normalize(extra)
            items = _requirements(reqs, locator, ("project", "optional-dependencies", extra), key)
            proj.extras.setdefault(key, []).extend(items)

    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict):
        raise SpecError("[dependency-groups] must be a table", where=locator.where(("dependency-groups",)))
    proj.groups_where = locator.where(("dependency-groups",))
    for group, entries in groups.items():
        proj.groups.setdefault(normalize(group), []).extend(_group_entries(entries, locator, group))
    return proj


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
            out.append(_Include(normalize(entry["include-group"]), where))
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

    walk(normalize(group), (), where)
    return out


def _listing(names) -> str:
    return ", ".join(sorted(names)) or "(none)"


# --- dynamic dependencies computed by the build backend -------------------------------------------

def apply_hook_result(project: Project, result, project_dir: Path, *, markers: dict[str, str]) -> list[str]:
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
    extras: dict[str, list[Declared]] = {normalize(e): [] for e in result.provides_extra}
    for line in result.requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise SpecError(f"invalid requirement {line!r} in the backend's metadata: {exc}", where=label) from None
        source = finder.source_of(req) or f"{label}:1"
        if req.marker is None or req.marker.evaluate({**markers, "extra": ""}):
            base.append(Declared(line, source, "hatch", ""))
            continue
        for name in extras:
            if req.marker.evaluate({**markers, "extra": name}):
                extras[name].append(Declared(line, source, "hatch", name))
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


# --- TOML loading with line numbers -------------------------------------------------------------

def load_toml(path: Path, rel: str) -> tuple[dict, TomlLocator]:
    """Parse with tomllib (about 20x faster than tomlkit); errors become SpecError at file:line.

    Line numbers come from TomlLocator, never from the parser. tomlkit (also the reader on Python
    3.10, which has no tomllib) is asked only to explain a file tomllib refused, because its
    messages name the line.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", where=rel) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8: {exc}", where=rel) from None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = None
    if tomllib is not None:
        try:
            return tomllib.loads(text), TomlLocator(text, rel)
        except tomllib.TOMLDecodeError:
            pass  # tomlkit below says what and where
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        data = tomlkit.parse(text).unwrap()
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        if not line or "already exists" in str(exc):  # tomlkit places these at the table's end, or nowhere
            line = TomlLocator(text, rel).duplicate_line() or line
        message = re.sub(r"\s+at line \d+ col \d+$", "", str(exc)).replace("'\\x00'", "end of file")
        raise SpecError(f"invalid TOML: {message}", where=f"{rel}:{line}" if line else rel) from None
    return data, TomlLocator(text, rel)


class TomlLocator:
    """Line numbers of tables, keys and array elements in a valid TOML text.

    tomlkit keeps no positions, so this scans the text once: it understands headers,
    dotted and quoted keys, all four string forms, comments, arrays and inline tables,
    which is all it needs to tell where each element of an array starts.
    """

    def __init__(self, text: str, rel: str):
        self.rel = rel
        self._text = text
        self._lines: dict[tuple, int] | None = None

    def _scan(self) -> _TomlScanner:
        scanner = _TomlScanner(self._text)
        try:
            scanner.scan()
        except (ValueError, IndexError):
            pass  # TOML this scanner does not follow: fewer line numbers, never a crash
        return scanner

    def where(self, path: tuple, index: int | None = None) -> str:
        if self._lines is None:
            self._lines = self._scan().lines
        key = path if index is None else (*path, index)
        line = self._lines.get(key)
        return f"{self.rel}:{line}" if line else self.rel

    def duplicate_line(self) -> int | None:
        """The line of the first key defined twice (tomlkit reports those without a line)."""
        dups = self._scan().duplicates
        return dups[0] if dups else None


class _TomlScanner:
    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[tuple, int] = {}
        self.aot_count: dict[tuple, int] = {}
        self.duplicates: list[int] = []

    def scan(self) -> dict[tuple, int]:
        table: tuple = ()
        s = self.s
        while True:
            self._skip_blank(newlines=True)
            if self.i >= len(s):
                return self.lines
            if s[self.i] == "[":
                array_of_tables = s.startswith("[[", self.i)
                self.i += 2 if array_of_tables else 1
                start_line = self.line
                path = self._key_path()
                self.i += 2 if array_of_tables else 1
                if array_of_tables:
                    n = self.aot_count.get(path, 0)
                    self.aot_count[path] = n + 1
                    path = (*path, n)
                elif path in self.lines:
                    self.duplicates.append(start_line)
                self.lines.setdefault(path, start_line)
                table = path
            else:
                self._key_value(table)

    def _key_value(self, table: tuple) -> None:
        start_line = self.line
        path = (*table, *self._key_path())
        self._skip_blank()
        self.i += 1  # "="
        if path in self.lines:
            self.duplicates.append(start_line)
        self.lines.setdefault(path, start_line)
        self._value(path)

    def _key_path(self) -> tuple:
        parts = []
        while True:
            self._skip_blank()
            c = self.s[self.i]
            if c in "\"'":
                start = self.i
                self._string()
                raw = self.s[start:self.i]
                parts.append(_decode_key(raw))
            else:
                m = self._BARE.match(self.s, self.i)
                if not m:
                    raise ValueError("unexpected TOML")
                parts.append(m.group())
                self.i = m.end()
            self._skip_blank()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def _value(self, path: tuple) -> None:
        self._skip_blank()
        c = self.s[self.i]
        if c == "[":
            self.i += 1
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self.s[self.i] == "]":
                    self.i += 1
                    return
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                self.lines.setdefault((*path, index), self.line)
                self._value((*path, index))
                index += 1
        elif c == "{":
            self.i += 1
            while True:
                self._skip_blank(newlines=True)
                if self.s[self.i] == "}":
                    self.i += 1
                    return
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                self._key_value(path)
        elif c in "\"'":
            self._string()
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}\n#":
                self.i += 1

    def _string(self) -> None:
        s = self.s
        q = s[self.i]
        if s.startswith(q * 3, self.i):
            end = self.i + 3
            while True:
                end = s.index(q * 3, end)
                if q == '"' and _escaped(s, end):
                    end += 1
                    continue
                break
            end += 3
            while end < len(s) and s[end] == q:  # up to two quotes may close the content
                end += 1
        else:
            end = self.i + 1
            while s[end] != q or (q == '"' and _escaped(s, end)):
                end += 1
            end += 1
        self.line += s.count("\n", self.i, end)
        self.i = end

    def _skip_blank(self, newlines: bool = False) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\n" and newlines:
                self.i += 1
                self.line += 1
            else:
                return


def _escaped(s: str, pos: int) -> bool:
    n = 0
    while pos - 1 - n >= 0 and s[pos - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _decode_key(raw: str) -> str:
    if raw.startswith("'"):
        return raw[1:-1]
    try:
        return json.loads(raw)
    except ValueError:
        return raw[1:-1]
