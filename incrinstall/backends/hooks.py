"""Call one PEP 517/660 hook of a project's build backend through pyproject_hooks, in a build environment's
interpreter, and report what it returned, printed and looked at (runner.py records that)."""

from __future__ import annotations

import functools
import subprocess
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, get_args

from incrinstall.backends.runner import RecordingRunner
from incrinstall.common.errors import HookError, SpecError

if TYPE_CHECKING:
    from pyproject_hooks import BuildBackendHookCaller

OUTPUT_TAIL_LINES = 30

# The PEP 517/660 hooks; pyproject_hooks' BuildBackendHookCaller has a method of each name.
HookName = Literal[
    "get_requires_for_build_wheel", "prepare_metadata_for_build_wheel", "build_wheel",
    "get_requires_for_build_editable", "prepare_metadata_for_build_editable", "build_editable",
    "get_requires_for_build_sdist", "build_sdist",
]
HOOKS: frozenset[str] = frozenset(get_args(HookName))


class HookNotProvided(HookError):
    """The backend does not implement an optional hook (e.g. prepare_metadata_for_build_wheel)."""


@dataclass
class HookRun:
    """What one backend hook returned, what it printed, and (when asked) what it looked at in the project."""

    hook: HookName
    result: object  # what the backend returned (a file name, a list of requirements), for the caller to check
    output: str
    opened_files: list[str] = field(default_factory=list)  # files read (relpaths)
    listed_dirs: list[str] = field(default_factory=list)  # folders listed, existing or not ("." = the root)
    vcs: list[str] = field(default_factory=list)  # version-control tools it ran ("git", "hg")


def spec_file(project_dir: Path) -> str:
    """The file a backend error is about when no line is known: pyproject.toml, else setup.py, else setup.cfg."""
    for name in ("pyproject.toml", "setup.py", "setup.cfg"):
        if (project_dir / name).is_file():
            return name
    return "pyproject.toml"


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last `lines` lines of a hook's output: where its traceback is."""
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


@functools.cache
def _quiet_backend_warnings(pyproject_hooks: ModuleType) -> None:
    """pyproject_hooks (1.1+) re-emits the backend's UserWarnings in our process; a hook's chatter never reached
    the terminal before."""
    category = getattr(pyproject_hooks, "BuildBackendWarning", None)  # absent before 1.1
    if category is not None:
        warnings.filterwarnings("ignore", category=category)


def hook_caller(project_dir: Path, backend: str, backend_path: list[str], *, python: str | Path | None = None,
                runner: RecordingRunner | None = None) -> BuildBackendHookCaller:
    """pyproject_hooks' caller for the project; a backend-path outside the tree is the project's error."""
    # Local: pyproject_hooks is imported only when a hook really runs (a cached hook answer never pays for it).
    from pyproject_hooks import BuildBackendHookCaller

    try:
        return BuildBackendHookCaller(
            str(project_dir), backend, backend_path=backend_path or None, runner=runner,
            python_executable=str(python) if python else None,
        )
    except ValueError as exc:  # pyproject_hooks: "paths must be relative" / "paths must be inside source tree"
        raise SpecError(f"[build-system].backend-path {backend_path!r}: {exc}", where="pyproject.toml") from None


def run_backend_hook(
    project_dir: str | Path,
    hook: HookName,
    *,
    env_python: str | Path,
    backend: str,
    backend_path: list[str] | None = None,
    args: Sequence[str] = (),
    config_settings: Mapping[str, Any] | None = None,
    record_files: bool = False,
    exclude: Sequence[str | Path] = (),
    fallback: bool = False,
) -> HookRun:
    """Call `backend.hook(*args, config_settings)` through pyproject_hooks, in the build env's interpreter.

    With `record_files`, the files under project_dir that the backend opened for
    reading are returned relative to project_dir (sources of cached bytecode
    count as their .py; `exclude` folders and the build env never count).
    `fallback`: a prepare_metadata_* hook the backend lacks is answered by building
    the wheel (pyproject_hooks' fallback); without it, the call raises HookNotProvided.
    """
    # Local: pyproject_hooks is imported only when a hook really runs (a cached hook answer never pays for it).
    import pyproject_hooks

    if hook not in HOOKS:
        raise ValueError(f"not a PEP 517/660 hook: {hook}")
    _quiet_backend_warnings(pyproject_hooks)
    project_dir = Path(project_dir).resolve()
    where = spec_file(project_dir)
    extra = {"_allow_fallback": fallback} if hook.startswith("prepare_metadata_") else {}
    with tempfile.TemporaryDirectory(prefix="incrinstall-hook-") as work:
        runner = RecordingRunner(project_dir, Path(work), record_files=record_files, exclude=exclude)
        caller = hook_caller(project_dir, backend, list(backend_path or []), python=env_python, runner=runner)
        try:
            # The caller has one method per hook name (HookName); their arguments differ, so they come as given.
            result = getattr(caller, hook)(*args, config_settings=config_settings, **extra)
        except pyproject_hooks.HookMissing as exc:
            raise HookNotProvided(f"the build backend {backend} has no hook {exc.hook_name or hook}",
                                  where=where) from None
        except pyproject_hooks.UnsupportedOperation as exc:
            raise HookNotProvided(f"the build backend {backend} does not support {hook}", where=where,
                                  detail=tail(exc.traceback)) from None
        except (pyproject_hooks.BackendUnavailable, pyproject_hooks.BackendInvalid) as exc:  # one class since 1.1
            detail = getattr(exc, "traceback", "") or runner.output  # 1.0's BackendInvalid has no traceback
            raise HookError(f"cannot import the build backend {backend}: {_import_failure(exc)}",
                            where=where, detail=tail(detail)) from None
        except subprocess.CalledProcessError as exc:
            error = runner.report.get("error") or f"the hook process died (exit {exc.returncode})"
            raise HookError(f"the build backend failed in {hook}: {error}",
                            where=runner.report.get("where") or where, detail=tail(runner.output)) from None
        except (OSError, ValueError) as exc:  # no interpreter, or no readable answer in the control folder
            raise HookError(f"the build backend failed in {hook}: {exc}", where=where,
                            detail=tail(runner.output)) from None
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
