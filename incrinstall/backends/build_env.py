"""Isolated build environments: a venv with a backend's requirements for one interpreter, made once with uv and
reused while the requirements, the interpreter and the index settings are the same."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from incrinstall.common.config import IndexConfig, index_config
from incrinstall.common.errors import HookError, InstallError, InterpreterError
from incrinstall.common.paths import cache_dir
from incrinstall.common.urls import redact
from incrinstall.common.uv import REAL_UV, UvRunner
from incrinstall.environment.interpreter import find_interpreter

COMPLETE_MARKER = ".incrinstall-complete"


def env_python(env: Path) -> Path:
    """The interpreter of a build environment."""
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _interpreter_identity(python: str) -> str:
    """Version and base install of `python`: two interpreters must never share a build env.

    From the target probe, which incrinstall caches on disk: no extra interpreter start.
    """
    try:
        interp = find_interpreter(python)
    except InterpreterError as exc:
        raise HookError(f"cannot run the build interpreter {python}: {exc.message}") from None
    return "\n".join([interp.version, interp.base_prefix, interp.markers.get("platform_machine", ""),
                      interp.markers.get("implementation_name", "")])


def _index_args(index: IndexConfig | None) -> list[str]:
    """The index settings as uv flags; no IndexConfig given: the ones uv's environment variables describe
    (uv itself no longer reads them). The project's build constraints bound the build environment's own
    install too, as uv bounds the environments it builds in."""
    config = index if index is not None else index_config()
    args = config.uv_args()
    if config.build_constraints:
        args += ["--constraint", config.build_constraints_file()]
    return args


def build_env_key(requires: list[str], *, python: str, index: IndexConfig | None) -> str:
    """The name of the build environment for these inputs (a password never reaches the hash)."""
    material = json.dumps(
        {"requires": sorted(set(requires)), "python": _interpreter_identity(python),
         "index": [redact(a) for a in _index_args(index)]},
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def build_env(requires: list[str], *, python: str, index: IndexConfig | None, where: str = "pyproject.toml",
              uv: UvRunner = REAL_UV) -> Path:
    """A venv with `requires` installed for `python`, created once and reused while the inputs are the same.

    Built in a temporary folder next to its final place and renamed into place
    only when complete, so a killed run or a concurrent one never leaves a
    half-made environment that looks usable. `uv` makes it (`uv venv`, `uv pip install`).
    """
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
        uv.run(["venv", "--quiet", "--python", python, str(venv)], cwd=root, what="uv venv (build environment)")
        if requires:
            uv.run(
                ["pip", "install", "--quiet", "--python", str(env_python(venv)), "--compile-bytecode",
                 *_index_args(index), *requires],
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
