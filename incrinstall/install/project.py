"""The project's own install: editable, without dependencies, from the tree the specs were read from.

With `--editable`, and also without it when the project is installed editable from this tree and the
specs changed since (its METADATA would otherwise name what the sync removed). In order of cost:
- nothing, when the install is from this tree and these specs;
- its METADATA rewritten in place (install/editable.py), when only the dependencies changed;
- its editable wheel installed: the one spec collection's hook built from this tree, else one kept from
  an earlier tree of the same shape (backends/editables.py), else one its backend builds now, in the
  cached build environment; the wheel usually rides along with the sync's own uv install;
- uv's own `uv pip install -e`, the fallback.

A recipe folder (one holding `.incrinstall-recipe.json` with import roots) is different: its sources
are copied over it later, so the backend's own editable install, made from the spec files alone,
would reach nothing. Its editable wheel is the backend's dist-info plus a .pth naming the import
roots the manifest records (install/pth_wheel.py); when that cannot be made, the sync stops and says
what to do instead, never falling back to an install that would not import. A recipe written with
`--no-editable` records no roots: its `sync --editable` runs after the sources were copied over it
(README's fallback), so the backend's own editable install is right there, but never one a hook
built before the sources came.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from incrinstall.backends import backend, editables, import_roots
from incrinstall.common import recipe_manifest
from incrinstall.common.errors import IncrinstallError, InstallError, SpecError
from incrinstall.common.names import canonical_name
from incrinstall.install import editable, pth_wheel
from incrinstall.install.installer import InstallItem
from incrinstall.common.uv import REAL_UV, UvRunner

if TYPE_CHECKING:
    from incrinstall.install.model import Options, Planned
    from incrinstall.specs.model import ProjectMetadata

Need = Literal["refresh", "install"]


@dataclass
class EditableWheel:
    """The project's editable wheel, ready to install in place of `uv pip install -e`."""

    name: str
    version: str
    path: Path
    source: str  # where it came from, for -v
    from_recipe: bool = False  # a recipe's .pth wheel: nothing else would import once the sources are there

    def install_item(self) -> InstallItem:
        """The wheel as one more item of the sync's own uv install: one uv process for the delta and the project."""
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return InstallItem(self.name, self.version, (f"sha256:{digest}",), self.path.as_uri())


def installed_here(options: Options, planned: Planned) -> bool:
    """Is the project installed editable from this very tree?"""
    name = planned.specset.project_name
    dist = planned.installed.get(canonical_name(name)) if name else None
    return bool(dist is not None and dist.editable_path
                and os.path.realpath(dist.editable_path) == os.path.realpath(options.project_dir))


def recorded_fingerprint(options: Options, planned: Planned) -> str | None:
    """The fingerprint the editable install was made from, carried over while it stays installed."""
    previous = planned.previous
    return previous.editable if previous is not None and installed_here(options, planned) else None


def shape_to_record(planned: Planned, installed_now: bool) -> str | None:
    """The shape to record with the editable install: the new one after an install, else the previous one."""
    if installed_now:
        meta = planned.specset.project_metadata
        return meta.shape if meta is not None else None
    return planned.previous.editable_shape if planned.previous is not None else None


def need(options: Options, planned: Planned) -> Need | None:
    """None: the project's editable install stays as it is; "refresh": its METADATA can be rewritten in place;
    "install": it must be installed."""
    here = installed_here(options, planned)
    if not (options.editable or here):
        return None
    if here and recorded_fingerprint(options, planned) == planned.specset.fingerprint:
        return None
    meta = planned.specset.project_metadata
    previous = planned.previous
    if here and meta is not None and previous is not None and previous.editable_shape == meta.shape:
        return "refresh"
    return "install"


def install(options: Options, planned: Planned, report: Callable[[str], None],
            installed_wheel: EditableWheel | None = None, uv: UvRunner = REAL_UV) -> bool:
    """Install the project editable unless it already is, from these specs; True when something was done.

    `installed_wheel`: the sync's own uv call already installed this wheel; it only needs adopting.
    """
    meta = planned.specset.project_metadata
    if installed_wheel is not None and (meta is not None or installed_wheel.from_recipe) \
            and _adopt(options, planned, meta, installed_wheel, report):
        return True
    wanted = need(options, planned)
    if wanted is None:
        return False
    if wanted == "refresh" and meta is not None:
        if editable.refresh(planned.installed[meta.name].dist_info, meta):
            report(f"refreshed the editable install's metadata of {meta.name} in place (only its dependencies changed)")
            return True
    flags = ["--break-system-packages"] if options.break_system_packages else []
    wheel = wheel_for(options, planned, report) if installed_wheel is None else None
    if wheel is not None and (meta is not None or wheel.from_recipe):
        uv.run(["pip", "install", "--python", planned.interpreter.executable, "--no-deps", *flags,
                "--reinstall-package", wheel.name, str(wheel.path)], what="installing the project editable")
        if _adopt(options, planned, meta, wheel, report):
            return True
    uv.run(["pip", "install", "--python", planned.interpreter.executable, "--no-deps", *flags,
            "-e", str(options.project_dir), *options.index.uv_args()], what="installing the project editable")
    return True


def members_to_install(options: Options, planned: Planned) -> list[tuple[str, Path]]:
    """The workspace members this sync reached that are not installed editable from their folders yet.

    `uv sync` installs every workspace member the project requires, editable, so that the project's own
    requirement on it is met; `sync --editable` does too. Reached: by the spec expansion (a requirement
    on a member is replaced by the member's own) or by an index package that requires one. A member is a tree package with a pyproject.toml
    of its own folder (an in-tree provider.yaml is part of its package, not a distribution). A recipe with
    import roots holds no member's code, and its sources come later: no member is installed from it (a
    `--no-editable` recipe's `sync --editable` runs after the sources came, and installs them).
    """
    if not options.editable:
        return []
    manifest = recipe_manifest.read(options.project_dir)
    if manifest is not None and manifest.roots is not None:
        return []
    project_name = canonical_name(planned.specset.project_name) if planned.specset.project_name else None
    root = Path(options.project_dir).resolve()
    out: list[tuple[str, Path]] = []
    for lp in planned.specset.local_packages:
        if lp.name == project_name or (lp.name not in planned.specset.reached and lp.name not in planned.resolution.local):
            continue
        folder = (root / lp.path).resolve()
        if folder == root or not (folder / "pyproject.toml").is_file():
            continue
        dist = planned.installed.get(lp.name)
        if dist is not None and dist.editable_path and os.path.realpath(dist.editable_path) == str(folder) \
                and (lp.version is None or dist.version == lp.version):
            continue
        out.append((lp.name, folder))
    return sorted(out)


def install_members(options: Options, planned: Planned, report: Callable[[str], None],
                    uv: UvRunner = REAL_UV) -> list[tuple[str, Path]]:
    """Install the reached workspace members editable (one uv call, no dependencies: the sync installed them)."""
    members = members_to_install(options, planned)
    if not members:
        return []
    flags = ["--break-system-packages"] if options.break_system_packages else []
    editables_args = [arg for _, folder in members for arg in ("-e", str(folder))]
    uv.run(["pip", "install", "--python", planned.interpreter.executable, "--no-deps", *flags, *editables_args,
            *options.index.uv_args()], what="installing the workspace members editable")
    return members


def wheel_for(options: Options, planned: Planned, report: Callable[[str], None]) -> EditableWheel | None:
    """The project's editable wheel: the one spec collection's hook built, a kept one, or one built now.

    No new build environment and, with a kept wheel, no backend run at all (backends/editables.py).
    None when there is none to be had (no version, a backend without build_editable, a failed
    build): the caller lets uv install the project editable.
    """
    manifest = recipe_manifest.read(options.project_dir)
    if manifest is not None and manifest.roots is not None:
        return recipe_wheel(options, planned, manifest, report)
    if manifest is not None:
        report("this folder holds a recipe written with --no-editable (or by an older incrinstall): the project is "
               "installed editable by its backend, from the files here now")
    meta = planned.specset.project_metadata
    if meta is None or not meta.version:
        return None
    key = editables.wheel_key(options.project_dir, name=meta.name, version=meta.version, shape=meta.shape,
                              python_version=planned.interpreter.version)
    # The wheel spec collection's hook built from this tree, else one kept from an earlier tree of this shape.
    # The hook's answer is cached by content, not by folder: a wheel it built for another folder with the
    # same spec files (a baseline's unpacked archive) points there, and is no use here; nor is one built in a
    # recipe folder, whose answer stands for the same folder after the sources were copied over it.
    if meta.editable_wheel and os.path.isfile(meta.editable_wheel) and manifest is None \
            and _points_into(meta.editable_wheel, options.project_dir):
        path = editables.keep_wheel(key, meta.editable_wheel)
        return EditableWheel(meta.name, meta.version, path, "the wheel its backend built while the specs were collected")
    kept = editables.kept_wheel(key)
    if kept is not None:
        return EditableWheel(meta.name, meta.version, kept, "its kept wheel")
    try:
        with tempfile.TemporaryDirectory(prefix="incrinstall-editable-") as out:
            built = backend.build_editable(options.project_dir, out, python=planned.interpreter.executable,
                                           index=options.index)
            path = editables.keep_wheel(key, built)
    except (IncrinstallError, OSError) as exc:
        report(f"building the editable wheel failed ({exc}); letting uv install the project")
        return None
    return EditableWheel(meta.name, meta.version, path, "the wheel its backend just built (kept for next time)")


def recipe_wheel(options: Options, planned: Planned, manifest: recipe_manifest.Manifest,
                 report: Callable[[str], None]) -> EditableWheel:
    """A recipe folder's editable wheel: the backend's dist-info and a .pth of the manifest's roots; kept.

    SpecError, naming what to do instead, when the backend cannot build from the recipe: uv's own
    editable install of a recipe would import nothing once the sources are there.
    """
    assert manifest.roots is not None, "a recipe without roots is installed by its backend (wheel_for)"
    python_version = planned.interpreter.version
    project = os.path.realpath(options.project_dir)
    roots = [os.path.normpath(os.path.join(project, root)) for root in manifest.roots]
    key = editables.recipe_wheel_key(project, manifest.content_digest(project), roots, python_version)
    kept = editables.kept_wheel(key)
    if kept is not None:
        name, version = kept.name.split("-")[:2]
        return EditableWheel(canonical_name(name), version, kept, "its kept wheel (a .pth to the recipe's roots)",
                             from_recipe=True)
    meta = planned.specset.project_metadata
    built = meta.editable_wheel if meta is not None and meta.editable_wheel else None
    try:
        dist_info = editables.recipe_dist_info(project, manifest, python=planned.interpreter.executable,
                                               python_version=python_version, index=options.index, built=built)
    except import_roots.NoEditableFromRecipe as exc:
        raise SpecError(f"cannot make the project's editable install from this recipe: {exc.message}. "
                        f"{recipe_manifest.FALLBACK}", where=exc.where, detail=exc.detail) from None
    with tempfile.TemporaryDirectory(prefix="incrinstall-editable-") as out:
        made = pth_wheel.make(dist_info, roots, out)
        path = editables.keep_wheel(key, made.path)
    return EditableWheel(made.name, made.version, path, "a .pth to the recipe's roots and the backend's metadata",
                         from_recipe=True)


def _points_into(wheel: str, project_dir: str | os.PathLike[str]) -> bool:
    """Does every path the editable wheel names lie in `project_dir`?"""
    project = os.path.join(os.path.realpath(project_dir), "")
    return all(os.path.join(os.path.realpath(path), "").startswith(project)
               for path in import_roots.wheel_paths(wheel))


def _adopt(options: Options, planned: Planned, meta: ProjectMetadata | None, wheel: EditableWheel,
           report: Callable[[str], None]) -> bool:
    """After uv installed the wheel: say it is editable from this tree (direct_url.json), bring its METADATA up to date.

    A recipe's wheel holds the backend's METADATA for these very spec files: a refresh that finds more than
    the dependencies changed is no reason to replace it with an install that would import nothing.
    """
    dist_info = _installed_dist_info(planned.interpreter.site_dirs, wheel.path.name)
    if dist_info is None or not editable.mark_editable(dist_info, str(options.project_dir)):
        if wheel.from_recipe:
            raise InstallError(f"uv installed {wheel.path.name}, but its dist-info is not where it should be",
                               where=str(options.project_dir))
        report("the editable wheel's dist-info could not be brought up to date; letting uv install the project")
        return False
    if meta is not None and not editable.refresh(dist_info, meta) and not wheel.from_recipe:
        report("the editable wheel's dist-info could not be brought up to date; letting uv install the project")
        return False
    report(f"installed {wheel.name} editable from {wheel.source}, metadata brought up to date")
    return True


def _installed_dist_info(site_dirs: tuple[str, ...], wheel_filename: str) -> str | None:
    """The dist-info folder a wheel file installs (`{name}-{version}.dist-info`, from its file name)."""
    name, version = wheel_filename.split("-")[:2]
    for site in site_dirs:
        path = os.path.join(site, f"{name}-{version}.dist-info")
        if os.path.isdir(path):
            return path
    return None
