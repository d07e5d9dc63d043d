"""Read a uv.lock into plain data: every locked package with its source, files and dependency edges.

Nothing is selected or evaluated here (resolve/locked.py walks the edges for a target); what is read
is what uv wrote. A lock of a large project (Airflow's: ~880 packages, 2.8 MB) takes tomllib half a
second, so the file is read as its `[[package]]` blocks, and each block's parse is kept in
incrinstall's cache under the block's hash: a moved lock costs a parse of the blocks that moved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import SpecError
from incrinstall.common.names import canonical_name
from incrinstall.common.paths import cache_dir
from incrinstall.common.tomlfile import TomlLocator, parse_toml, read_bytes_and_text

SourceKind = Literal["registry", "url", "path", "directory", "editable", "virtual", "git"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("registry", "url", "path", "directory", "editable", "virtual", "git")
LOCK_VERSION = 1  # the uv.lock `version` this reader knows
_BLOCK = "\n[[package]]\n"
_CACHE_FORMAT = 1  # bump when _reduced() keeps other keys: older cache files are then ignored

# A TOML table as parsed (what uv wrote, not yet checked).
_Table = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """Where a locked package comes from, as uv.lock's `source = { KIND = "VALUE" }` says."""

    kind: SourceKind
    value: str  # the registry URL or folder, the URL, the path, or the git URL

    @property
    def is_tree(self) -> bool:
        """A package built from a folder of the project (the project itself, a workspace member)."""
        return self.kind in ("editable", "virtual")


@dataclass(frozen=True)
class Edge:
    """A dependency of a locked package on another: uv resolved it already, to one locked package."""

    name: str  # canonical
    version: str | None  # given when the lock holds more than one version of `name`
    source: Source | None  # given when the lock holds `name` from more than one source
    marker: str | None  # when the edge applies (PEP 508, simplified by uv under requires-python)
    extras: tuple[str, ...] = ()  # extras of the target this edge activates


@dataclass(frozen=True)
class Requirement:
    """A requirement of the workspace root itself (`[manifest] dependency-groups`), not yet tied to a package."""

    name: str  # canonical
    specifier: str
    marker: str | None
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class LockedDist:
    """One file of a locked package."""

    filename: str
    url: str | None  # absent for a file uv found at a local `path`
    path: str | None  # relative to the lock's folder (a `path` source, a local registry)
    hashes: dict[str, str]  # {"sha256": hex}; empty when uv recorded none
    size: int | None = None


@dataclass(frozen=True)
class LockedPackage:
    name: str  # canonical
    version: str | None  # None for a tree package whose version is dynamic
    source: Source
    line: int  # of its `[[package]]` header in the lock, for messages
    dependencies: tuple[Edge, ...] = ()
    optional: dict[str, tuple[Edge, ...]] = field(default_factory=dict)  # extra -> edges
    groups: dict[str, tuple[Edge, ...]] = field(default_factory=dict)  # dependency group -> edges
    resolution_markers: tuple[str, ...] = ()  # the forks this version was locked for
    # The `wheels` and `sdist` tables as uv wrote them: read into LockedDist only for the packages a target
    # installs (a large lock holds thousands of wheels, for every platform).
    raw_wheels: tuple[_Table, ...] = field(default=(), repr=False, compare=False)
    raw_sdist: _Table | None = field(default=None, repr=False, compare=False)
    rel: str = field(default="uv.lock", repr=False, compare=False)

    @property
    def wheels(self) -> tuple[LockedDist, ...]:
        return tuple(_dist(w, f"{self.rel}:{self.line}") for w in self.raw_wheels)

    def wheel_filenames(self) -> tuple[str, ...]:
        """The file name of each wheel, in order, without reading the rest of their entries."""
        return tuple(_filename(w) for w in self.raw_wheels)

    def wheel(self, index: int) -> LockedDist:
        return _dist(self.raw_wheels[index], f"{self.rel}:{self.line}")

    @property
    def sdist(self) -> LockedDist | None:
        return _dist(self.raw_sdist, f"{self.rel}:{self.line}") if self.raw_sdist is not None else None


@dataclass
class UvLock:
    """A whole uv.lock: header facts, and the packages in file order."""

    path: Path
    rel: str  # as messages name it ("uv.lock")
    sha256: str  # of the file's bytes: the lock's digest, recorded in the state
    revision: int
    requires_python: str | None
    members: tuple[str, ...]  # the workspace members ([manifest] members); empty for a single project
    root_groups: dict[str, tuple[Requirement, ...]]  # [manifest] dependency-groups of a root without [project]
    conflicts: bool  # declares conflicting extras or groups ([tool.uv] conflicts)
    packages: list[LockedPackage]
    header: TomlLocator | None = field(default=None, repr=False, compare=False)  # the lines of the header's keys, for messages

    def where(self, key: str) -> str:
        """`uv.lock:LINE` of a top-level key or table (`version`, `manifest`, ...)."""
        return self.header.where((key,)) if self.header is not None else self.rel


def read(path: Path, rel: str) -> UvLock:
    """The uv.lock at `path` (named `rel` in messages); SpecError at rel:line when it is not one this reader knows."""
    data, text = read_bytes_and_text(path, rel)
    digest = hashlib.sha256(data).hexdigest()
    header, blocks = _parse(text, rel, path)
    lock = _header(header, rel, path, digest, text)
    lock.packages = [_package(raw, line, rel) for raw, line in blocks]
    return lock


def _parse(text: str, rel: str, path: Path) -> tuple[_Table, list[tuple[_Table, int]]]:
    """The header table and each `[[package]]` block's table with its line, parsed block by block (cached)."""
    if '"""' in text or "'''" in text:
        # A multi-line string could hold a line that reads `[[package]]`: parse the whole file as TOML says.
        whole = parse_toml(text, rel)
        return whole, [(_reduced(p), _nth_line(text, i)) for i, p in enumerate(whole.get("package", []))]
    head, *parts = text.split(_BLOCK)
    cache_file = _cache_file(path)
    cached = _load_cache(cache_file)
    fresh: dict[str, _Table] = {}
    blocks: list[tuple[_Table, int]] = []
    line = head.count("\n") + 2  # the `[[package]]` line of the first block
    try:
        head_key = "header:" + hashlib.sha256(head.encode("utf-8")).hexdigest()
        header = cached.get(head_key)
        if header is None:
            header = parse_toml(head, rel)
        fresh[head_key] = header
        for part in parts:
            key = hashlib.sha256(part.encode("utf-8")).hexdigest()
            raw = cached.get(key)
            if raw is None:
                packages = parse_toml("[[package]]\n" + part, rel).get("package")
                if not isinstance(packages, list) or len(packages) != 1:
                    raise SpecError("a [[package]] block that is not one package", where=f"{rel}:{line}")
                raw = _reduced(packages[0])
            fresh[key] = raw
            blocks.append((raw, line))
            line += part.count("\n") + 2
    except SpecError:
        parse_toml(text, rel)  # the whole file's error, at its real line
        raise
    if fresh.keys() != cached.keys():
        _store_cache(cache_file, fresh)
    return header, blocks


def _nth_line(text: str, index: int) -> int:
    """The line of the index-th `[[package]]` header (the slow path's line numbers)."""
    pos = -1
    for _ in range(index + 1):
        pos = text.find("[[package]]", pos + 1)
        if pos < 0:
            return 0
    return text.count("\n", 0, pos) + 1


def _reduced(package: Any) -> _Table:
    """What selection needs of a package table; `[package.metadata]` and upload times are left out."""
    if not isinstance(package, dict):
        return {"_invalid": True}
    out = {key: package[key] for key in ("name", "version", "source", "dependencies", "optional-dependencies",
                                          "dev-dependencies", "resolution-markers", "sdist", "wheels")
           if key in package}
    for dist in [*(out.get("wheels") or []), out.get("sdist")]:
        if isinstance(dist, dict):
            dist.pop("upload-time", None)
    return out


def _cache_file(path: Path) -> Path:
    key = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir() / "uvlock" / f"{key}.json"


def _load_cache(cache_file: Path) -> dict[str, _Table]:
    # JSON, never pickle: a cache folder can be shared (a Docker cache mount), and reading it must run no code.
    try:
        with open(cache_file, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") == _CACHE_FORMAT and isinstance(data.get("blocks"), dict):
            blocks: dict[str, _Table] = data["blocks"]
            return blocks
    except (OSError, ValueError, AttributeError, RecursionError):
        pass
    return {}


def _store_cache(cache_file: Path, blocks: dict[str, _Table]) -> None:
    try:
        write_atomic(cache_file, json.dumps({"format": _CACHE_FORMAT, "blocks": blocks}))
    except (OSError, TypeError, ValueError):
        pass  # a TOML date in a block, or a read-only cache: the next read parses again


def _header(header: _Table, rel: str, path: Path, digest: str, text: str) -> UvLock:
    locator = TomlLocator(text.split(_BLOCK, 1)[0], rel)  # the header: the text before the first [[package]]

    def where(key: str) -> str:
        return locator.where((key,))

    version = header.get("version")
    if version != LOCK_VERSION:
        raise SpecError(f"uv.lock version {version!r}: this incrinstall reads version {LOCK_VERSION} (uv 0.4 and "
                        "later); run `uv lock` with a current uv, or pass --no-lock", where=where("version"))
    requires_python = header.get("requires-python")
    manifest = header.get("manifest") or {}
    if not isinstance(manifest, dict):
        raise SpecError("[manifest] is not a table", where=where("manifest"))
    members = tuple(canonical_name(m) for m in manifest.get("members") or () if isinstance(m, str))
    groups: dict[str, tuple[Requirement, ...]] = {}
    for group, items in (manifest.get("dependency-groups") or {}).items():
        groups[canonical_name(group)] = tuple(_requirement(item, where("manifest")) for item in items or ())
    # (`constraints` and `overrides` there record [tool.uv] settings uv applied when it locked: nothing to do.)
    if manifest.get("requirements"):
        raise SpecError("[manifest] requirements: the workspace root declares requirements of its own (not "
                        "through a project), which incrinstall does not read from a lock; pass --no-lock",
                        where=where("manifest"))
    conflicts = bool(header.get("conflicts"))
    revision = header.get("revision", 0)
    return UvLock(path, rel, digest, revision if isinstance(revision, int) else 0,
                  requires_python if isinstance(requires_python, str) else None,
                  members, groups, conflicts, [], locator)


def _requirement(item: Any, where: str) -> Requirement:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise SpecError("a dependency-groups entry without a name", where=where)
    for key in ("git", "url", "path", "editable", "directory"):
        if key in item:
            raise SpecError(f"the workspace root's group requirement on {item['name']} comes from a {key} source, "
                            "which incrinstall does not install from a lock; pass --no-lock", where=where)
    return Requirement(canonical_name(item["name"]), str(item.get("specifier") or ""), item.get("marker"),
                       tuple(canonical_name(e) for e in item.get("extras") or ()))


def _source(value: Any, where: str) -> Source:
    if isinstance(value, dict) and len(value) >= 1:
        for kind in SOURCE_KINDS:
            if isinstance(value.get(kind), str):
                return Source(kind, value[kind])
    raise SpecError(f"a source uv.lock does not define: {value!r}", where=where)


def _edges(items: Any, where: str) -> tuple[Edge, ...]:
    if not isinstance(items, list):
        raise SpecError("dependencies are not a list", where=where)
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise SpecError("a dependency without a name", where=where)
        source = _source(item["source"], where) if "source" in item else None
        extras = item.get("extra") or ()
        out.append(Edge(_canonical(item["name"]), item.get("version"), source, item.get("marker"),
                        tuple(_canonical(e) for e in extras)))
    return tuple(out)


def _filename(entry: Any) -> str:
    if not isinstance(entry, dict):
        return ""
    named = entry.get("filename") or entry.get("url") or entry.get("path") or ""
    return named.rstrip("/").rsplit("/", 1)[-1].split("#", 1)[0] if isinstance(named, str) else ""


def _dist(entry: Any, where: str) -> LockedDist:
    if not isinstance(entry, dict):
        raise SpecError("a file entry that is not a table", where=where)
    url, path = entry.get("url"), entry.get("path")
    filename = _filename(entry)
    digest = entry.get("hash")
    hashes = {}
    if isinstance(digest, str) and ":" in digest:
        algorithm, _, hexdigest = digest.partition(":")
        hashes[algorithm] = hexdigest
    size = entry.get("size")
    return LockedDist(filename, url if isinstance(url, str) else None, path if isinstance(path, str) else None,
                      hashes, size if isinstance(size, int) else None)


def _package(raw: _Table, line: int, rel: str) -> LockedPackage:
    where = f"{rel}:{line}"
    if raw.get("_invalid") or not isinstance(raw.get("name"), str):
        raise SpecError("a [[package]] without a name", where=where)
    version = raw.get("version")
    optional = {_canonical(k): _edges(v, where) for k, v in (raw.get("optional-dependencies") or {}).items()}
    groups = {_canonical(k): _edges(v, where) for k, v in (raw.get("dev-dependencies") or {}).items()}
    wheels, sdist = raw.get("wheels") or (), raw.get("sdist")
    if not isinstance(wheels, list | tuple) or not (sdist is None or isinstance(sdist, dict)):
        raise SpecError("wheels must be a list and sdist a table", where=where)
    return LockedPackage(
        name=_canonical(raw["name"]),
        version=version if isinstance(version, str) else None,
        source=_source(raw.get("source"), where),
        line=line,
        dependencies=_edges(raw.get("dependencies") or [], where),
        optional=optional,
        groups=groups,
        resolution_markers=tuple(m for m in raw.get("resolution-markers") or () if isinstance(m, str)),
        raw_wheels=tuple(wheels),
        raw_sdist=sdist,
        rel=rel,
    )


def _canonical(name: str) -> str:
    """uv writes names normalized already: only a name that is not is normalized again."""
    return name if name.islower() and "_" not in name and "." not in name and "--" not in name \
        else canonical_name(name)
