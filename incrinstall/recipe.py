"""Copy the files the project's specs and its build backend read into a folder of their own: the recipe (cargo-chef).

A Dockerfile's planner stage runs `incrinstall recipe . --out /recipe` after `COPY . .`; the
install stage copies only /recipe, runs `sync --editable` on it, and copies the sources over it
afterwards, so its layers are rebuilt only when a spec file changes, never after a source edit.
The recipe holds:

- every file `specs.collect()` read (pyproject.toml files, provider.yaml files, requirements and
  constraints files, `[tool.incrinstall] spec-files` globs, what a build hook opened), and every
  file the backend read while it built the project's editable wheel on the full tree (setup.py's
  README, a version file), at the same relative path, each path once;
- except license and VCS files, which can change a wheel's metadata but never the requirements:
  any file named LICENSE*, LICENCE*, COPYING*, NOTICE* or AUTHORS*, anything under a folder whose
  name ends in "licenses"/"licences" (Airflow's 3rd-party-licenses/), and anything whose path has
  a part starting with .git, .hg, .svn or .bzr; and files a backend writes while it builds
  (*.egg-info/, .pdm-build/). A file the metadata names (`readme`, `license = {file}`,
  `license-files` globs, setup.cfg's `file:` values, poetry's `readme`) is kept all the same (the
  backend refuses to build the project's metadata without it), and so is one `[tool.incrinstall]
  spec-files` names;
- empty placeholders of the source files the backend must see to find the packages
  (backends/package_markers.py), replaced by the sources copied over the recipe later;
- the manifest (common/recipe_manifest.py), with the import roots of the project's editable
  install: read from the backend's own editable wheel of the full tree (backends/import_roots.py).
  `sync --editable` on the recipe installs the backend's dist-info with a .pth to those roots, so
  the sources copied over the recipe are what gets imported.

Before it returns, `make()` has the backend build from the recipe what the sync will need; a
project whose editable install cannot come from a recipe (a package mapped to a folder of another
name, a compiled extension, a backend without PEP 660) is an error that names the fallback: install
the project after the sources. `--no-editable` writes a recipe for a sync without `--editable`.

The bytes depend only on the tree's spec files and the options: files are copied byte for byte
with mode 0644 (0755 for folders) and a fixed mtime (SOURCE_DATE_EPOCH, else 1980-01-01), the
manifest has sorted keys and no timestamps, and nothing in it depends on what a cache held (what
was left out is reported, not recorded; spec collection never serves a recipe folder's answers to
the full tree, since the manifest is one of the recipe folder's spec files).
"""

from __future__ import annotations

import configparser
import fnmatch
import glob
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from incrinstall.backends import editables, import_roots
from incrinstall.backends.import_roots import EditableLayout, is_build_output
from incrinstall.backends.package_markers import build_backend, markers
from incrinstall.common import recipe_manifest
from incrinstall.common.errors import SpecError
from incrinstall.common.tomlfile import load_toml

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig
    from incrinstall.specs.model import SpecSet

MANIFEST = recipe_manifest.NAME
DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip (wheel) can hold

_LICENSE_NAMES = ("licen[cs]e*", "copying*", "notice*", "authors*")
_LICENSE_FOLDERS = ("*licenses", "*licences")
_VCS_PREFIXES = (".git", ".hg", ".svn", ".bzr")

FALLBACK = recipe_manifest.FALLBACK


@dataclass
class Recipe:
    """What `write()` put into the recipe folder, and what it left out and why."""

    out: str
    files: list[str] = field(default_factory=list)  # copied, relative POSIX paths
    placeholders: list[str] = field(default_factory=list)  # empty source files, for the backend to find the packages
    roots: list[str] | None = None  # the editable install's import roots; None with --no-editable
    excluded: list[str] = field(default_factory=list)  # read, but left out (license / VCS / build output)
    skipped: list[str] = field(default_factory=list)  # URLs and files that are not there: nothing to copy

    def to_json(self) -> dict:
        return {"out": self.out, "files": self.files, "placeholders": self.placeholders, "roots": self.roots,
                "excluded": self.excluded, "skipped": self.skipped}

    def manifest(self) -> recipe_manifest.Manifest:
        return recipe_manifest.Manifest(tuple(self.files), tuple(self.placeholders),
                                        None if self.roots is None else tuple(self.roots))


def is_license_or_vcs(relpath: str) -> bool:
    """The exclusion rule: license and VCS files cannot change the computed requirements."""
    parts = PurePosixPath(relpath).parts
    if any(part.startswith(_VCS_PREFIXES) for part in parts):
        return True
    if any(fnmatch.fnmatch(part.lower(), pattern) for part in parts[:-1] for pattern in _LICENSE_FOLDERS):
        return True
    return any(fnmatch.fnmatch(parts[-1].lower(), pattern) for pattern in _LICENSE_NAMES)


def make(specset: SpecSet, out: str | os.PathLike, *, python: str, python_version: str, index: IndexConfig | None,
         editable: bool = True, epoch: int | None = None, report: Callable[[str], None] = lambda _: None) -> Recipe:
    """Write the recipe of `specset`'s tree into `out`: ask the backend where the code lives, write, check.

    `editable`: the recipe must carry the project's editable install (`sync --editable` on it); a
    project whose editable install cannot come from a recipe is then an error naming the fallback.
    """
    project_dir = Path(specset.project_dir)
    _check_out(project_dir, Path(out).resolve())  # the cheap refusal before any backend runs
    layout = None
    # A folder with a manifest (a Dockerfile's specs stage, or a recipe) was written from the full tree: its
    # placeholders and import roots stand, since the backend cannot see the code there.
    given = recipe_manifest.read(project_dir)
    # Without --editable, only setuptools' placeholders need the layout (it stops on a missing listed package),
    # and only when its metadata came from the backend: static metadata is read without running it.
    from_backend = specset.project_metadata is not None and bool(specset.project_metadata.backend_metadata)
    if given is not None:
        if given.roots is not None:
            layout = EditableLayout(given.roots, packages=())
        elif editable:
            raise SpecError("the project's editable install cannot be made from this recipe: it was written with "
                            f"--no-editable. {FALLBACK}", where=str(project_dir / MANIFEST))
    elif _is_project(project_dir) and (editable or (from_backend and _setuptools(project_dir))):
        try:
            layout = import_roots.editable_layout(project_dir, python=python, index=index)
        except import_roots.NoEditableFromRecipe as exc:
            if editable:
                raise SpecError(f"the project's editable install cannot be made from a recipe: {exc.message}. "
                                f"{FALLBACK}", where=exc.where, detail=exc.detail) from None
            report(f"no editable install from this recipe ({exc.message})")
    written = write(specset, out, epoch=epoch, layout=layout, editable=editable,
                    placeholders=None if given is None else given.placeholders)
    if editable and written.roots is not None:
        try:
            editables.recipe_dist_info(written.out, written.manifest(), python=python, python_version=python_version,
                                       index=index)
        except import_roots.NoEditableFromRecipe as exc:
            shutil.rmtree(written.out, ignore_errors=True)  # a recipe the sync cannot install from is no recipe
            raise SpecError(f"the project's editable install cannot be made from a recipe: {exc.message}. If the "
                            "backend needs a file the recipe left out, name it in [tool.incrinstall] spec-files. "
                            f"{FALLBACK}", where=exc.where, detail=exc.detail) from None
    return written


def select(specset: SpecSet, project_dir: Path, layout: EditableLayout | None = None, *,
           editable: bool | None = None, placeholders: Sequence[str] | None = None) -> Recipe:
    """Decide what the recipe holds, from the files spec collection and the backend read.

    `editable` (default: whether a layout is given) records the layout's roots in the manifest;
    `placeholders` (a given manifest's) stand instead of those the backend's files call for.
    """
    recipe = Recipe(out="")
    pyproject = _read_pyproject(project_dir)
    named = _named_by_metadata(project_dir, pyproject)
    chosen: set[str] = set()
    for entry in [*specset.files, *(layout.opened if layout is not None else ())]:
        if "://" in entry:
            if entry not in recipe.skipped:
                recipe.skipped.append(entry)
            continue
        rel = _relative(project_dir, entry)
        if rel in chosen or rel in recipe.excluded or rel in recipe.skipped or rel == MANIFEST:
            continue
        if not (project_dir / rel).is_file():
            recipe.skipped.append(rel)  # read once, gone now (or a path the backend looked for): nothing to copy
        elif is_build_output(rel) or (is_license_or_vcs(rel) and rel not in named):
            recipe.excluded.append(rel)
        else:
            chosen.add(rel)
    chosen.update(named)
    recipe.files = sorted(chosen)
    recipe.excluded.sort()
    wanted = markers(project_dir, pyproject, layout) if placeholders is None else placeholders
    recipe.placeholders = [p for p in wanted if p not in chosen]
    if editable is None:
        editable = layout is not None
    recipe.roots = list(layout.roots) if editable and layout is not None else None
    return recipe


def write(specset: SpecSet, out: str | os.PathLike, *, epoch: int | None = None, layout: EditableLayout | None = None,
          editable: bool | None = None, placeholders: Sequence[str] | None = None) -> Recipe:
    """Write the recipe of `specset` (collected from its project_dir) into `out`, replacing an older recipe there."""
    project_dir = Path(specset.project_dir)
    out = Path(out).resolve()
    _check_out(project_dir, out)
    if out.exists():  # its contents, not the folder: it may be a RUN step's working directory (WORKDIR)
        for child in list(out.iterdir()):
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    recipe = select(specset, project_dir, layout, editable=editable, placeholders=placeholders)
    recipe.out = str(out)
    stamp = _epoch(epoch)
    out.mkdir(parents=True, exist_ok=True)
    for rel in recipe.files:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project_dir / rel, dest)
    for rel in recipe.placeholders:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"")
    (out / MANIFEST).write_bytes(recipe.manifest().to_bytes())
    _normalize_metadata(out, stamp)
    return recipe


def _check_out(project_dir: Path, out: Path) -> None:
    """The recipe folder is not the project, and holds nothing but an older recipe."""
    if out == project_dir:
        raise SpecError("the recipe folder must not be the project folder", where=str(out))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_recipe(out))):
        raise SpecError("refusing to write a recipe into a folder that is not empty and holds no recipe",
                        where=str(out))


def _setuptools(project_dir: Path) -> bool:
    """Is the project built by setuptools (named, or the default of a tree that names no backend)?"""
    backend = build_backend(_read_pyproject(project_dir))
    return not backend or backend.startswith("setuptools")


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
    path = project_dir / "pyproject.toml"
    return load_toml(path, "pyproject.toml")[0] if path.is_file() else {}


def _is_project(project_dir: Path) -> bool:
    """Is there a project a backend can build (not only requirements files, nor a virtual workspace root)?"""
    pyproject = _read_pyproject(project_dir)
    named = isinstance((pyproject.get("project") or {}).get("name"), str) \
        or isinstance(((pyproject.get("tool") or {}).get("poetry") or {}).get("name"), str)
    return named or (project_dir / "setup.py").is_file() or (project_dir / "setup.cfg").is_file()


def _named_by_metadata(project_dir: Path, pyproject: dict[str, Any]) -> set[str]:
    """Files (existing ones, relative POSIX) the project's metadata names (the backend cannot build without them),
    and those `[tool.incrinstall] spec-files` names."""
    names: list[str] = []
    globs: list[str] = []
    project: dict[str, Any] = pyproject["project"] if isinstance(pyproject.get("project"), dict) else {}
    tool: dict[str, Any] = pyproject["tool"] if isinstance(pyproject.get("tool"), dict) else {}
    poetry: dict[str, Any] = tool["poetry"] if isinstance(tool.get("poetry"), dict) else {}
    for readme in (project.get("readme"), poetry.get("readme")):
        names += _strings(readme.get("file") if isinstance(readme, dict) else readme)
    license_ = project.get("license")
    if isinstance(license_, dict) and isinstance(license_.get("file"), str):
        names.append(license_["file"])
    setuptools: dict[str, Any] = tool["setuptools"] if isinstance(tool.get("setuptools"), dict) else {}
    incrinstall: dict[str, Any] = tool["incrinstall"] if isinstance(tool.get("incrinstall"), dict) else {}
    # License files a project names, and every spec file its user names: kept even where they look like licenses.
    for patterns in (project.get("license-files"), setuptools.get("license-files"), incrinstall.get("spec-files")):
        globs += _strings(patterns)
    dynamic: dict[str, Any] = setuptools["dynamic"] if isinstance(setuptools.get("dynamic"), dict) else {}
    for value in dynamic.values():
        names += _strings(value.get("file") if isinstance(value, dict) else None)
    pdm: dict[str, Any] = tool["pdm"] if isinstance(tool.get("pdm"), dict) else {}
    pdm_version: dict[str, Any] = pdm["version"] if isinstance(pdm.get("version"), dict) else {}
    if pdm_version.get("source") == "file":
        names += _strings(pdm_version.get("path"))
    setup_cfg = _setup_cfg_names(project_dir)
    names += setup_cfg[0]
    globs += setup_cfg[1]
    out: set[str] = set()
    for name in names:
        try:
            out.add(_relative(project_dir, name))
        except SpecError:
            continue
    for pattern in globs:
        for hit in glob.glob(pattern, root_dir=project_dir, recursive=True):
            out.add(PurePosixPath(Path(hit)).as_posix())
    return {rel for rel in out if (project_dir / rel).is_file()}


def _strings(value: Any) -> list[str]:
    """A TOML value that names one file or a list of them, as a list (anything else: none)."""
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _setup_cfg_names(project_dir: Path) -> tuple[list[str], list[str]]:
    """setup.cfg's `file:` values (long_description, version, requirements) and license_files globs."""
    path = project_dir / "setup.cfg"
    if not path.is_file():
        return [], []
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return [], []  # setuptools will say what is wrong with it when the backend runs
    names: list[str] = []
    for section in parser.sections():
        for _, value in parser.items(section):
            value = value.strip()
            if value.startswith("file:"):
                names += [v.strip() for v in value[len("file:"):].split(",") if v.strip()]
    globs: list[str] = []
    for key in ("license_files", "license_file"):
        value = parser.get("metadata", key, fallback="")
        globs += [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]
    return names, globs


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
