"""Run the uv binary that ships with the `uv` package, with a quiet, predictable environment.

Stages that call uv take a `UvRunner` (`uv: UvRunner = REAL_UV`), so a test can hand them a fake
where a real uv is not the point; a failed call is a `UvError` carrying all that uv printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Protocol

from incrinstall.common.config import RESOLUTION_ENV
from incrinstall.common.errors import InstallError, UvError
from incrinstall.common.paths import cache_dir, uv_cache_override


class UvRunner(Protocol):
    """Runs `uv ARGS` for a stage; raises UvError (an InstallError) when uv fails.

    REAL_UV is the bundled binary (run_uv); a test's fake records or answers the calls instead.
    """

    def run(self, args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            what: str = "uv") -> subprocess.CompletedProcess[str]: ...


class RealUv:
    """The real runner: run_uv(), with incrinstall's index settings, CAs and `--no-config`."""

    def run(self, args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            what: str = "uv") -> subprocess.CompletedProcess[str]:
        return run_uv(args, cwd=cwd, env=env, what=what)


REAL_UV: UvRunner = RealUv()


def uv_binary() -> str:
    """The uv next to our own install first (the `uv` dependency), else the one on PATH."""
    override = os.environ.get("INCRINSTALL_UV")
    if override:
        return override
    try:
        # Local: the `uv` package imports sysconfig, and a sync that finds nothing to do imports this module
        # (through the installer's recovery check) without running uv.
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):  # installed without the `uv` package, or it lacks its binary
        pass
    found = shutil.which("uv")
    if found:
        return found
    raise InstallError("cannot find the uv binary; install the `uv` package next to incrinstall")


def uv_env(extra: dict[str, str] | None = None, *, own_settings: bool = False) -> dict[str, str]:
    """Our environment minus every uv variable that changes resolution (index_config read them already).

    One configuration: what uv is told comes only from the explicit flags incrinstall passes
    (IndexConfig.uv_args), so uv cannot resolve in a different world from incrinstall's own.
    Credentials stay: uv reads URL userinfo from the flags and `$NETRC` / `~/.netrc` itself. TLS
    trust is spelled out too: uv is told the CA files and folders incrinstall trusts.
    `own_settings`: the environment as it is, uv's variables included (see run_uv).
    """
    env = dict(os.environ) if own_settings else {k: v for k, v in os.environ.items() if k not in RESOLUTION_ENV}
    env.setdefault("UV_NO_PROGRESS", "1")
    env["NO_COLOR"] = env.get("NO_COLOR", "1")
    if not own_settings:
        # incrinstall decides what to install; uv must not re-resolve from a project config it finds.
        env["UV_NO_CONFIG"] = "1"
    override = uv_cache_override()  # a cache that would stay in an image layer is a temporary one
    if override:
        env["UV_CACHE_DIR"] = override
    _trust_what_incrinstall_trusts(env)
    if extra:
        env.update(extra)
    return env


def _trust_what_incrinstall_trusts(env: dict[str, str]) -> None:
    """uv's SSL_CERT_FILE / SSL_CERT_DIR name the CA files and folders incrinstall's own requests trust.

    Without them uv trusts only its bundled roots, not the system store that incrinstall's own
    requests (and a corporate proxy's CA added to it) use; with them it trusts exactly those, so
    UV_SYSTEM_CERTS (UV_NATIVE_TLS) would change nothing and is not passed on.
    """
    # Local: cacerts imports ssl, and the sync that finds nothing to do imports this module (through
    # the installer's recovery check) without ever running uv.
    from incrinstall.common.cacerts import uv_tls_env

    settings = uv_tls_env(cache_dir())
    if not settings:
        return
    for key in ("UV_SYSTEM_CERTS", "UV_NATIVE_TLS"):
        env.pop(key, None)
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value


def run_uv(args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
           what: str = "uv", own_settings: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `uv ARGS --no-config`; raise UvError with the tail of its output when it fails.

    `--no-config` (a global option, valid after any subcommand) goes on every call that resolves,
    builds or installs; `pip uninstall` keeps its package names last and has UV_NO_CONFIG=1 (uv_env),
    which means the same. `own_settings` lets uv read the project's settings and uv's environment
    variables as the user's own uv would: only for asking uv about uv's own files (`uv lock --check`
    must see what `uv sync --locked` sees), never for resolving or installing.
    """
    cmd = [uv_binary(), *args]
    if not own_settings and "--no-config" not in args and args[:2] != ["pip", "uninstall"]:
        cmd.append("--no-config")
    proc = subprocess.run(cmd, cwd=cwd, env=uv_env(env, own_settings=own_settings), capture_output=True, text=True)
    if proc.returncode != 0:
        raise failure(what, proc.returncode, cmd, proc.stderr or proc.stdout)
    return proc


# uv's headline for a package it could not get: "error: Failed to build `mysqlclient==2.3.2`".
_PACKAGE_HEADLINE = re.compile(r"^\s*(?:error:|×)?\s*(Failed to [a-z ]+`[^`]+`.*)$", re.MULTILINE)


_ERROR_LINE = re.compile(r"^\s*error:\s*(\S.*)$", re.MULTILINE)
_FETCH_CAUSE = re.compile(r"^\s*(?:cause:|Caused by:)\s*(Failed to fetch: \S+)", re.MULTILINE)


def _first_error(output: str, cmd: list[str]) -> str:
    """uv's own first error line, with the URL it could not fetch ("Request failed after 1 retry" names none)."""
    first = _ERROR_LINE.search(output)
    if first is None:
        return f"{' '.join(cmd[1:4])} ..."
    said = first.group(1).strip()
    fetch = _FETCH_CAUSE.search(output, first.end())
    if fetch is not None and fetch.group(1).split(": ", 1)[1] not in said:
        said += f" ({fetch.group(1)})"
    return said


def failure(what: str, code: int, cmd: list[str], output: str | None) -> UvError:
    """The error for a failed uv call: the package uv names first (its headline scrolls away), then the tail."""
    output = output or ""
    lines = output.strip().splitlines()
    found = _PACKAGE_HEADLINE.search(output)
    if found is None:
        return UvError(f"{what} failed (exit {code}): {_first_error(output, cmd)}", detail="\n".join(lines[-25:]),
                       output=output, returncode=code, command=cmd)
    headline = found.group(1).strip()
    start = next(i for i, line in enumerate(lines) if headline in line)
    # The causes uv lists under its headline, then the last lines (the build's own error is at the end).
    head = lines[start:start + 4]
    after = lines[start + len(head):]
    tail = after[-20:]
    skipped = len(after) - len(tail)
    # What uv said before its headline is progress ("Resolved 4 packages"), but for its warnings; taken
    # from the whole output, a short one's progress lines landed in the middle of the headline's causes.
    warnings = [line for line in lines[:start] if line.lstrip().startswith("warning:")]
    detail = "\n".join(head + ([f"  ... ({skipped} lines)"] if skipped > 0 else []) + tail + warnings)
    return UvError(f"{what} failed (exit {code}): {headline}", detail=detail, output=output, returncode=code,
                   command=cmd)
