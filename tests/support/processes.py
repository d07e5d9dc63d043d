"""The processes a test started: waiting for them, killing their group, seeing what runs; and the figures a reliability suite reports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def wait_for(condition: Callable[[], object], proc: subprocess.Popen, what: str, *, timeout: float = 60.0,
             interval: float = 0.002, log: Path | None = None) -> None:
    """Poll `condition` until it holds; fail the test if `proc` exits first or `timeout` passes (with `log`'s text)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) before {what}{_text_of(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}{_text_of(log)}")
        time.sleep(interval)


def _text_of(log: Path | None) -> str:
    return f"\n{log.read_text(errors='replace')}" if log is not None and log.exists() else ""


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group `proc` leads (a CLI started in its own session, and its uv) and reap it."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, f"exited {proc.returncode} before it was killed"


def group_commands(pgid: int) -> list[str]:
    """Names of the processes in a process group (from Linux's /proc)."""
    names = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1: stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if int(rest[2]) == pgid:
            names.append(comm)
    return names


def merge_report(variable: str, figures: dict) -> None:
    """Merge `figures` into the JSON file the environment variable `variable` names (nothing when it is unset)."""
    path = os.environ.get(variable)
    if not path:
        return
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        old = {}
    Path(path).write_text(json.dumps({**old, **figures}, indent=1) + "\n")
