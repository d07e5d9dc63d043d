"""A sync or baseline SIGKILLed at one chosen point, then the next run: what tests/slow/test_kill_trials.py found.

Each test stops a real CLI at one file operation (tests/support/pause_driver.py stalls it there),
kills its process group, and checks that the next real run leaves nothing behind. Where the point
is inside uv's own work (a half-copied package, a half-done uninstall), the test kills just before
uv runs and then leaves what a killed uv leaves, the way uv leaves it, as tests/install/test_sync_crash.py does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent
from tests.support.venvs import installed, site_packages
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

PYPROJECT = '[project]\nname = "myproj"\nversion = "0.1"\ndependencies = {deps}\n'
BEFORE = ["aaa==1.0", "ccc"]
AFTER = ["aaa==2.0"]  # aaa 2.0 requires bbb; ccc goes
STATE_FILES = ["lock", "pylock.json", "pylock.toml", "stamp.json"]


def many(module: str) -> dict[str, str]:
    return {f"{module}/m{i:02d}.py": f"X = {i}\n" for i in range(30)}


class World:
    def __init__(self, tmp: Path, index, python: Path):
        self.tmp, self.index, self.python = tmp, index, python
        self.prefix = python.parent.parent
        self.state = self.prefix / ".incrinstall"
        self.site = Path(site_packages(python)[0])
        self.work = tmp / "work"
        self.main = tmp / "main"
        for folder, deps in ((self.work, BEFORE), (self.main, BEFORE)):
            self.write(folder, deps)

    def write(self, folder: Path, deps: list[str]) -> None:
        folder.mkdir(exist_ok=True)
        (folder / "pyproject.toml").write_text(PYPROJECT.format(deps=json.dumps(deps)))

    def argv(self, command: str, folder: Path | None = None) -> list[str]:
        folder = folder or (self.main if command == "baseline" else self.work)
        return [command, str(folder), "--python", str(self.python), "--index-url", self.index.url]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def run(self, command: str, folder: Path | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "incrinstall", *self.argv(command, folder)], env=self.env(),
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def kill_at(self, command: str, point: str, inspect=None) -> None:
        """Run `command` under the pause driver until it stalls at `point`, call `inspect()`, SIGKILL the group."""
        mark = self.tmp / "paused"
        mark.unlink(missing_ok=True)
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.pause_driver", *self.argv(command)],
                                env={**self.env(), "PAUSE_AT": point, "PAUSE_MARK": str(mark)},
                                stdout=open(self.tmp / "killed.log", "w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not mark.exists():
                assert proc.poll() is None, f"exited {proc.returncode}: " + (self.tmp / "killed.log").read_text()
                assert time.monotonic() < deadline, "never reached " + point
                time.sleep(0.01)
            if inspect is not None:
                inspect()
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def lock(self) -> dict[str, dict]:
        data = json.loads((self.state / "pylock.json").read_text())
        return {p["name"]: p for p in [*data["packages"], *data["tool"]["incrinstall"].get("packages-without-file", [])]}

    def leftovers(self, module: str) -> list[str]:
        return sorted(str(p.relative_to(self.site)) for p in self.site.glob(f"{module}*/**/*") if p.is_file())


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    index.add_wheel("aaa", "1.0")
    index.add_wheel("aaa", "2.0", requires_dist=["bbb"])
    index.add_wheel("bbb", "1.0", files=many("bbb"))
    index.add_wheel("ccc", "1.0", files=many("ccc"))
    return World(tmp_path, index, venv_factory("target"))


def settled(world: World, expected: dict[str, str]) -> None:
    assert installed(world.python) == expected
    assert_environment_consistent(world.python)
    assert sorted(p.name for p in world.state.iterdir()) == STATE_FILES
    assert "nothing to do" in world.run("sync").stdout


@pytest.mark.parametrize("record", ["journal.json", "pylock.toml", "pylock.json", "stamp.json"])
def test_a_record_write_killed_before_its_rename_leaves_no_temporary_file(world, record):
    world.run("baseline")
    world.write(world.work, AFTER)

    world.kill_at("sync", f"replace:{record}:1:before")

    assert list(world.state.glob(f".{record}.*.tmp"))  # the killed write's temporary file
    world.run("sync")
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_packages_a_killed_sync_installed_keep_their_files_in_the_lock(world, venv_factory):
    control = World(world.tmp / "control", world.index, venv_factory("control"))
    for w in (control, world):
        w.run("baseline")
        w.write(w.work, AFTER)
    control.run("sync")

    world.kill_at("sync", "replace:journal.json:2:before")  # installed, not yet removing

    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.0", "ccc": "1.0"}
    world.run("sync")
    assert world.lock() == control.lock()
    assert world.lock()["bbb"]["wheels"][0]["hashes"]  # a file with its hashes, as an uninterrupted sync writes
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_files_of_a_dist_whose_removal_was_cut_short_are_removed_by_the_next_sync(world):
    world.run("baseline")
    world.write(world.work, AFTER)

    world.kill_at("sync", "replace:journal.json:2:after")  # in the removal phase, before uv's uninstall
    # What a uv killed in its uninstall leaves: it deletes in path order, the metadata folder
    # (ccc-1.0.dist-info/ sorts before ccc/) and then some of the package's files.
    files = world.leftovers("ccc")
    for rel in files[: len(files) // 2]:
        (world.site / rel).unlink()
    assert not list(world.site.glob("ccc-*.dist-info/*"))
    assert world.leftovers("ccc")

    proc = world.run("sync")
    assert "which it was removing" in proc.stderr + proc.stdout
    assert world.leftovers("ccc") == [] and not (world.site / "ccc").exists()
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_a_package_half_installed_by_a_killed_baseline_is_gone_after_a_sync_that_does_not_want_it(world):
    world.write(world.main, [*BEFORE, "bbb"])  # the baseline installs bbb, the work tree asks for aaa 1.0 alone
    world.write(world.work, ["aaa==1.0"])

    world.kill_at("baseline", "replace:journal.json:1:after")  # journal written, uv not started
    # What a uv killed while copying bbb leaves: part of its files, no metadata folder yet, and the
    # temporary file of the copy it was making.
    wheel = next(Path(world.index.root).glob("bbb-1.0-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith("bbb/")]
        for name in names[: len(names) // 2]:
            zf.extract(name, world.site)
    (world.site / "bbb" / ".tmpA1b2C3").write_text("half")
    assert "bbb" not in installed(world.python) and world.leftovers("bbb")

    proc = world.run("sync")
    assert "completed the interrupted sync's installs" in proc.stderr + proc.stdout
    assert world.leftovers("bbb") == [] and not (world.site / "bbb").exists()
    settled(world, {"aaa": "1.0"})


def test_a_baseline_records_itself_before_it_lets_go_of_the_lock(world):
    def at_the_end_of_its_sync():
        # The baseline's sync has removed its journal: after this nothing may still write the state.
        state = json.loads((world.state / "pylock.json").read_text())["tool"]["incrinstall"]
        assert state["baseline"]["fingerprint"] and state["baseline"]["source"]
        assert state["project-dir"] == ""  # not the unpacked tree, which is deleted
        assert not (world.state / "stamp.json").exists()

    world.kill_at("baseline", "unlink:journal.json:1:after", inspect=at_the_end_of_its_sync)

    world.write(world.work, AFTER)
    world.run("sync")
    settled(world, {"aaa": "2.0", "bbb": "1.0"})
