"""Run a project's PEP 517/660 build-backend hooks in an isolated, reusable build environment."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.common.errors import HookError, InstallError, SpecError
from incrinstall.common.config import IndexConfig
from incrinstall.common.paths import cache_dir

COMPLETE_MARKER = ".incrinstall-complete"
OUTPUT_TAIL_LINES = 30
# PEP 517: a project without [build-system] is built by setuptools' legacy backend.
LEGACY_BUILD_SYSTEM = (["setuptools>=40.8.0"], "setuptools.build_meta:__legacy__", [])



def spec_file(project_dir: Path) -> str:
    """The file a backend error is about when no line is known: pyproject.toml, else setup.py, else setup.cfg."""
    for name in ("pyproject.toml", "setup.py", "setup.cfg"):
        if (project_dir / name).is_file():
            return name
    return "pyproject.toml"


class HookNotProvided(HookError):
    """The backend does not implement an optional hook (e.g. prepare_metadata_for_build_wheel)."""


@dataclass
class HookRun:
    """What one backend hook returned, what it printed, and (when asked) what it looked at in the project."""

    hook: str
    result: object
    output: str
    opened_files: list[str] = field(default_factory=list)  # files read (relpaths)
    listed_dirs: list[str] = field(default_factory=list)  # folders listed, existing or not ("." = the root)
    vcs: list[str] = field(default_factory=list)  # version-control tools it ran ("git", "hg")


@dataclass
class BackendMetadata:
    """The core metadata a backend wrote for the project, which hook wrote it, and what the backend looked at."""

    text: str  # METADATA
    hook: str  # "prepare_metadata_for_build_editable", "prepare_metadata_for_build_wheel", "build_editable", ...
    backend: str  # [build-system].build-backend (setuptools' legacy backend when none is declared)
    opened_files: list[str]
    listed_dirs: list[str]
    vcs: list[str]


@dataclass(frozen=True)
class BuildSystem:
    requires: list[str]
    backend: str
    backend_path: list[str]


# ---------------------------------------------------------------- build environments


def _env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _interpreter_identity(python: str) -> str:
    """Version and base install of `python`: two interpreters must never share a build env.

    From the target probe, which incrinstall caches on disk: no extra interpreter start.
    """
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.common.errors import InterpreterError

    try:
        interp = find_interpreter(python)
    except InterpreterError as exc:
        raise HookError(f"cannot run the build interpreter {python}: {exc.message}") from None
    return "\n".join([interp.version, interp.base_prefix, interp.markers.get("platform_machine", ""),
                      interp.markers.get("implementation_name", "")])


def _env_index() -> IndexConfig:
    """No IndexConfig given: the one uv's environment variables describe (uv itself no longer reads them)."""
    from incrinstall.common.config import index_config

    return index_config()


def _index_identity(index: IndexConfig | None) -> list[str]:
    from incrinstall.common.urls import redact

    index = index if index is not None else _env_index()
    return [redact(a) for a in index.uv_args()]  # a password must not even reach a hash


def build_env_key(requires: list[str], *, python: str, index: IndexConfig | None) -> str:
    material = json.dumps(
        {"requires": sorted(set(requires)), "python": _interpreter_identity(python), "index": _index_identity(index)},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def build_env(requires: list[str], *, python: str, index: IndexConfig | None, where: str = "pyproject.toml") -> Path:
    """A venv with `requires` installed for `python`, created once and reused while the inputs are the same.

    Built in a temporary folder next to its final place and renamed into place
    only when complete, so a killed run or a concurrent one never leaves a
    half-made environment that looks usable.
    """
    from incrinstall.common.uv import run_uv

    root = cache_dir() / "build-envs"
    env = root / build_env_key(requires, python=python, index=index)
    if (env / COMPLETE_MARKER).is_file():
        return env
    root.mkdir(parents=True, exist_ok=True)
    if env.exists():  # left by a crash before the marker was written
        shutil.rmtree(env, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        venv = tmp / "env"
        # cwd=root: uv must not discover the user's project (and its requires-python) from the cwd.
        run_uv(["venv", "--quiet", "--python", python, str(venv)], cwd=root, what="uv venv (build environment)")
        if requires:
            index_args = (index if index is not None else _env_index()).uv_args()
            run_uv(
                ["pip", "install", "--quiet", "--python", str(_env_python(venv)), "--compile-bytecode",
                 *index_args, *requires],
                cwd=root,
                what="uv pip install (build requirements)",
            )
        (venv / COMPLETE_MARKER).write_text(json.dumps({"requires": sorted(requires), "python": python}))
        try:
            os.rename(venv, env)
        except OSError:
            if not (env / COMPLETE_MARKER).is_file():  # not a lost race: a real failure
                raise
    except InstallError as exc:
        raise HookError(
            "cannot create the build environment for [build-system].requires "
            f"({', '.join(requires) or 'nothing'})",
            where=where,
            detail=exc.detail,
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return env


# ---------------------------------------------------------------- hooks


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


# The PEP 517/660 hooks; BuildBackendHookCaller has a method of each name.
HOOKS = frozenset({
    "get_requires_for_build_wheel", "prepare_metadata_for_build_wheel", "build_wheel",
    "get_requires_for_build_editable", "prepare_metadata_for_build_editable", "build_editable",
    "get_requires_for_build_sdist", "build_sdist",
})


@functools.cache
def _pyproject_hooks():
    """pyproject_hooks, imported on first use: only a hook that really runs pays for it (never the no-op path)."""
    import warnings

    import pyproject_hooks

    # It re-emits the backend's UserWarnings in our process; a hook's chatter never reached the terminal before.
    category = getattr(pyproject_hooks, "BuildBackendWarning", None)  # 1.1+
    if category is not None:
        warnings.filterwarnings("ignore", category=category)
    return pyproject_hooks


def _hook_caller(project_dir: Path, backend: str, backend_path: list[str], *, python: str | Path | None = None,
                 runner=None):
    """pyproject_hooks' caller for the project; a backend-path outside the tree is the project's error."""
    pyproject_hooks = _pyproject_hooks()
    try:
        return pyproject_hooks.BuildBackendHookCaller(
            str(project_dir), backend, backend_path=backend_path or None, runner=runner,
            python_executable=str(python) if python else None,
        )
    except ValueError as exc:  # pyproject_hooks: "paths must be relative" / "paths must be inside source tree"
        raise SpecError(f"[build-system].backend-path {backend_path!r}: {exc}", where="pyproject.toml") from None


def run_backend_hook(
    project_dir: str | Path,
    hook: str,
    *,
    env_python: str | Path,
    backend: str,
    backend_path: list[str] | None = None,
    args: list | None = None,
    config_settings: dict | None = None,
    record_files: bool = False,
    exclude: list[str | Path] = (),
    fallback: bool = False,
) -> HookRun:
    """Call `backend.hook(*args, config_settings)` through pyproject_hooks, in the build env's interpreter.

    With `record_files`, the files under project_dir that the backend opened for
    reading are returned relative to project_dir (sources of cached bytecode
    count as their .py; `exclude` folders and the build env never count).
    `fallback`: a prepare_metadata_* hook the backend lacks is answered by building
    the wheel (pyproject_hooks' fallback); without it, the call raises HookNotProvided.
    """
    from incrinstall.backends.runner import RecordingRunner

    if hook not in HOOKS:
        raise ValueError(f"not a PEP 517/660 hook: {hook}")
    pyproject_hooks = _pyproject_hooks()
    project_dir = Path(project_dir).resolve()
    where = spec_file(project_dir)
    extra = {"_allow_fallback": fallback} if hook.startswith("prepare_metadata_") else {}
    with tempfile.TemporaryDirectory(prefix="incrinstall-hook-") as work:
        runner = RecordingRunner(project_dir, Path(work), record_files=record_files, exclude=exclude)
        caller = _hook_caller(project_dir, backend, list(backend_path or []), python=env_python, runner=runner)
        try:
            result = getattr(caller, hook)(*(args or []), config_settings=config_settings, **extra)
        except pyproject_hooks.HookMissing as exc:
            raise HookNotProvided(f"the build backend {backend} has no hook {exc.hook_name or hook}",
                                  where=where) from None
        except pyproject_hooks.UnsupportedOperation as exc:
            raise HookNotProvided(f"the build backend {backend} does not support {hook}", where=where,
                                  detail=_tail(exc.traceback)) from None
        except (pyproject_hooks.BackendUnavailable, pyproject_hooks.BackendInvalid) as exc:  # one class since 1.1
            detail = getattr(exc, "traceback", "") or runner.output
            raise HookError(f"cannot import the build backend {backend}: {_import_failure(exc)}",
                            where=where, detail=_tail(detail)) from None
        except subprocess.CalledProcessError as exc:
            error = runner.report.get("error") or f"the hook process died (exit {exc.returncode})"
            raise HookError(f"the build backend failed in {hook}: {error}",
                            where=runner.report.get("where") or where, detail=_tail(runner.output)) from None
        except (OSError, ValueError) as exc:  # no interpreter, or no readable answer in the control folder
            raise HookError(f"the build backend failed in {hook}: {exc}", where=where,
                            detail=_tail(runner.output)) from None
    opened = [p for p in runner.report.get("opened", []) if (project_dir / p).is_file()]
    return HookRun(hook=hook, result=result, output=runner.output, opened_files=opened,
                   listed_dirs=list(runner.report.get("listed", [])), vcs=list(runner.report.get("vcs", [])))


def _import_failure(exc: Exception) -> str:
    """One line on why the backend did not import: the traceback's last line, else the message."""
    traceback = (getattr(exc, "traceback", None) or "").strip()
    if traceback:
        return traceback.splitlines()[-1]
    message = (getattr(exc, "message", None) or str(exc)).strip()
    return message.splitlines()[0] if message else type(exc).__name__


# ---------------------------------------------------------------- metadata


def read_build_system(project_dir: Path, *, legacy_ok: bool) -> BuildSystem:
    """[build-system] of the project's pyproject.toml; setuptools' legacy default only when `legacy_ok`."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    pyproject = project_dir / "pyproject.toml"
    data: dict = {}
    if pyproject.is_file():
        try:
            data = tomlkit.parse(pyproject.read_text(encoding="utf-8")).unwrap()
        except ParseError as exc:
            raise SpecError(f"invalid TOML: {exc}", where=f"pyproject.toml:{getattr(exc, 'line', 1)}") from None
    table = data.get("build-system")
    if not table or "build-backend" not in table:
        if legacy_ok:
            requires, backend, backend_path = LEGACY_BUILD_SYSTEM
            return BuildSystem(list(table.get("requires", requires)) if table else requires, backend, backend_path)
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


def _prepared_env(project_dir: Path, system: BuildSystem, requires_hook: str, *, python: str,
                  index: IndexConfig | None) -> Path:
    """Build env with [build-system].requires plus what the backend asks for in `requires_hook`."""
    _hook_caller(project_dir, system.backend, system.backend_path)  # a bad backend-path fails before uv runs
    where = spec_file(project_dir)
    env = build_env(system.requires, python=python, index=index, where=where)
    # Not keyed by the folder: the answer is the backend's, from the files it read (their digests are checked),
    # so a baseline's unpacked archive and the checkout share it.
    key = hashlib.sha256(json.dumps([env.name, system.backend, system.backend_path, requires_hook]).encode()).hexdigest()
    more = _known_build_requires(key, project_dir)
    if more is None:
        # pyproject_hooks answers [] for a backend without the hook.
        run = run_backend_hook(project_dir, requires_hook, env_python=_env_python(env), backend=system.backend,
                               backend_path=system.backend_path, record_files=True)
        more = [str(r) for r in run.result or []]
        _remember_build_requires(key, project_dir, run.opened_files, more)
    extra = sorted(set(more) - set(system.requires))
    if extra:
        env = build_env([*system.requires, *extra], python=python, index=index, where=where)
    return env


# The answer of get_requires_for_build_*, kept with the digests of the files the hook read: the
# backend is a process start and an import of its own, and the answer changes only with them.


def _files_digest(project_dir: Path, files: list[str]) -> str | None:
    """The files' contents; pyproject.toml's by its shape, since a dependency bump does not change the answer."""
    from incrinstall.common.shape import pyproject_shape
    from incrinstall.common.tomlfile import read_toml

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
    from incrinstall.common.atomic import write_atomic

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
                      build: bool = False, keep_wheel: Path | None = None) -> BackendMetadata:
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
    env = _prepared_env(project_dir, system, "get_requires_for_build_editable", python=python, index=index)
    common = dict(env_python=_env_python(env), backend=system.backend, backend_path=system.backend_path,
                  record_files=True)
    where = spec_file(project_dir)

    def answer(run: HookRun, text: str) -> BackendMetadata:
        return BackendMetadata(text, run.hook, system.backend, run.opened_files, run.listed_dirs, run.vcs)

    with tempfile.TemporaryDirectory(prefix="incrinstall-editable-") as out:
        if not build:
            for hook in ("prepare_metadata_for_build_editable", "prepare_metadata_for_build_wheel"):
                try:
                    run = run_backend_hook(project_dir, hook, args=[out], **common)
                except HookNotProvided:
                    continue
                if not isinstance(run.result, str):
                    raise HookError(f"{hook} did not return a .dist-info folder name", where=where,
                                    detail=_tail(run.output))
                return answer(run, (Path(out) / run.result / "METADATA").read_text(encoding="utf-8"))
        for hook in ("build_editable", "build_wheel"):
            try:
                run = run_backend_hook(project_dir, hook, args=[out], **common)
            except HookNotProvided:  # a backend without PEP 660 (setuptools < 64) builds a plain wheel
                continue
            break
        if not isinstance(run.result, str):
            raise HookError(f"{run.hook} did not return a wheel file name", where=where, detail=_tail(run.output))
        metadata = _metadata_from_wheel(Path(out) / run.result)
        if keep_wheel is not None and run.hook == "build_editable":
            import shutil

            keep_wheel.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(out) / run.result, keep_wheel / run.result)
    return answer(run, metadata)


def _unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack an sdist from an index (untrusted) with the archive checks; return the project folder."""
    from incrinstall.common.unpack import unpack

    if not sdist.name.endswith((".tar.gz", ".tgz", ".tar", ".zip")):
        raise SpecError("not a source distribution (.tar.gz or .zip expected)", where=sdist.name)
    into.mkdir(parents=True, exist_ok=True)
    unpack(sdist, into, display=sdist.name, max_size=_SDIST_MAX_SIZE)
    tops = [p for p in into.iterdir() if p.is_dir() and not p.is_symlink()]
    if len(tops) == 1 and not (into / "pyproject.toml").exists() and not (into / "setup.py").exists():
        return tops[0]
    return into


_SDIST_MAX_SIZE = 1024**3  # unpacked; an sdist beyond this is an attack or a mistake


def sdist_metadata(sdist_path: str | Path, *, python: str, index: IndexConfig | None) -> str:
    """METADATA for an sdist without static metadata: prepare_metadata_for_build_wheel, else build_wheel."""
    sdist_path = Path(sdist_path)
    with tempfile.TemporaryDirectory(prefix="incrinstall-sdist-") as work:
        project = _unpack_sdist(sdist_path, Path(work) / "src")
        system = read_build_system(project, legacy_ok=True)
        env = _prepared_env(project, system, "get_requires_for_build_wheel", python=python, index=index)
        out = Path(work) / "out"
        out.mkdir()
        common = dict(env_python=_env_python(env), backend=system.backend, backend_path=system.backend_path)
        try:
            # fallback: a backend without the metadata hook builds the wheel; pyproject_hooks unpacks its .dist-info.
            run = run_backend_hook(project, "prepare_metadata_for_build_wheel", args=[str(out)], fallback=True,
                                   **common)
        except HookError as exc:
            raise HookError(exc.message, where=f"{sdist_path.name}: {exc.where}", detail=exc.detail) from None
        return (out / str(run.result) / "METADATA").read_text(encoding="utf-8")


def build_editable(project_dir: str | Path, out_dir: str | Path, *, python: str, index: IndexConfig | None) -> Path:
    """Build the project's editable wheel (PEP 660) into `out_dir` with its backend; the wheel's path.

    The same cached build environment as editable_metadata(), so no new environment is made.
    HookNotProvided when the backend has no build_editable (setuptools before 64).
    """
    project_dir = Path(project_dir).resolve()
    system = read_build_system(project_dir, legacy_ok=True)
    env = _prepared_env(project_dir, system, "get_requires_for_build_editable", python=python, index=index)
    run = run_backend_hook(project_dir, "build_editable", args=[str(out_dir)], env_python=_env_python(env),
                           backend=system.backend, backend_path=system.backend_path)
    if not isinstance(run.result, str) or not run.result.endswith(".whl"):
        raise HookError("build_editable did not return a wheel file name", where="pyproject.toml",
                        detail=_tail(run.output))
    return Path(out_dir) / run.result
