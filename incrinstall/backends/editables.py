"""The project's editable wheels, built by its backend in incrinstall's build environment and kept.

An editable install is a tiny wheel (a .pth file or an import hook pointing at the tree, and a
dist-info). Asking uv to install the project editable runs the backend again in a new build
environment every time, which is most of a one-package bump. Here the wheel is built once,
through the same cached build environment that spec collection uses, and kept under a key of
everything it is built from apart from the dependencies:

- the project folder (the wheel names it),
- the target's Python version (the backend runs under it),
- the project's name, version and "shape" (pyproject.toml without its dependency tables:
  build system, entry points, package layout settings; common/shape.py),
- the names at the top of the tree and of its `src/` folder: a backend that maps packages at build
  time (setuptools' editable finder) would not see a package added since.

A kept wheel whose dependencies are out of date is still the right wheel: the installer rewrites
its METADATA's Requires-Dist after installing it (install/editable.py), exactly as it does for an
editable install whose dependencies changed in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.backends import backend
from incrinstall.backends.build_env import build_env, env_python
from incrinstall.backends.hooks import HookNotProvided, run_backend_hook
from incrinstall.backends.import_roots import NoEditableFromRecipe, top_names
from incrinstall.common.errors import HookError
from incrinstall.common.paths import cache_dir
from incrinstall.common.recipe_manifest import NAME as MANIFEST
from incrinstall.common.uv import REAL_UV, UvRunner

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig
    from incrinstall.common.recipe_manifest import Manifest

_KEEP = 32  # wheels kept (a few kilobytes each); the least recently used go first


def _store() -> Path:
    return cache_dir() / "editables"


def wheel_key(project_dir: str | os.PathLike[str], *, name: str, version: str | None, shape: str, python_version: str) -> str:
    root = os.path.realpath(project_dir)
    material = [2, root, name, version, shape, ".".join(python_version.split(".")[:2]),
                top_names(root), top_names(os.path.join(root, "src"))]
    return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()


def recipe_wheel_key(project_dir: str | os.PathLike[str], content_digest: str, roots: list[str], python_version: str) -> str:
    """The key of a recipe's .pth wheel: the folder it is installed from, the recipe's content, the roots, the Python."""
    material = ["recipe-pth", 1, os.path.realpath(project_dir), content_digest, roots,
                ".".join(python_version.split(".")[:2])]
    return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()


def kept_wheel(key: str) -> Path | None:
    """The wheel kept under `key`, or None."""
    folder = _store() / key
    try:
        wheels = [entry.path for entry in os.scandir(folder) if entry.name.endswith(".whl")]
    except OSError:
        return None
    if len(wheels) != 1:
        return None
    os.utime(folder)  # recently used: kept longest
    return Path(wheels[0])


def keep_wheel(key: str, wheel: str | os.PathLike[str]) -> Path:
    """Copy `wheel` into the store under `key` (whole or not at all); its path there."""
    store = _store()
    store.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=store))
    shutil.copy2(wheel, staging / Path(wheel).name)
    final = store / key
    shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(staging, final)
    except OSError:  # another process kept the same wheel first: theirs is as good
        shutil.rmtree(staging, ignore_errors=True)
    _prune(store)
    return final / Path(wheel).name


def _prune(store: Path) -> None:
    try:
        folders = sorted((e for e in os.scandir(store) if e.is_dir() and not e.name.startswith(".")),
                         key=lambda e: e.stat().st_mtime, reverse=True)
    except OSError:
        return
    for entry in folders[_KEEP:]:
        shutil.rmtree(entry.path, ignore_errors=True)


def recipe_dist_info(recipe_dir: str | os.PathLike[str], manifest: Manifest, *, python: str, python_version: str,
                     index: IndexConfig | None, built: str | os.PathLike[str] | None = None,
                     uv: UvRunner = REAL_UV) -> Path:
    """A wheel holding the backend's own dist-info for the recipe in `recipe_dir`: kept, else `built`, else built now.

    `built`: an editable wheel the backend already built from these spec files (spec collection's
    hook wheel); only its dist-info is used, so where it was built does not matter. A new build runs
    on a copy of the recipe (the files and the empty placeholders the manifest lists), so the backend
    sees exactly the recipe and writes nothing into `recipe_dir`. NoEditableFromRecipe when the
    backend cannot build from the recipe; a build environment that cannot be made is the HookError it is.
    """
    key = hashlib.sha256(json.dumps(["recipe-dist-info", 1, manifest.content_digest(recipe_dir),
                                     ".".join(python_version.split(".")[:2])]).encode("utf-8")).hexdigest()
    kept = kept_wheel(key)
    if kept is not None:
        return kept
    if built is not None and os.path.isfile(built):
        return keep_wheel(key, built)
    with tempfile.TemporaryDirectory(prefix="incrinstall-recipe-build-") as work:
        copy = Path(work) / "recipe"
        copy.mkdir()
        for rel in manifest.files:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(recipe_dir) / rel, copy / rel)
        for rel in manifest.placeholders:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).write_bytes(b"")
        shutil.copyfile(Path(recipe_dir) / MANIFEST, copy / MANIFEST)
        out = Path(work) / "out"
        out.mkdir()
        system = backend.read_build_system(copy, legacy_ok=True)
        build_env(system.requires, python=python, index=index, uv=uv)  # one that cannot be made is no recipe's fault
        try:
            # From here on the backend runs on the recipe (its get_requires hook too, which runs setup.py).
            env = backend.prepared_env(copy, system, "get_requires_for_build_editable", python=python, index=index,
                                       uv=uv)
            run = run_backend_hook(copy, "build_editable", args=[str(out)], env_python=env_python(env),
                                   backend=system.backend, backend_path=system.backend_path)
        except HookNotProvided:
            raise NoEditableFromRecipe(f"the build backend {system.backend} has no build_editable hook (PEP 660)",
                                       where="pyproject.toml") from None
        except HookError as exc:
            raise NoEditableFromRecipe(f"its backend cannot build from the recipe alone: {exc.message}",
                                       where=exc.where, detail=exc.detail) from None
        if not isinstance(run.result, str) or not run.result.endswith(".whl"):
            raise NoEditableFromRecipe("build_editable did not return a wheel file name", where="pyproject.toml")
        return keep_wheel(key, out / run.result)
