"""A project's metadata from its own build backend: asked once, cached by everything the backend looked at.

For any tree whose dependencies are not static PEP 621 data (setup.py, setup.cfg, Poetry's
[tool.poetry], `dynamic` fields, hatchling hooks), pip and uv ask the backend; so does this.
Procedure, fast path first:
1. `cache_key_material` (the caller hashes the project's own spec files, pyproject.toml, setup.py,
   setup.cfg, hatch_build.py, into it) and the target markers name an index entry that lists
   what the backend looked at in its last runs for that material (up to 8: a checkout and its
   sdist look different): the files it read, the folders whose names count, and the
   version-control tools it ran;
2. the result key is made of the current content of those files, the names in those folders
   (a file the backend probed with os.path.exists(), which no audit event shows, appears or
   disappears there: PKG-INFO), and the repository state when it ran git or hg (common/vcs.py);
3. a stored result under one of those keys is returned without running anything;
4. otherwise the backend runs (incrinstall.backends.backend.editable_metadata: its metadata hook,
   or a build where only a build shows the dependencies), its METADATA is parsed, and result and
   index are stored for next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import InvalidMetadata, SpecError
from incrinstall.common.paths import cache_dir
from incrinstall.common.tomlfile import load_toml
from incrinstall.common.vcs import repository_state

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig
    from incrinstall.common.coremetadata import CoreMetadata

CACHE_VERSION = "3"  # 3: keyed by folder names and VCS state too; results carry name and backend

# Names left out of a folder's listing in the key: caches and tool folders that a backend never
# decides metadata by, and that come and go whenever a developer runs their tools.
IGNORED_NAMES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox",
                           ".nox", ".venv", ".idea", ".vscode", ".DS_Store", ".coverage"})

# How a backend is called in messages, by the top-level module of its build-backend.
_BACKEND_NAMES = {"setuptools": "setuptools", "poetry": "poetry-core", "pdm": "pdm-backend", "flit_core": "flit-core",
                  "hatchling": "hatchling", "maturin": "maturin", "scikit_build_core": "scikit-build-core",
                  "mesonpy": "meson-python"}


@dataclass
class HookResult:
    """What the backend wrote into the project's METADATA, and what in the project decided it."""

    requires_dist: list[str]  # Requires-Dist values, markers kept (`extra == "..."` included)
    provides_extra: list[str]
    files: list[str]  # relpaths the backend opened under the tree (pyproject.toml, setup.py, hatch_build.py, ...)
    metadata_file: str  # the file the metadata is credited to: setup.py, a hatch hook script, pyproject.toml
    metadata_path: str = ""  # absolute path of the stored METADATA text (for inspection)
    version: str = ""  # the Version the backend computed (a dynamic version, e.g. read from __init__.py)
    wheel_path: str = ""  # the editable wheel the backend built (absolute; under the cache), when it built one
    name: str = ""  # the Name the backend wrote (as written)
    backend: str = ""  # [build-system].build-backend that answered
    folders: list[str] = field(default_factory=list)  # folders whose names are in the key ("." = the root)
    vcs: list[str] = field(default_factory=list)  # version-control tools the backend ran ("git", "hg")


def backend_name(build_backend: str) -> str:
    """The backend as users call it: "setuptools.build_meta:__legacy__" -> "setuptools", "poetry.core..." -> "poetry-core"."""
    top = build_backend.split(":", 1)[0].split(".", 1)[0]
    return _BACKEND_NAMES.get(top, top or "the build backend")


def _hooks_dir() -> Path:
    return cache_dir() / "hooks"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# What a hook run is asked for: the editable wheel (a build, whose hooks may add dependencies), or the metadata.
HookMode = Literal["build", "metadata"]


def _material_id(cache_key_material: str, markers: dict[str, str], mode: HookMode = "build") -> str:
    return _sha(f"{CACHE_VERSION}\0{mode}\0{cache_key_material}\0{json.dumps(markers, sort_keys=True)}".encode())


def folder_names(project_dir: Path, rel: str) -> list[str] | None:
    """The names in one folder of the tree, sorted, without IGNORED_NAMES; None when it is not a folder."""
    try:
        names = os.listdir(project_dir / rel)
    except OSError:
        return None
    return sorted(name for name in names if name not in IGNORED_NAMES)


def _result_key(material_id: str, project_dir: Path, files: Sequence[str], folders: Sequence[str] = (),
                vcs: Sequence[str] = ()) -> str:
    h = hashlib.sha256(material_id.encode())
    for rel in sorted(files):
        try:
            digest = _sha((project_dir / rel).read_bytes())
        except OSError:
            digest = "missing"
        h.update(f"\0{rel}\0{digest}".encode())
    for rel in sorted(folders):
        names = folder_names(project_dir, rel)
        h.update(f"\0{rel}/\0".encode() + (b"-missing-" if names is None else "\0".join(names).encode("utf-8",
                                                                                                 "surrogateescape")))
    if vcs:
        h.update(f"\0vcs\0{repository_state(project_dir, list(vcs))}".encode())
    return h.hexdigest()


def _folders_of(files: list[str], listed: list[str]) -> list[str]:
    """The folders whose names count: each file's folder and each folder listed."""
    return sorted({posix_parent(rel) for rel in files} | set(listed))


def posix_parent(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else "."


_SEEN_KEPT = 8  # what the backend looked at, for this many recent runs of one material (trees that alternate)


def _seen(material_id: str) -> list[dict[str, Any]]:
    """What the backend looked at in recent runs for this material, the latest first ([] when none)."""
    try:
        data = json.loads((_hooks_dir() / "index" / f"{material_id}.json").read_text(encoding="utf-8"))
        seen = data["seen"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [s for s in seen if isinstance(s, dict)] if isinstance(seen, list) else []


def _load_cached(material_id: str, project_dir: Path) -> HookResult | None:
    # Two trees with the same spec files (a checkout and its sdist, a tree and its recipe) may make
    # the backend look at different things: each run's list is kept, and each is tried.
    for seen in _seen(material_id):
        try:
            key = _result_key(material_id, project_dir, seen["files"], seen["folders"], seen["vcs"])
            data = json.loads((_hooks_dir() / f"{key}.json").read_text(encoding="utf-8"))
            result = HookResult(**data)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if os.path.isfile(result.metadata_path):
            return result
    return None


def run_hook(
    project_dir: Path,
    markers: dict[str, str],
    cache_key_material: str,
    *,
    python: str | None = None,
    index: IndexConfig | None = None,
    build: bool = False,
) -> HookResult:
    """Name / Version / Requires-Dist / Provides-Extra as the project's backend writes them, from cache when nothing
    it looked at changed.

    `python` is the interpreter the backend runs under (the target's, so hooks
    that look at sys.version_info answer for it); default: our own.
    `index` (an IndexConfig) is where the build requirements come from; None = uv's defaults.
    `build`: build the editable wheel instead of asking the metadata hook (hatchling's build
    hooks, which may set dependencies, run only in a build); the wheel is kept for the sync.
    """
    project_dir = Path(project_dir).resolve()
    material_id = _material_id(cache_key_material, markers, "build" if build else "metadata")
    cached = _load_cached(material_id, project_dir)
    if cached is not None:
        return cached

    # The backend machinery (pyproject_hooks, build environments) only when the cache has no answer.
    from incrinstall.backends.backend import editable_metadata

    hooks = _hooks_dir()
    hooks.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wheel-", dir=hooks))
    try:
        answer = editable_metadata(project_dir, python=python or sys.executable, index=index, build=build,
                                   keep_wheel=staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    metadata = answer.text
    requires_dist, provides_extra = parse_metadata(metadata, where=str(project_dir))
    credited = _credited_file(project_dir, answer.backend, answer.opened_files)
    own = [name for name in ("pyproject.toml", credited) if (project_dir / name).is_file()]
    files = sorted(set(answer.opened_files) | set(own))
    folders = _folders_of(files, answer.listed_dirs)
    vcs = sorted(answer.vcs)

    key = _result_key(material_id, project_dir, files, folders, vcs)
    metadata_path = hooks / f"{key}.METADATA"
    write_atomic(metadata_path, metadata)
    wheel_path = ""
    built = [p for p in staging.iterdir() if p.name.endswith(".whl")]
    if built:  # kept beside its METADATA, for the sync to install (install/project.py)
        folder = hooks / "wheels" / key
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, folder)
        wheel_path = str(folder / built[0].name)
    else:
        shutil.rmtree(staging, ignore_errors=True)
    parsed = _parse(metadata, str(project_dir))
    result = HookResult(
        requires_dist=requires_dist,
        provides_extra=provides_extra,
        files=files,
        metadata_file=credited,
        metadata_path=str(metadata_path),
        version=parsed.version or "",
        wheel_path=wheel_path,
        name=parsed.name or "",
        backend=answer.backend,
        folders=folders,
        vcs=vcs,
    )
    write_atomic(hooks / f"{key}.json", json.dumps(asdict(result), indent=1))
    # The index is written last: a reader that finds it also finds the result it points to.
    latest = {"files": files, "folders": folders, "vcs": vcs}
    seen = [latest] + [s for s in _seen(material_id) if s != latest][: _SEEN_KEPT - 1]
    write_atomic(hooks / "index" / f"{material_id}.json", json.dumps({"seen": seen}))
    return result


def parse_metadata(text: str, *, where: str | None = None) -> tuple[list[str], list[str]]:
    """Requires-Dist and Provides-Extra values of a core-metadata (METADATA / PKG-INFO) text.

    A text that cannot be parsed raises InvalidMetadata, about `where` (the project folder).
    """
    md = _parse(text, where)
    return [" ".join(v.split()) for v in md.requires_dist], list(md.provides_extra)


def _parse(text: str, where: str | None) -> CoreMetadata:
    # packaging.metadata is imported only here: a cached hook result (the common case) parses nothing.
    from incrinstall.common.coremetadata import parse_core_metadata

    try:
        return parse_core_metadata(text)
    except InvalidMetadata as exc:
        raise InvalidMetadata(f"the build backend wrote {exc.reason}", where=where) from None


def _credited_file(project_dir: Path, build_backend: str, opened: list[str]) -> str:
    """The file the backend's metadata is credited to when no line of a file it read says more.

    A hatchling hook script it ran (hatch_build.py), setup.py (else setup.cfg) for setuptools,
    else pyproject.toml (or, without one, setup.py / setup.cfg: the legacy backend's inputs).
    """
    name = backend_name(build_backend)
    if name == "hatchling":
        script = _hatch_hook_file(project_dir)
        if script in opened:
            return script
    if name == "setuptools" or not (project_dir / "pyproject.toml").is_file():
        for candidate in ("setup.py", "setup.cfg"):
            if (project_dir / candidate).is_file():
                return candidate
    return "pyproject.toml"


def _hatch_hook_file(project_dir: Path) -> str:
    """The custom hook script that pyproject.toml names (hatchling's default: hatch_build.py)."""
    try:
        data = load_toml(project_dir / "pyproject.toml", "pyproject.toml")[0]
    except SpecError:  # unreadable or not TOML: the build itself reports that, with the line
        return "hatch_build.py"
    hatch = data.get("tool", {}).get("hatch", {})
    build = hatch.get("build", {})
    candidates = [
        hatch.get("metadata", {}).get("hooks", {}).get("custom", {}),
        build.get("hooks", {}).get("custom", {}),
        build.get("targets", {}).get("wheel", {}).get("hooks", {}).get("custom", {}),
        build.get("targets", {}).get("editable", {}).get("hooks", {}).get("custom", {}),
    ]
    for table in candidates:
        path = table.get("path") if isinstance(table, dict) else None
        if isinstance(path, str):
            return path
    return "hatch_build.py"
