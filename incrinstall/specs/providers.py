"""Find and read Apache Airflow style provider.yaml files under the tree into declared requirements with file:line."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.common.errors import SpecError
from incrinstall.specs.model import Declared
from incrinstall.common.names import canonical_name

if TYPE_CHECKING:
    from yaml.nodes import Node

PROVIDER_YAML = "provider.yaml"
AIRFLOW_PREFIX = "apache-airflow-providers-"
SKIPPED_STATES = ("suspended", "removed")
_SKIP_DIRS = {"node_modules", "__pycache__", "build", "dist", "site-packages"}


@dataclass
class Provider:
    id: str  # package-name without the Airflow prefix, "-" -> "." ("apache.hive")
    folder_id: str | None  # the folder below the nearest `providers` folder, dotted; another accepted id
    name: str  # canonical package name
    version: str | None  # first of `versions`
    path: str  # folder relative to the project dir
    yaml: str  # relpath of its provider.yaml
    dependencies: list[Declared] = field(default_factory=list)
    extras: dict[str, list[Declared]] = field(default_factory=dict)  # additional-extras, normalized names
    devel: list[Declared] = field(default_factory=list)
    skipped: str | None = None  # why the tree does not provide it for this target, if so


def find_provider_files(project_dir: str | os.PathLike[str], scanned: list[str] | None = None) -> list[str]:
    """Every provider.yaml under the tree (relpaths, sorted); skips hidden folders, virtualenvs and build output.

    Every folder listed is appended to `scanned` (relpaths, "." for the root): a new
    provider.yaml can only appear by changing one of their mtimes.
    """
    found: list[str] = []
    root = os.fspath(project_dir)

    def walk(folder: str, rel: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):  # gone, or a link to a file: nothing to find there
            return
        if scanned is not None:
            scanned.append(rel or ".")
        names = {e.name for e in entries}
        if rel and "pyvenv.cfg" in names:
            return  # a virtual environment
        if PROVIDER_YAML in names:
            found.append(f"{rel}/{PROVIDER_YAML}" if rel else PROVIDER_YAML)
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIP_DIRS:
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, f"{rel}/{entry.name}" if rel else entry.name)

    walk(root, "")
    return sorted(found)


def counts_as_provider(project_dir: str | os.PathLike[str], rel: str, patterns: list[str]) -> bool:
    """Is the provider.yaml at `rel` a provider of a tree without a workspace?

    Where the tree keeps its providers: at its root (the tree is that provider), below a
    `providers/` folder at its root, or below the `providers/` folder of a top-level package (a
    folder with `__init__.py`, at the root or under `src/`: Airflow 2's `airflow/providers/**`),
    or where one of `patterns` ([tool.incrinstall] provider-paths, globs relative to the tree with
    `**` for any number of folders) matches the file or its folder.
    """
    parts = rel.split("/")[:-1]  # its folder
    if not parts or (len(parts) >= 2 and parts[0] == "providers"):
        return True
    package = parts[1:] if parts[:1] == ["src"] else parts
    if len(package) >= 3 and package[1] == "providers":
        top = parts[: len(parts) - len(package) + 1]
        if os.path.isfile(os.path.join(project_dir, *top, "__init__.py")):
            return True
    folder = "/".join(parts) or "."
    return any(_glob_matches(pattern, candidate) for pattern in patterns for candidate in (rel, folder))


def _glob_matches(pattern: str, path: str) -> bool:
    """A glob over "/"-separated relpaths: `*` and `?` stay within a folder, `**` spans any number of them."""
    pattern = pattern.replace("\\", "/").strip("/")
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex, path) is not None


def provider_id(package_name: str) -> str:
    name = canonical_name(package_name)
    return name[len(AIRFLOW_PREFIX):].replace("-", ".") if name.startswith(AIRFLOW_PREFIX) else name


def read_providers(project_dir: Path, files: list[str], markers: dict[str, str]) -> list[Provider]:
    python = markers.get("python_version", "")
    return [_read_one(project_dir, rel, python) for rel in files]


def _read_one(project_dir: Path, rel: str, python: str) -> Provider:
    root = _compose(project_dir / rel, rel)
    if root is None or root.tag != "tag:yaml.org,2002:map":
        raise SpecError("provider.yaml must be a mapping", where=_where(rel, root))
    fields = {key.value: value for key, value in root.value}

    name_node = fields.get("package-name")
    if name_node is None or not _is_scalar(name_node) or not name_node.value:
        raise SpecError("provider.yaml has no package-name", where=_where(rel, root))
    versions = _scalars(rel, fields.get("versions"), "versions")
    folder = rel.rsplit("/", 1)[0] if "/" in rel else "."
    provider = Provider(
        id=provider_id(name_node.value),
        folder_id=_folder_id(folder),
        name=canonical_name(name_node.value),
        version=versions[0][0] if versions else None,
        path=folder,
        yaml=rel,
    )
    provider.dependencies = [Declared(r, s, "provider", "")
                             for r, s in _scalars(rel, fields.get("dependencies"), "dependencies")]
    provider.devel = [Declared(r, s, "provider", "")
                      for r, s in _scalars(rel, fields.get("devel-dependencies"), "devel-dependencies")]
    for item in _items(rel, fields.get("additional-extras"), "additional-extras"):
        if item.tag != "tag:yaml.org,2002:map":
            raise SpecError("additional-extras items need `name` and `dependencies`", where=_where(rel, item))
        sub = {key.value: value for key, value in item.value}
        extra_name = sub.get("name")
        if extra_name is None or not _is_scalar(extra_name) or not extra_name.value:
            raise SpecError("additional-extras item has no name", where=_where(rel, item))
        key = canonical_name(extra_name.value)
        deps = _scalars(rel, sub.get("dependencies"), f"additional-extras {extra_name.value} dependencies")
        provider.extras.setdefault(key, []).extend(Declared(r, s, "provider", key) for r, s in deps)

    state_node = fields.get("state")
    state = state_node.value if state_node is not None and _is_scalar(state_node) and state_node.value else "ready"
    suspended = fields.get("suspended")  # older Airflow 2 releases: `suspended: true`
    if suspended is not None and _is_scalar(suspended) and suspended.value.lower() == "true":
        state = "suspended"
    excluded = [v for v, _ in _scalars(rel, fields.get("excluded-python-versions"), "excluded-python-versions")]
    if state in SKIPPED_STATES:
        provider.skipped = f"state is {state}"
    elif python and any(_major_minor(v) == python for v in excluded):
        provider.skipped = f"excluded for Python {python}"
    return provider


def _folder_id(folder: str) -> str | None:
    parts = folder.split("/")
    if "providers" not in parts[:-1]:
        return None
    last = len(parts) - 1 - parts[::-1].index("providers")
    below = parts[last + 1:]
    return ".".join(below) if below else None


def _major_minor(version: str) -> str:
    return ".".join(version.strip().split(".")[:2])


def _compose(path: Path, rel: str) -> Node | None:
    # PyYAML only for a tree that has provider.yaml files: most trees have none.
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("file not found", where=rel) from None
    loader = None
    try:
        loader = loader_class(data)  # the pure-Python loader reads (and may refuse) the start already
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        if exc.context:
            problem += f" ({exc.context})"
        raise SpecError(f"invalid YAML: {problem}", where=f"{rel}:{mark.line + 1}" if mark else rel) from None
    except yaml.reader.ReaderError as exc:
        # Bad UTF-8 or a control character: no mark, but a position (a byte offset with libyaml).
        line = data.count(b"\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        raise SpecError(f"invalid YAML: {exc.reason} (character {exc.character!r})",
                        where=f"{rel}:{line}" if line else rel) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", where=rel) from None
    finally:
        if loader is not None:
            loader.dispose()


def _is_scalar(node: Node) -> bool:
    return node.tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


def _where(rel: str, node: Node | None) -> str:
    return f"{rel}:{node.start_mark.line + 1}" if node is not None else rel


def _items(rel: str, node: Node | None, what: str) -> list[Node]:
    if node is None or node.tag == "tag:yaml.org,2002:null":
        return []
    if node.tag != "tag:yaml.org,2002:seq":
        raise SpecError(f"{what} must be a list", where=_where(rel, node))
    return list(node.value)


def _scalars(rel: str, node: Node | None, what: str) -> list[tuple[str, str]]:
    """(raw text, "rel:line") of each item of a list of strings; raw text keeps "3.10" from becoming 3.1."""
    out = []
    for item in _items(rel, node, what):
        if not _is_scalar(item) or item.tag == "tag:yaml.org,2002:null":
            raise SpecError(f"{what}: expected a string", where=_where(rel, item))
        out.append((item.value, _where(rel, item)))
    return out
