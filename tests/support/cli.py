"""Running the real CLI from a test: `python -m incrinstall ARGS`, with this repository importable, as a user would.

Every test that runs incrinstall in a subprocess goes through here (the `run_cli` fixture and the
World harness alike), so the command line and its environment have one home. The environment is
the test's own (isolated_env in tests/conftest.py has already pointed the caches at the test's
folders and the proxies at a dead port) plus PYTHONPATH and what the caller adds.

What a start-up costs is checked from here too: `imported_by(proc)` reads a run's
PYTHONPROFILEIMPORTTIME report, `imported_after(modules)` what importing modules pulls in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO_ROOT

Arg = str | os.PathLike[str]


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment, with this repository importable, plus `extra`."""
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), **{k: str(v) for k, v in (extra or {}).items()}}


def cli_argv(*args: Arg, module: str = "incrinstall") -> list[str]:
    """`python -m incrinstall ARGS` (or another module, e.g. tests.support.pause_driver), as strings."""
    return [sys.executable, "-m", module, *map(str, args)]


def run_cli(*args: Arg, env: dict[str, str] | None = None, cwd: Arg | None = None, input: str | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; stdout and stderr captured as text."""
    return subprocess.run(cli_argv(*args), env=cli_env(env), cwd=cwd, input=input, capture_output=True, text=True,
                          timeout=timeout)


def start_cli(*args: Arg, log: Path, env: dict[str, str] | None = None,
              module: str = "incrinstall") -> subprocess.Popen[bytes]:
    """Start the CLI in its own session (its pid is the process group that also holds its uv children).

    stdout and stderr go to `log`; stop it with tests.support.processes.kill_group.
    """
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cli_argv(*args, module=module), env=cli_env(env), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def imported_by(proc: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules a run imported, from its stderr when it ran with PYTHONPROFILEIMPORTTIME=1."""
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


def imported_after(*modules: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `modules` (only this repository on PYTHONPATH)."""
    code = f"import sys, {', '.join(modules)}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO_ROOT)}).stdout
    return set(out.split())
