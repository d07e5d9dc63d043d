"""Where a project's importable code lives, as its own backend's editable install says: the folders a .pth can name.

A recipe holds no sources, so the backend cannot make its editable install from it: setuptools maps
the packages it finds (none), hatchling exposes the files it sees (none). `recipe` therefore asks
the backend on the full tree: it builds the project's editable wheel there (PEP 660
`build_editable`, in the cached build environment, recording the files the backend read) and
reads what that wheel would put on the import path:

- a `.pth` line naming a folder: an import root (flit-core, poetry-core, pdm-backend, hatchling,
  setuptools for a src layout);
- a `.pth` line importing a module of the wheel: setuptools' finder (`MAPPING`, `NAMESPACES`) or the
  `editables` redirector (`map_module(name, path)`: hatchling's dev-mode-exact, pdm-backend's
  editables mode). A package `name` mapped to the folder `ROOT/name` gives the root `ROOT`; one
  mapped to a folder of another name cannot be reached through sys.path, and is refused;
- anything else at the top of the wheel (a compiled extension, a data file) is refused: it could
  not come from the sources copied over the recipe later.

Every root must be inside the project. The answer is kept under a key of the backend's
configuration files, the names at the top of the tree and of `src/`, and the target Python, and
is used again while the files the backend read are unchanged (their digests are checked), so a
source edit runs no backend.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from incrinstall.backends import backend
from incrinstall.backends.build_env import env_python
from incrinstall.backends.hooks import HookNotProvided, run_backend_hook
from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import HookError, SpecError
from incrinstall.common.paths import cache_dir
from incrinstall.common.recipe_manifest import cache_tag
from incrinstall.common.uv import REAL_UV, UvRunner

if TYPE_CHECKING:
    from incrinstall.common.config import IndexConfig

FORMAT = 1
# The files a backend reads its configuration from, whether or not it opened them this time.
_CONFIG_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class NoEditableFromRecipe(SpecError):
    """The project's editable install cannot be made from a recipe: the backend's own reason, or why no .pth
    can reach the project's code."""


@dataclass(frozen=True)
class EditableLayout:
    """What the backend's editable install of the full tree puts on the import path."""

    roots: tuple[str, ...]  # folders relative to the project, POSIX, "." for the project folder; .pth order
    packages: tuple[str, ...]  # top-level packages / modules the backend names (setuptools), relative paths
    opened: tuple[str, ...] = ()  # project files the backend read while building the wheel


def editable_layout(project_dir: str | os.PathLike[str], *, python: str, index: IndexConfig | None,
                    uv: UvRunner = REAL_UV) -> EditableLayout:
    """The layout of the project's editable install, built by its backend on this (full) tree; kept by its inputs.

    NoEditableFromRecipe when the backend cannot build it or no .pth can reach the project's code; a
    build environment that cannot be made is the HookError it is.
    """
    project_dir = Path(project_dir).resolve()
    key = _layout_key(project_dir, python)
    kept = _kept_layout(key, project_dir)
    if kept is not None:
        return kept
    system = backend.read_build_system(project_dir, legacy_ok=True)
    env = backend.prepared_env(project_dir, system, "get_requires_for_build_editable", python=python, index=index,
                               uv=uv)
    with tempfile.TemporaryDirectory(prefix="incrinstall-layout-") as out:
        try:
            run = run_backend_hook(project_dir, "build_editable", args=[out], env_python=env_python(env),
                                   backend=system.backend, backend_path=system.backend_path, record_files=True)
        except HookNotProvided:
            raise NoEditableFromRecipe(f"the build backend {system.backend} has no build_editable hook (PEP 660), so "
                                       "incrinstall cannot see where the project's code lives",
                                       where="pyproject.toml") from None
        except HookError as exc:
            raise NoEditableFromRecipe(f"its backend cannot build the editable wheel of the full tree: {exc.message}",
                                       where=exc.where, detail=exc.detail) from None
        if not isinstance(run.result, str) or not run.result.endswith(".whl"):
            raise NoEditableFromRecipe("build_editable did not return a wheel file name", where="pyproject.toml")
        roots, packages = read_layout(Path(out) / run.result, project_dir)
    opened = sorted(rel for rel in run.opened_files if not is_build_output(rel))
    layout = EditableLayout(tuple(roots), tuple(packages), tuple(opened))
    _keep_layout(key, project_dir, layout)
    return layout


def is_build_output(relpath: str) -> bool:
    """A file a backend writes into the tree while it builds (setuptools' *.egg-info, pdm-backend's .pdm-build/)."""
    parts = PurePosixPath(relpath).parts
    return any(part.endswith(".egg-info") for part in parts) or (bool(parts) and parts[0] == ".pdm-build")


def top_names(folder: str | os.PathLike[str]) -> list[str]:
    """The names at the top of a folder that can be packages: what a backend that looks for them may find."""
    try:
        return sorted(name for name in os.listdir(folder)
                      if not name.startswith((".", "__pycache__")) and not name.endswith(".egg-info"))
    except OSError:
        return []


def read_layout(wheel: str | os.PathLike[str], project_dir: str | os.PathLike[str]) -> tuple[list[str], list[str]]:
    """(roots, packages) of an editable wheel built from `project_dir`; NoEditableFromRecipe when a .pth cannot
    reach the code."""
    project = os.path.realpath(project_dir)
    roots: list[str] = []
    packages: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        top = {n.split("/", 1)[0] for n in names}
        dist_infos = sorted(t for t in top if t.endswith(".dist-info"))
        pth_files = sorted(n for n in names if "/" not in n and n.endswith(".pth"))
        used = set(dist_infos) | set(pth_files)
        for pth in pth_files:
            for line in zf.read(pth).decode("utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if not line.startswith(("import ", "import\t")):
                    roots.append(_inside(project, line, what=f"{pth} names {line}"))
                    continue
                for module in _imported_modules(line, pth):
                    source = f"{module}.py"
                    if source not in names:
                        raise NoEditableFromRecipe(f"the backend's editable wheel runs `import {module}` from {pth}, a module it "
                                        "does not hold", where="pyproject.toml")
                    used.add(source)
                    for name, path in _mapped(zf.read(source).decode("utf-8"), source):
                        root, package = _root_of(project, name, path)
                        roots.append(root)
                        packages.append(package)
        others = sorted(t for t in top if t not in used and not t.startswith("."))
        if others:
            raise NoEditableFromRecipe("the backend's editable wheel installs files of its own, which the sources copied over the "
                            f"recipe cannot provide: {', '.join(others)}", where="pyproject.toml")
        for dist_info in dist_infos:  # setuptools names its top-level packages: they need markers in the recipe
            if f"{dist_info}/top_level.txt" in names:
                for name in zf.read(f"{dist_info}/top_level.txt").decode("utf-8").split():
                    packages += _found_under(project, roots, name)
    if not roots:
        raise NoEditableFromRecipe("the backend's editable wheel puts nothing on the import path (no package was found in the "
                        "tree)", where="pyproject.toml")
    return _unique(roots), sorted(set(packages))


def wheel_paths(wheel: str | os.PathLike[str]) -> list[str]:
    """Every absolute path an editable wheel's .pth files name, directly or through a finder it imports."""
    out: list[str] = []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for pth in sorted(n for n in names if "/" not in n and n.endswith(".pth")):
            for line in zf.read(pth).decode("utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if not line.startswith(("import ", "import\t")):
                    out.append(line)
                    continue
                for module in _imported_modules(line, pth):
                    if f"{module}.py" in names:
                        try:
                            out += [path for _, path in _mapped(zf.read(f"{module}.py").decode("utf-8"), module)]
                        except NoEditableFromRecipe:
                            continue  # an import hook we cannot read names no path we could check
    return out


def _imported_modules(line: str, pth: str) -> list[str]:
    try:
        tree = ast.parse(line)
    except SyntaxError:
        raise NoEditableFromRecipe(f"the backend's editable wheel has a .pth line that is not Python: {line}", where=pth) from None
    return [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]


def _mapped(source: str, where: str) -> list[tuple[str, str]]:
    """(module name, path) pairs an import hook maps: setuptools' MAPPING / NAMESPACES, editables' map_module()."""
    found: list[tuple[str, str]] = []
    recognised = False
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            label = next((t.id for t in targets if isinstance(t, ast.Name) and t.id in ("MAPPING", "NAMESPACES")), None)
            if label is None or node.value is None:
                continue
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            recognised = True
            for name, paths in dict(value).items():
                for path in [paths] if isinstance(paths, str) else list(paths):
                    found.append((str(name), str(path)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "map_module":
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if len(args) == 2:
                recognised = True
                found.append((args[0], args[1]))
    if not recognised:
        raise NoEditableFromRecipe(f"the backend's editable wheel installs an import hook ({where}) whose mapping incrinstall "
                        "cannot read", where="pyproject.toml")
    return found


def _root_of(project: str, name: str, path: str) -> tuple[str, str]:
    """The folder that must be on sys.path for `name` to import from `path`, and the package's own path."""
    full = os.path.realpath(path)
    if os.path.basename(full) == "__init__.py":
        full = os.path.dirname(full)
    parts = name.split(".")
    tail = [os.path.splitext(p)[0] if i == len(parts) - 1 else p for i, p in enumerate(full.split(os.sep)[-len(parts):])]
    if tail != parts:
        package = _inside(project, full, what=f"the package {name}")
        raise NoEditableFromRecipe(f"the backend maps the package {name} to {package}, a path of another name, which a .pth "
                        "cannot reach", where="pyproject.toml")
    root = full
    for _ in parts:
        root = os.path.dirname(root)
    return _inside(project, root, what=f"the package {name}"), _inside(project, full, what=f"the package {name}")


def _inside(project: str, path: str, *, what: str) -> str:
    """`path` relative to the project, POSIX; SpecError when it is not inside."""
    if not os.path.isabs(path):
        raise NoEditableFromRecipe(f"{what}: a path relative to site-packages, not a folder of the project", where="pyproject.toml")
    full = os.path.realpath(path)
    rel = os.path.relpath(full, project)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise NoEditableFromRecipe(f"{what}, outside the project folder {project}", where="pyproject.toml")
    return PurePosixPath(Path(rel)).as_posix()


def _found_under(project: str, roots: list[str], name: str) -> list[str]:
    for root in roots:
        for candidate in (f"{name}", f"{name}.py"):
            rel = os.path.normpath(os.path.join(root, candidate))
            if os.path.exists(os.path.join(project, rel)):
                return [PurePosixPath(Path(rel)).as_posix()]
    return []


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------- kept answers


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None




def _layout_key(project_dir: Path, python: str) -> str:
    material = [FORMAT, str(project_dir), python, {rel: _digest(project_dir / rel) for rel in _CONFIG_FILES},
                top_names(project_dir), top_names(project_dir / "src"), cache_tag(project_dir)]
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def _store() -> Path:
    return cache_dir() / "recipe-layouts"


def _kept_layout(key: str, project_dir: Path) -> EditableLayout | None:
    try:
        data = json.loads((_store() / f"{key}.json").read_text(encoding="utf-8"))
        digests = data["digests"]
        if any(_digest(project_dir / rel) != digest for rel, digest in digests.items()):
            return None
        layout = data["layout"]
        return EditableLayout(tuple(layout["roots"]), tuple(layout["packages"]), tuple(layout["opened"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _keep_layout(key: str, project_dir: Path, layout: EditableLayout) -> None:
    data = {"digests": {rel: _digest(project_dir / rel) for rel in layout.opened}, "layout": asdict(layout)}
    try:
        write_atomic(_store() / f"{key}.json", json.dumps(data, sort_keys=True))
    except OSError:
        pass  # only costs the next recipe a backend run
