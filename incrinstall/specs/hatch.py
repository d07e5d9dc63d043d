"""Dependencies computed by a build hook (hatch_build.py): build the editable wheel once, cache by what the hook read.

Procedure, fast path first:
1. `cache_key_material` (the caller hashes pyproject.toml, hatch_build.py and
   the target markers into it) names an index entry that lists the files the
   backend read when it last ran for that material;
2. the current content of those files, with the material, makes the result key;
3. a stored result under that key is returned without running anything;
4. otherwise the backend builds the editable wheel for real (incrinstall.backends.backend),
   its METADATA is parsed, and result and file list are stored for next time.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import InvalidMetadata, SpecError
from incrinstall.common.paths import cache_dir

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig
    from incrinstall.common.coremetadata import CoreMetadata

CACHE_VERSION = "2"  # 2: results carry the version


@dataclass
class HookResult:
    """What the backend wrote into the editable wheel's METADATA, and which project files decided it."""

    requires_dist: list[str]  # Requires-Dist values, markers kept (`extra == "..."` included)
    provides_extra: list[str]
    files: list[str]  # relpaths the backend opened under the tree (pyproject.toml, hatch_build.py, ...)
    metadata_file: str  # the file these requirements are credited to: the custom hook script, e.g. "hatch_build.py"
    metadata_path: str = ""  # absolute path of the stored METADATA text (for inspection)
    version: str = ""  # the Version the backend computed (a dynamic version, e.g. read from __init__.py)
    wheel_path: str = ""  # the editable wheel the backend built (absolute; under the cache), when it built one


def _hooks_dir() -> Path:
    return cache_dir() / "hooks"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _material_id(cache_key_material: str, markers: dict, mode: str = "editable") -> str:
    return _sha(f"{CACHE_VERSION}\0{mode}\0{cache_key_material}\0{json.dumps(markers, sort_keys=True)}".encode())


def _result_key(material_id: str, project_dir: Path, files: list[str]) -> str:
    h = hashlib.sha256(material_id.encode())
    for rel in sorted(files):
        try:
            digest = _sha((project_dir / rel).read_bytes())
        except OSError:
            digest = "missing"
        h.update(f"\0{rel}\0{digest}".encode())
    return h.hexdigest()


def _load_cached(material_id: str, project_dir: Path) -> HookResult | None:
    hooks = _hooks_dir()
    try:
        files = json.loads((hooks / "index" / f"{material_id}.json").read_text(encoding="utf-8"))["files"]
        key = _result_key(material_id, project_dir, files)
        data = json.loads((hooks / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not os.path.isfile(data.get("metadata_path", "")):
        return None
    return HookResult(**data)


def run_hook(
    project_dir: Path,
    markers: dict[str, str],
    cache_key_material: str,
    *,
    python: str | None = None,
    index: IndexConfig | None = None,
    metadata_only: bool = False,
) -> HookResult:
    """Version / Requires-Dist / Provides-Extra of the project's editable wheel, from cache when nothing it read changed.

    `python` is the interpreter the backend runs under (the target's, so hooks
    that look at sys.version_info answer for it); default: our own.
    `index` (an IndexConfig) is where the build requirements come from; None = uv's defaults.
    `metadata_only`: only the version is dynamic, so the backend's metadata hook is enough
    (PEP 660 prepare_metadata_for_build_editable) and no wheel is built.
    """
    project_dir = Path(project_dir).resolve()
    material_id = _material_id(cache_key_material, markers, "metadata" if metadata_only else "editable")
    cached = _load_cached(material_id, project_dir)
    if cached is not None:
        return cached

    import sys

    from incrinstall.backends.backend import editable_metadata

    import shutil
    import tempfile

    hooks = _hooks_dir()
    hooks.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wheel-", dir=hooks))
    try:
        metadata, opened = editable_metadata(project_dir, python=python or sys.executable, index=index,
                                             build=not metadata_only, keep_wheel=None if metadata_only else staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    requires_dist, provides_extra = parse_metadata(metadata, where=str(project_dir))
    hook_file = _hook_file(project_dir)
    files = sorted(set(opened) | {"pyproject.toml"} | ({hook_file} if (project_dir / hook_file).is_file() else set()))
    if hook_file not in files:  # no custom hook script: credit pyproject.toml
        hook_file = "pyproject.toml"

    key = _result_key(material_id, project_dir, files)
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
    result = HookResult(
        requires_dist=requires_dist,
        provides_extra=provides_extra,
        files=files,
        metadata_file=hook_file,
        metadata_path=str(metadata_path),
        version=parse_version(metadata, where=str(project_dir)),
        wheel_path=wheel_path,
    )
    write_atomic(hooks / f"{key}.json", json.dumps(asdict(result), indent=1))
    # The index is written last: a reader that finds it also finds the result it points to.
    write_atomic(hooks / "index" / f"{material_id}.json", json.dumps({"files": files}))
    return result


def parse_metadata(text: str, *, where: str | None = None) -> tuple[list[str], list[str]]:
    """Requires-Dist and Provides-Extra values of a core-metadata (METADATA / PKG-INFO) text.

    A text that cannot be parsed raises InvalidMetadata, about `where` (the project folder).
    """
    md = _parse(text, where)
    return [" ".join(v.split()) for v in md.requires_dist], list(md.provides_extra)


def parse_version(text: str, *, where: str | None = None) -> str:
    """The Version field of a core-metadata text ("" when absent)."""
    return _parse(text, where).version or ""


def _parse(text: str, where: str | None) -> CoreMetadata:
    # packaging.metadata is imported only here: a cached hook result (the common case) parses nothing.
    from incrinstall.common.coremetadata import parse_core_metadata

    try:
        return parse_core_metadata(text)
    except InvalidMetadata as exc:
        raise InvalidMetadata(f"the build backend wrote {exc.reason}", where=where) from None


def _hook_file(project_dir: Path) -> str:
    """The custom build hook script that pyproject.toml names (hatchling's default: hatch_build.py)."""
    from incrinstall.common.tomlfile import load_toml

    try:
        data = load_toml(project_dir / "pyproject.toml", "pyproject.toml")[0]
    except SpecError:  # unreadable or not TOML: the build itself reports that, with the line
        return "hatch_build.py"
    build = data.get("tool", {}).get("hatch", {}).get("build", {})
    candidates = [
        build.get("hooks", {}).get("custom", {}),
        build.get("targets", {}).get("wheel", {}).get("hooks", {}).get("custom", {}),
        build.get("targets", {}).get("editable", {}).get("hooks", {}).get("custom", {}),
    ]
    for table in candidates:
        if isinstance(table, dict) and isinstance(table.get("path"), str):
            return table["path"]
    return "hatch_build.py"
