"""Copy the files that spec collection reads into a folder of their own: the recipe (the cargo-chef pattern).

A Dockerfile's planner stage runs `incrinstall recipe . --out /recipe` after `COPY . .`; the
install stage copies only /recipe and runs `sync` on it, so its layer is rebuilt only when a
spec file changes, never after a source edit. The recipe holds:

- every file `specs.collect()` read (pyproject.toml files, provider.yaml files, requirements
  and constraints files, `[tool.incrinstall] spec-files` globs, and what a build hook opened),
  at the same relative path, each path once (`./hatch_build.py` is `hatch_build.py`);
- except license and VCS files, which can change a wheel's metadata but never the
  requirements: any file named LICENSE*, LICENCE*, COPYING*, NOTICE* or AUTHORS*, anything
  under a folder whose name ends in "licenses"/"licences" (Airflow's 3rd-party-licenses/), and
  anything whose path has a part starting with .git, .hg, .svn or .bzr. A file that
  pyproject.toml names (`[project] readme`, `license = {file = ...}`) is kept all the same:
  the backend refuses to build the project's metadata without it;
- for a hatchling project, an empty placeholder for each of the project's top-level packages
  (`pkg/__init__.py`, `src/pkg/__init__.py` or `pkg.py`, as hatchling finds them), so the
  backend can build the editable install (`sync --editable`) from the recipe alone. The editable
  wheel points at the folder, so the sources copied over it later are what gets imported.

Content and metadata are deterministic: files are copied byte for byte with mode 0644 (0755
for folders) and a fixed mtime (SOURCE_DATE_EPOCH, else 1980-01-01), so a Docker COPY of
the recipe hashes the same on every run while the spec files are the same.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from incrinstall.common.errors import SpecError

if TYPE_CHECKING:
    from incrinstall.specs.model import SpecSet

MANIFEST = ".incrinstall-recipe.json"
MANIFEST_SCHEMA = 1
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip (wheel) can hold

_LICENSE_NAMES = ("licen[cs]e*", "copying*", "notice*", "authors*")
_LICENSE_FOLDERS = ("*licenses", "*licences")
_VCS_PREFIXES = (".git", ".hg", ".svn", ".bzr")


@dataclass
class Recipe:
    """What `write()` put into the recipe folder, and what it left out and why."""

    out: str
    files: list[str] = field(default_factory=list)  # copied, relative POSIX paths
    placeholders: list[str] = field(default_factory=list)  # empty package markers for the editable build
    excluded: list[str] = field(default_factory=list)  # read by spec collection but left out (license / VCS)
    skipped: list[str] = field(default_factory=list)  # URLs: nothing to copy

    def to_json(self) -> dict:
        return {"out": self.out, "files": self.files, "placeholders": self.placeholders,
                "excluded": self.excluded, "skipped": self.skipped}


def is_license_or_vcs(relpath: str) -> bool:
    """The exclusion rule: license and VCS files cannot change the computed requirements."""
    parts = PurePosixPath(relpath).parts
    if any(part.startswith(_VCS_PREFIXES) for part in parts):
        return True
    if any(fnmatch.fnmatch(part.lower(), pattern) for part in parts[:-1] for pattern in _LICENSE_FOLDERS):
        return True
    return any(fnmatch.fnmatch(parts[-1].lower(), pattern) for pattern in _LICENSE_NAMES)


def select(specset: SpecSet, project_dir: Path) -> Recipe:
    """Decide what the recipe holds, from the files spec collection read."""
    recipe = Recipe(out="")
    named = _named_by_pyproject(project_dir)
    chosen: set[str] = set()
    for entry in specset.files:
        if "://" in entry:
            recipe.skipped.append(entry)
            continue
        rel = _relative(project_dir, entry)
        if rel in chosen or rel in recipe.excluded:
            continue
        if is_license_or_vcs(rel) and rel not in named:
            recipe.excluded.append(rel)
        else:
            chosen.add(rel)
    chosen.update(rel for rel in named if (project_dir / rel).is_file())
    recipe.files = sorted(chosen)
    recipe.excluded.sort()
    recipe.placeholders = sorted(p for p in _package_placeholders(project_dir) if p not in chosen)
    return recipe


def write(specset: SpecSet, out: str | os.PathLike, *, epoch: int | None = None) -> Recipe:
    """Write the recipe of `specset` (collected from its project_dir) into `out`, replacing an older recipe there."""
    project_dir = Path(specset.project_dir)
    out = Path(out).resolve()
    if out == project_dir:
        raise SpecError("the recipe folder must not be the project folder", where=str(out))
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not _is_recipe(out)):
            raise SpecError("refusing to write a recipe into a folder that is not empty and holds no recipe",
                            where=str(out))
        shutil.rmtree(out)
    recipe = select(specset, project_dir)
    recipe.out = str(out)
    stamp = _epoch(epoch)
    out.mkdir(parents=True)
    for rel in recipe.files:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project_dir / rel, dest)
    for rel in recipe.placeholders:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"")
    manifest = {"schema": MANIFEST_SCHEMA, "files": recipe.files, "placeholders": recipe.placeholders,
                "excluded": recipe.excluded}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _normalize_metadata(out, stamp)
    return recipe


def _relative(project_dir: Path, entry: str) -> str:
    """`entry` as a normalized POSIX path inside the project; a file outside it cannot be in the recipe."""
    path = Path(entry)
    absolute = path if path.is_absolute() else project_dir / path
    rel = os.path.relpath(os.path.normpath(absolute), project_dir)
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise SpecError("a spec file outside the project folder cannot go into the recipe; move it into the "
                        "project or install it by other means", where=entry)
    return PurePosixPath(Path(rel)).as_posix()


def _read_pyproject(project_dir: Path) -> dict:
    from incrinstall.common.tomlfile import load_toml

    path = project_dir / "pyproject.toml"
    return load_toml(path, "pyproject.toml")[0] if path.is_file() else {}


def _named_by_pyproject(project_dir: Path) -> set[str]:
    """Files the root pyproject.toml's metadata names: the backend cannot build without them."""
    project = _read_pyproject(project_dir).get("project") or {}
    named: list[str] = []
    readme = project.get("readme")
    if isinstance(readme, str):
        named.append(readme)
    elif isinstance(readme, dict) and isinstance(readme.get("file"), str):
        named.append(readme["file"])
    license_ = project.get("license")
    if isinstance(license_, dict) and isinstance(license_.get("file"), str):
        named.append(license_["file"])
    out = set()
    for name in named:
        try:
            out.add(_relative(project_dir, name))
        except SpecError:
            continue
    return out


def _package_placeholders(project_dir: Path) -> list[str]:
    """For a hatchling project: the files that tell hatchling which packages to ship, as empty placeholders."""
    data = _read_pyproject(project_dir)
    backend = (data.get("build-system") or {}).get("build-backend", "")
    if not backend.startswith("hatchling"):
        return []
    hatch_build = ((data.get("tool") or {}).get("hatch") or {}).get("build") or {}
    wheel = (hatch_build.get("targets") or {}).get("wheel") or {}
    packages = wheel.get("packages", hatch_build.get("packages"))
    found: list[str] = []
    if isinstance(packages, list):
        for package in packages:
            if isinstance(package, str) and (project_dir / package / "__init__.py").is_file():
                found.append(f"{PurePosixPath(package).as_posix()}/__init__.py")
        return found
    if wheel.get("include") or hatch_build.get("include") or wheel.get("only-include"):
        return []  # an explicit file selection: the project's own business
    name = (data.get("project") or {}).get("name")
    if not isinstance(name, str):
        return []
    module = name.replace("-", "_").replace(".", "_").lower()
    for candidate in (f"{module}/__init__.py", f"src/{module}/__init__.py", f"{module}.py"):
        if (project_dir / candidate).is_file():
            return [candidate]
    return []


def _is_recipe(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def _epoch(epoch: int | None) -> int:
    if epoch is not None:
        return epoch
    try:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    except (KeyError, ValueError):
        return DEFAULT_EPOCH


def _normalize_metadata(out: Path, stamp: int) -> None:
    """Fixed modes and mtimes, deepest first so setting a file's time does not move its folder's."""
    for root, dirs, files in os.walk(out, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, 0o644)
            os.utime(path, (stamp, stamp))
        for name in dirs:
            path = os.path.join(root, name)
            os.chmod(path, 0o755)
            os.utime(path, (stamp, stamp))
    os.chmod(out, 0o755)
    os.utime(out, (stamp, stamp))
