"""The source files a build backend must see to find a project's packages; an empty copy of each is enough.

A recipe holds the spec files, not the sources, yet some backends refuse to write the project's
metadata (or run at all) unless the packages they are configured with exist. `markers()` names,
per backend, the files of the full tree whose empty copies satisfy it; each is a file the sources
copied over the recipe later replace, so nothing stays behind that the tree does not have:

- hatchling: the package it detects by default (`NAME/__init__.py`, `src/NAME/__init__.py`,
  `NAME.py`, or one `*/NAME/__init__.py`), or each entry of `packages`; an explicit `include` /
  `only-include` selection needs none;
- poetry-core: each `[tool.poetry] packages` entry (`from` / `include`, first match of a glob), or
  the package named after the project (`NAME`, `NAME.py`, under the project or `src/`);
- flit-core: the module (`[tool.flit.module] name`, else the project's name), under the project or `src/`;
- setuptools: the top-level packages its editable install maps (import_roots.EditableLayout.packages)
  and, unless packages are discovered (`find:`, `[tool.setuptools.packages.find]`, automatic
  discovery), each of their subpackages: setuptools stops on a listed package folder that is missing;
- pdm-backend: the top-level packages of its package folder (`[tool.pdm.build] package-dir`, else `src/`
  when the tree has one, else the project folder): its editable build lists that folder;
- others: none.

A package folder's marker is its `__init__.py`, else (a namespace package) its first `.py` file.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incrinstall.backends.import_roots import EditableLayout


def build_backend(pyproject: dict[str, Any]) -> str:
    """The build-backend string ("" when pyproject.toml names none: setuptools' legacy default)."""
    system = pyproject.get("build-system")
    backend = system.get("build-backend") if isinstance(system, dict) else None
    return backend if isinstance(backend, str) else ""


def markers(project_dir: str | os.PathLike[str], pyproject: dict[str, Any], layout: EditableLayout | None) -> list[str]:
    """Relative POSIX paths of the files (in the full tree) whose empty copies let the backend find the packages."""
    project_dir = Path(project_dir)
    backend = build_backend(pyproject)
    if backend.startswith("hatchling"):
        found = _hatchling(project_dir, pyproject)
    elif backend.startswith("poetry.core"):
        found = _poetry(project_dir, pyproject)
    elif backend.startswith("flit_core"):
        found = _flit(project_dir, pyproject)
    elif backend.startswith("pdm.backend"):
        found = _pdm(project_dir, pyproject)
    elif backend.startswith("setuptools") or not backend:
        found = _setuptools(project_dir, pyproject, layout)
    else:
        found = []
    return sorted(set(found))


def _table(data: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _project_name(pyproject: dict[str, Any]) -> str | None:
    name = _table(pyproject, "project").get("name") or _table(pyproject, "tool", "poetry").get("name")
    return name if isinstance(name, str) else None


def _package_marker(project_dir: Path, rel: str) -> str | None:
    """The marker of a package folder or module file `rel`, or None when the tree has no such package."""
    path = project_dir / rel
    if path.is_file():
        return PurePosixPath(rel).as_posix() if rel.endswith(".py") else None
    if not path.is_dir():
        return None
    if (path / "__init__.py").is_file():
        return PurePosixPath(rel, "__init__.py").as_posix()
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                return Path(os.path.relpath(os.path.join(folder, name), project_dir)).as_posix()
    return None


def _first(project_dir: Path, candidates: list[str]) -> list[str]:
    for candidate in candidates:
        marker = _package_marker(project_dir, candidate)
        if marker is not None:
            return [marker]
    return []


def _hatchling(project_dir: Path, pyproject: dict[str, Any]) -> list[str]:
    build = _table(pyproject, "tool", "hatch", "build")
    wheel = _table(build, "targets", "wheel")
    packages = wheel.get("packages", build.get("packages"))
    if isinstance(packages, list):
        return [m for p in packages if isinstance(p, str) for m in _first(project_dir, [p])]
    if any(table.get(key) for table in (wheel, build) for key in ("include", "only-include")):
        return []  # an explicit file selection: hatchling builds (nothing) without the files
    name = _project_name(pyproject)
    if name is None:
        return []
    module = re.sub(r"[-_.]+", "_", name).lower()
    found = _first(project_dir, [f"{module}/__init__.py", f"src/{module}/__init__.py", f"{module}.py"])
    if found:
        return found
    namespaced = glob.glob(os.path.join(glob.escape(str(project_dir)), "*", module, "__init__.py"))
    if len(namespaced) == 1:
        return [Path(os.path.relpath(namespaced[0], project_dir)).as_posix()]
    return []


def _poetry(project_dir: Path, pyproject: dict[str, Any]) -> list[str]:
    packages = _table(pyproject, "tool", "poetry").get("packages")
    if not isinstance(packages, list):
        name = _project_name(pyproject)
        if name is None:
            return []
        module = re.sub(r"[-_.]+", "_", name).lower()
        return _first(project_dir, [module, f"{module}.py", f"src/{module}", f"src/{module}.py"])
    found: list[str] = []
    for entry in packages:
        if not isinstance(entry, dict) or not isinstance(entry.get("include"), str):
            continue
        formats = entry.get("format")
        if formats is not None and "wheel" not in ([formats] if isinstance(formats, str) else formats):
            continue  # an sdist-only entry: the wheel does not look for it
        given_base = entry.get("from")
        base = given_base if isinstance(given_base, str) else "."
        pattern = os.path.normpath(os.path.join(base, entry["include"]))
        if glob.has_magic(pattern):
            hits = sorted(glob.glob(pattern, root_dir=project_dir, recursive=True))
            found += _first(project_dir, [Path(h).as_posix() for h in hits[:1]])
        else:
            found += _first(project_dir, [Path(pattern).as_posix()])
    return found


def _flit(project_dir: Path, pyproject: dict[str, Any]) -> list[str]:
    name = _table(pyproject, "tool", "flit", "module").get("name")
    if not isinstance(name, str):
        name = _project_name(pyproject)
        if name is None:
            return []
        name = name.replace("-", "_")
    path = name.replace(".", "/")
    return _first(project_dir, [f"{path}/__init__.py", f"{path}.py", f"src/{path}/__init__.py", f"src/{path}.py"])


def _pdm(project_dir: Path, pyproject: dict[str, Any]) -> list[str]:
    package_dir = _table(pyproject, "tool", "pdm", "build").get("package-dir")
    if not isinstance(package_dir, str):
        package_dir = "src" if (project_dir / "src").is_dir() else "."
    root = project_dir / package_dir
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(os.listdir(root)):
        if (root / entry / "__init__.py").is_file():
            found.append(PurePosixPath(package_dir, entry, "__init__.py").as_posix().removeprefix("./"))
    return found


def _setuptools(project_dir: Path, pyproject: dict[str, Any], layout: EditableLayout | None) -> list[str]:
    if layout is None:
        return []
    found: list[str] = []
    subpackages = not _setuptools_discovers(project_dir, pyproject)
    for package in layout.packages:
        marker = _package_marker(project_dir, package)
        if marker is None:
            continue
        found.append(marker)
        if subpackages and (project_dir / package).is_dir():
            for folder, dirs, _ in os.walk(project_dir / package):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
                for sub in dirs:
                    rel = Path(os.path.relpath(os.path.join(folder, sub), project_dir)).as_posix()
                    sub_marker = _package_marker(project_dir, rel)
                    if sub_marker is not None and sub_marker.startswith(rel + "/") and "/" not in sub_marker[len(rel) + 1:]:
                        found.append(sub_marker)  # a folder with a module of its own: a (sub)package
    return found


def _setuptools_discovers(project_dir: Path, pyproject: dict[str, Any]) -> bool:
    """Does setuptools find the packages itself (then a recipe without them is no error)? False for setup.py."""
    if (project_dir / "setup.py").is_file():
        return False  # setup.py may list them: it cannot be read without running it
    packages = _table(pyproject, "tool", "setuptools").get("packages")
    if isinstance(packages, list):
        return False
    if isinstance(packages, dict):
        return True  # packages.find
    setup_cfg = project_dir / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(setup_cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return False
        value = parser.get("options", "packages", fallback="find:").strip()
        return value.startswith(("find:", "find_namespace:"))
    return True  # automatic discovery
