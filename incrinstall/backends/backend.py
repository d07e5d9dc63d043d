"""A project's build backend as incrinstall asks it: its [build-system], then its metadata (of the editable install,
of an sdist) or its editable wheel, each in the cached build environment of build_env.py through hooks.py."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from incrinstall.backends.build_env import build_env, env_python
from incrinstall.backends.hooks import HookName, HookNotProvided, HookRun, hook_caller, run_backend_hook, spec_file, tail
from incrinstall.common.atomic import write_atomic
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import HookError, SpecError
from incrinstall.common.paths import cache_dir
from incrinstall.common.shape import pyproject_shape
from incrinstall.common.tomlfile import parse_toml, read_text, read_toml
from incrinstall.common.unpack import unpack
from incrinstall.common.uv import REAL_UV, UvRunner

# PEP 517: a project without [build-system] is built by setuptools' legacy backend.
LEGACY_REQUIRES = ["setuptools>=40.8.0"]
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
_SDIST_MAX_SIZE = 1024**3  # unpacked; an sdist beyond this is an attack or a mistake


@dataclass
class BackendMetadata:
    """The core metadata a backend wrote for the project, which hook wrote it, and what the backend looked at."""

    text: str  # METADATA
    hook: HookName  # "prepare_metadata_for_build_editable", "prepare_metadata_for_build_wheel", "build_editable", ...
    backend: str  # [build-system].build-backend (setuptools' legacy backend when none is declared)
    opened_files: list[str]
    listed_dirs: list[str]
    vcs: list[str]


@dataclass(frozen=True)
class BuildSystem:
    requires: list[str]
    backend: str
    backend_path: list[str]


def read_build_system(project_dir: Path, *, legacy_ok: bool) -> BuildSystem:
    """[build-system] of the project's pyproject.toml; setuptools' legacy default only when `legacy_ok`."""
    pyproject = project_dir / "pyproject.toml"
    data = parse_toml(read_text(pyproject, pyproject.name), pyproject.name) if pyproject.is_file() else {}
    table = data.get("build-system")
    if not isinstance(table, dict) or "build-backend" not in table:
        if legacy_ok:
            requires = table.get("requires", LEGACY_REQUIRES) if isinstance(table, dict) else LEGACY_REQUIRES
            return BuildSystem(list(requires), LEGACY_BACKEND, [])
        raise SpecError(
            "dynamic metadata (version or dependencies) needs a [build-system] with requires and build-backend "
            "to compute it",
            where="pyproject.toml",
        )
    requires = table.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise SpecError("[build-system].requires must be a list of strings", where="pyproject.toml")
    backend_path = table.get("backend-path", [])
    # Only the type is checked here; pyproject_hooks checks that each entry stays inside the tree.
    if not isinstance(backend_path, list) or not all(isinstance(p, str) for p in backend_path):
        raise SpecError("[build-system].backend-path must be a list of strings", where="pyproject.toml")
    return BuildSystem(list(requires), str(table["build-backend"]), list(backend_path))


RequiresHook = Literal["get_requires_for_build_wheel", "get_requires_for_build_editable"]


def prepared_env(project_dir: Path, system: BuildSystem, requires_hook: RequiresHook, *, python: str,
                 index: IndexConfig | None, uv: UvRunner = REAL_UV) -> Path:
    """Build env with [build-system].requires plus what the backend asks for in `requires_hook`."""
    hook_caller(project_dir, system.backend, system.backend_path)  # a bad backend-path fails before uv runs
    where = spec_file(project_dir)
    env = build_env(system.requires, python=python, index=index, where=where, uv=uv)
    # Not keyed by the folder: the answer is the backend's, from the files it read (their digests are checked),
    # so a baseline's unpacked archive and the checkout share it.
    key = hashlib.sha256(json.dumps([env.name, system.backend, system.backend_path, requires_hook]).encode()).hexdigest()
    more = _known_build_requires(key, project_dir)
    if more is None:
        # pyproject_hooks answers [] for a backend without the hook.
        run = run_backend_hook(project_dir, requires_hook, env_python=env_python(env), backend=system.backend,
                               backend_path=system.backend_path, record_files=True)
        more = [str(r) for r in run.result] if isinstance(run.result, (list, tuple)) else []
        _remember_build_requires(key, project_dir, run.opened_files, more)
    extra = sorted(set(more) - set(system.requires))
    if extra:
        env = build_env([*system.requires, *extra], python=python, index=index, where=where, uv=uv)
    return env


# The answer of get_requires_for_build_*, kept with the digests of the files the hook read: the
# backend is a process start and an import of its own, and the answer changes only with them.


def _files_digest(project_dir: Path, files: list[str]) -> str | None:
    """The files' contents; pyproject.toml's by its shape, since a dependency bump does not change the answer."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        try:
            if rel == "pyproject.toml":
                data = pyproject_shape(read_toml(project_dir / rel)).encode()
            else:
                data = (project_dir / rel).read_bytes()
        except (OSError, ValueError):
            return None
        digest.update(rel.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def _known_build_requires(key: str, project_dir: Path) -> list[str] | None:
    try:
        data = json.loads((cache_dir() / "build-requires" / f"{key}.json").read_text(encoding="utf-8"))
        files, requires, recorded = list(data["files"]), list(data["requires"]), data["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(r, str) for r in requires) or _files_digest(project_dir, files) != recorded:
        return None
    return requires


def _remember_build_requires(key: str, project_dir: Path, files: list[str], requires: list[str]) -> None:
    files = sorted(set(files) | {"pyproject.toml"})
    digest = _files_digest(project_dir, files)
    if digest is None:
        return
    try:
        write_atomic(cache_dir() / "build-requires" / f"{key}.json",
                     json.dumps({"files": files, "digest": digest, "requires": requires}))
    except OSError:
        pass  # only costs the next run the hook


def _metadata_from_wheel(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise HookError(f"the built wheel {wheel.name} has no .dist-info/METADATA", where="pyproject.toml")
        return zf.read(names[0]).decode("utf-8")


def editable_metadata(project_dir: str | Path, *, python: str, index: IndexConfig | None,
                      build: bool = False, keep_wheel: Path | None = None, uv: UvRunner = REAL_UV) -> BackendMetadata:
    """The METADATA of the project's editable install as its own backend writes it, and what the backend looked at.

    As pip and uv ask: prepare_metadata_for_build_editable (PEP 660), else
    prepare_metadata_for_build_wheel, else a real build (build_editable, else build_wheel).
    With `build`, the editable wheel is built straight away: hatchling runs custom build hooks
    (the ones that set dependencies in initialize()) only when it builds a wheel. A project
    without [build-system] is built by setuptools' legacy backend (PEP 517). `keep_wheel`: a
    folder to copy a built editable wheel into (under its own name), so that the sync installs
    this very wheel rather than have it built again.
    """
    project_dir = Path(project_dir).resolve()
    system = read_build_system(project_dir, legacy_ok=True)
    env = prepared_env(project_dir, system, "get_requires_for_build_editable", python=python, index=index, uv=uv)
    where = spec_file(project_dir)

    def run(hook: HookName, out: str) -> HookRun:
        return run_backend_hook(project_dir, hook, args=[out], env_python=env_python(env), backend=system.backend,
                                backend_path=system.backend_path, record_files=True)

    def answer(run: HookRun, text: str) -> BackendMetadata:
        return BackendMetadata(text, run.hook, system.backend, run.opened_files, run.listed_dirs, run.vcs)

    prepare_hooks: tuple[HookName, ...] = ("prepare_metadata_for_build_editable", "prepare_metadata_for_build_wheel")
    build_hooks: tuple[HookName, ...] = ("build_editable", "build_wheel")
    with tempfile.TemporaryDirectory(prefix="incrinstall-editable-") as out:
        if not build:
            for hook in prepare_hooks:
                try:
                    prepared = run(hook, out)
                except HookNotProvided:
                    continue
                if not isinstance(prepared.result, str):
                    raise HookError(f"{hook} did not return a .dist-info folder name", where=where,
                                    detail=tail(prepared.output))
                return answer(prepared, (Path(out) / prepared.result / "METADATA").read_text(encoding="utf-8"))
        for hook in build_hooks:
            try:
                built = run(hook, out)
            except HookNotProvided:  # a backend without PEP 660 (setuptools < 64) builds a plain wheel
                if hook == build_hooks[-1]:
                    raise
                continue
            break
        if not isinstance(built.result, str):
            raise HookError(f"{built.hook} did not return a wheel file name", where=where, detail=tail(built.output))
        metadata = _metadata_from_wheel(Path(out) / built.result)
        if keep_wheel is not None and built.hook == "build_editable":
            keep_wheel.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(out) / built.result, keep_wheel / built.result)
    return answer(built, metadata)


def _unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack an sdist from an index (untrusted) with the archive checks; return the project folder."""
    if not sdist.name.endswith((".tar.gz", ".tgz", ".tar", ".zip")):
        raise SpecError("not a source distribution (.tar.gz or .zip expected)", where=sdist.name)
    into.mkdir(parents=True, exist_ok=True)
    unpack(sdist, into, display=sdist.name, max_size=_SDIST_MAX_SIZE)
    tops = [p for p in into.iterdir() if p.is_dir() and not p.is_symlink()]
    if len(tops) == 1 and not (into / "pyproject.toml").exists() and not (into / "setup.py").exists():
        return tops[0]
    return into


def sdist_metadata(sdist_path: str | Path, *, python: str, index: IndexConfig | None, uv: UvRunner = REAL_UV) -> str:
    """METADATA for an sdist without static metadata: prepare_metadata_for_build_wheel, else build_wheel."""
    sdist_path = Path(sdist_path)
    with tempfile.TemporaryDirectory(prefix="incrinstall-sdist-") as work:
        project = _unpack_sdist(sdist_path, Path(work) / "src")
        system = read_build_system(project, legacy_ok=True)
        env = prepared_env(project, system, "get_requires_for_build_wheel", python=python, index=index, uv=uv)
        out = Path(work) / "out"
        out.mkdir()
        try:
            # fallback: a backend without the metadata hook builds the wheel; pyproject_hooks unpacks its .dist-info.
            run = run_backend_hook(project, "prepare_metadata_for_build_wheel", args=[str(out)], fallback=True,
                                   env_python=env_python(env), backend=system.backend,
                                   backend_path=system.backend_path)
        except HookError as exc:
            raise HookError(exc.message, where=f"{sdist_path.name}: {exc.where}", detail=exc.detail) from None
        return (out / str(run.result) / "METADATA").read_text(encoding="utf-8")


def build_editable(project_dir: str | Path, out_dir: str | Path, *, python: str, index: IndexConfig | None,
                   uv: UvRunner = REAL_UV) -> Path:
    """Build the project's editable wheel (PEP 660) into `out_dir` with its backend; the wheel's path.

    The same cached build environment as editable_metadata(), so no new environment is made.
    HookNotProvided when the backend has no build_editable (setuptools before 64).
    """
    project_dir = Path(project_dir).resolve()
    system = read_build_system(project_dir, legacy_ok=True)
    env = prepared_env(project_dir, system, "get_requires_for_build_editable", python=python, index=index, uv=uv)
    run = run_backend_hook(project_dir, "build_editable", args=[str(out_dir)], env_python=env_python(env),
                           backend=system.backend, backend_path=system.backend_path)
    if not isinstance(run.result, str) or not run.result.endswith(".whl"):
        raise HookError("build_editable did not return a wheel file name", where="pyproject.toml",
                        detail=tail(run.output))
    return Path(out_dir) / run.result
