"""Run the uv binary that ships with the `uv` package, with a quiet, predictable environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from incrinstall.errors import InstallError


def uv_binary() -> str:
    """The uv next to our own install first (the `uv` dependency), else the one on PATH."""
    override = os.environ.get("INCRINSTALL_UV")
    if override:
        return override
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise InstallError("cannot find the uv binary; install the `uv` package next to incrinstall")


def uv_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_NO_PROGRESS", "1")
    env["NO_COLOR"] = env.get("NO_COLOR", "1")
    # incrinstall decides what to install; uv must not re-resolve from a project config it finds.
    env.setdefault("UV_NO_CONFIG", "1")
    from incrinstall.paths import uv_cache_override

    override = uv_cache_override()  # a cache that would stay in an image layer is a temporary one
    if override:
        env["UV_CACHE_DIR"] = override
    if extra:
        env.update(extra)
    return env


def run_uv(args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
           what: str = "uv") -> subprocess.CompletedProcess:
    """Run uv; raise InstallError with the tail of its output when it fails."""
    cmd = [uv_binary(), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=uv_env(env), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise InstallError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd[1:4])} ...", detail=tail)
    return proc
