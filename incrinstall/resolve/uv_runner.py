"""The uv runner the resolve and install stages are handed: a parameter, so a test can give a fake one.

A stand-in with the shape of `common/uv.UvRunner` (issue 22 part A), which takes its place when that
lands: `run(args, *, cwd, env, what)` runs `uv ARGS` and returns the finished process, raising the
errors-family error of a failed uv call (with uv's output) as `common.uv.run_uv` does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol

from incrinstall.common.errors import InstallError
from incrinstall.common.uv import run_uv


class UvRunner(Protocol):
    def run(self, args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            what: str = "uv") -> subprocess.CompletedProcess[str]: ...


class _BundledUv:
    """The uv that ships with the `uv` package, run as common/uv.py runs it."""

    def run(self, args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            what: str = "uv") -> subprocess.CompletedProcess[str]:
        proc: subprocess.CompletedProcess[str] = run_uv(args, cwd=cwd, env=env, what=what)
        return proc


BUNDLED_UV: UvRunner = _BundledUv()


def uv_output(exc: InstallError) -> str:
    """All that a failed uv call printed, when the error is one (common/uv.failure attaches it).

    The one place that reads the attribute; with part A's typed `UvError` callers catch that and read
    its `output` field instead, and this goes.
    """
    output = getattr(exc, "output", "")
    return output if isinstance(output, str) else ""
