"""Two syncs on one environment never interleave: the second waits (and says so) or gives up after --lock-timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incrinstall.install import lock
from tests.support.venvs import installed, pip_check, uv_bin
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PYPROJECT = '[project]\nname = "myproj"\nversion = "0.1"\ndependencies = {deps}\n'


@pytest.fixture
def lock_world(tmp_path, index, run_cli, venv_factory):
    index.add_wheel("aaa", "1.0")
    index.add_wheel("aaa", "2.0", requires_dist=["bbb"])
    index.add_wheel("bbb", "1.0")
    python = venv_factory("target")
    project = tmp_path / "project"
    project.mkdir()
    write(project, ["aaa==1.0"])
    proc = run_cli("baseline", project, "--python", python, "--index-url", index.url)
    assert proc.returncode == 0, proc.stderr
    write(project, ["aaa==2.0"])
    return {"index": index, "python": python, "project": project, "prefix": str(python.parent.parent),
            "tmp": tmp_path}


def write(project: Path, deps: list[str]) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT.format(deps=json.dumps(deps)))


def start_sync(world, *args, log: str = "sync.log", env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
    out = world["tmp"] / log
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **(env or {}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "incrinstall", "sync", str(world["project"]), "--python", str(world["python"]),
         "--index-url", world["index"].url, *args],
        env=env, stdout=open(out, "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    return proc, out


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_second_sync_waits_for_the_lock_and_says_so(lock_world):
    world = lock_world
    with lock.environment_lock(world["prefix"], timeout=0):
        proc, out = start_sync(world)
        try:
            wait_until(lambda: "waiting for another incrinstall" in out.read_text())
            time.sleep(0.5)  # it keeps waiting, and changes nothing meanwhile
            assert proc.poll() is None
            assert installed(world["python"]) == {"aaa": "1.0"}
            assert not (Path(world["prefix"]) / ".incrinstall" / "journal.json").exists()
        except BaseException:
            proc.kill()
            raise
    assert proc.wait(timeout=60) == 0, out.read_text()
    text = out.read_text()
    assert str(Path(world["prefix"]) / ".incrinstall" / "lock") in text  # the message names the lock
    assert installed(world["python"]) == {"aaa": "2.0", "bbb": "1.0"}
    ok, report = pip_check(world["python"])
    assert ok, report


def test_lock_timeout_fails_clearly_and_changes_nothing(lock_world, run_cli):
    world = lock_world
    with lock.environment_lock(world["prefix"], timeout=0):
        started = time.monotonic()
        proc = run_cli("sync", world["project"], "--python", world["python"], "--index-url", world["index"].url,
                       "--lock-timeout", "0.5")
        elapsed = time.monotonic() - started
    assert proc.returncode == 2
    assert "lock" in proc.stderr and str(Path(world["prefix"]) / ".incrinstall" / "lock") in proc.stderr
    assert "--lock-timeout" in proc.stderr
    assert 0.5 <= elapsed < 20
    assert installed(world["python"]) == {"aaa": "1.0"}
    assert not (Path(world["prefix"]) / ".incrinstall" / "journal.json").exists()


def test_two_real_syncs_run_one_after_the_other(lock_world):
    world = lock_world
    # The first sync's uv waits at a gate that the test opens, so the first one surely holds the lock meanwhile.
    gate = world["tmp"] / "gate"
    gated_uv = world["tmp"] / "gated-uv"
    gated_uv.write_text(f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\nexec "{uv_bin()}" "$@"\n')
    gated_uv.chmod(0o755)
    first, first_out = start_sync(world, log="first.log", env={"INCRINSTALL_UV": str(gated_uv)})
    second = None
    journal = Path(world["prefix"]) / ".incrinstall" / "journal.json"
    try:
        wait_until(journal.exists)
        second, second_out = start_sync(world, log="second.log")
        wait_until(lambda: "waiting for another incrinstall" in second_out.read_text())
        assert first.poll() is None and second.poll() is None
        gate.touch()
        assert first.wait(timeout=120) == 0, first_out.read_text()
        assert second.wait(timeout=120) == 0, second_out.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert "+ bbb==1.0" in first_out.read_text()
    # The second found the work done: it resolved against what the first installed, and changed nothing.
    assert "sync: 0 changed" in second_out.read_text()
    assert installed(world["python"]) == {"aaa": "2.0", "bbb": "1.0"}
    ok, report = pip_check(world["python"])
    assert ok, report
