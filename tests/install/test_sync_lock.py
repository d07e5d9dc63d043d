"""Two syncs on one environment never interleave: the second waits (and says so) or gives up after --lock-timeout."""

from __future__ import annotations

import time

import pytest

from incrinstall.install import lock
from tests.support.venvs import installed, pip_check, uv_bin
from tests.support.world import World

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    """A baseline of aaa 1.0; the work tree asks for aaa 2.0 (which brings bbb)."""
    index.add_wheel("aaa", "1.0")
    index.add_wheel("aaa", "2.0", requires_dist=["bbb"])
    index.add_wheel("bbb", "1.0")
    made = World(tmp_path, index, venv_factory("target"))
    made.baseline(["aaa==1.0"])
    made.project(made.work, ["aaa==2.0"])
    return made


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_second_sync_waits_for_the_lock_and_says_so(world):
    with lock.environment_lock(world.prefix, timeout=0):
        proc, out = world.start("sync", log="sync.log")
        try:
            wait_until(lambda: "waiting for another incrinstall" in out.read_text())
            time.sleep(0.5)  # it keeps waiting, and changes nothing meanwhile
            assert proc.poll() is None
            assert installed(world.python) == {"aaa": "1.0"}
            assert not (world.state_dir / "journal.json").exists()
        except BaseException:
            proc.kill()
            raise
    assert proc.wait(timeout=60) == 0, out.read_text()
    text = out.read_text()
    assert str(world.state_dir / "lock") in text  # the message names the lock
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.0"}
    ok, report = pip_check(world.python)
    assert ok, report


def test_lock_timeout_fails_clearly_and_changes_nothing(world):
    with lock.environment_lock(world.prefix, timeout=0):
        started = time.monotonic()
        proc = world.sync(None, "--lock-timeout", "0.5", ok=False)
        elapsed = time.monotonic() - started
    assert proc.returncode == 2
    assert "lock" in proc.stderr and str(world.state_dir / "lock") in proc.stderr
    assert "--lock-timeout" in proc.stderr
    assert 0.5 <= elapsed < 20
    assert installed(world.python) == {"aaa": "1.0"}
    assert not (world.state_dir / "journal.json").exists()


def test_two_real_syncs_run_one_after_the_other(world):
    # The first sync's uv waits at a gate that the test opens, so the first one surely holds the lock meanwhile.
    gate = world.tmp / "gate"
    gated_uv = world.tmp / "gated-uv"
    gated_uv.write_text(f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\nexec "{uv_bin()}" "$@"\n')
    gated_uv.chmod(0o755)
    first, first_out = world.start("sync", log="first.log", env={"INCRINSTALL_UV": str(gated_uv)})
    second = None
    journal = world.state_dir / "journal.json"
    try:
        wait_until(journal.exists)
        second, second_out = world.start("sync", log="second.log")
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
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.0"}
    ok, report = pip_check(world.python)
    assert ok, report
