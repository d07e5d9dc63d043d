"""A sync or baseline SIGKILLed at one chosen point, then the next run: what tests/slow/test_kill_trials.py found.

Each test stops a real CLI at one file operation (tests/support/pause_driver.py stalls it there),
kills its process group, and checks that the next real run leaves nothing behind. Where the point
is inside uv's own work (a half-copied package, a half-done uninstall), the test kills just before
uv runs and then leaves what a killed uv leaves, the way uv leaves it, as tests/install/test_sync_crash.py does.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent
from tests.support.venvs import installed
from tests.support.world import World

pytestmark = pytest.mark.slow

BEFORE = ["aaa==1.0", "ccc"]
AFTER = ["aaa==2.0"]  # aaa 2.0 requires bbb; ccc goes
STATE_FILES = ["lock", "pylock.json", "pylock.toml", "stamp.json"]


def many(module: str) -> dict[str, str]:
    return {f"{module}/m{i:02d}.py": f"X = {i}\n" for i in range(30)}


def made(tmp: Path, index, python: Path) -> World:
    """A World whose main and work trees both ask for BEFORE."""
    world = World(tmp, index, python)
    for folder in (world.work, world.main):
        world.project(folder, BEFORE)
    return world


def leftovers(world: World, module: str) -> list[str]:
    """Files of `module` (and its dist-info) still in site-packages."""
    return sorted(str(p.relative_to(world.site)) for p in world.site.glob(f"{module}*/**/*") if p.is_file())


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    index.add_wheel("aaa", "1.0")
    index.add_wheel("aaa", "2.0", requires_dist=["bbb"])
    index.add_wheel("bbb", "1.0", files=many("bbb"))
    index.add_wheel("ccc", "1.0", files=many("ccc"))
    return made(tmp_path, index, venv_factory("target"))


def settled(world: World, expected: dict[str, str]) -> None:
    assert installed(world.python) == expected
    assert_environment_consistent(world.python)
    assert world.state_files() == STATE_FILES
    assert "nothing to do" in world.sync().stdout


@pytest.mark.parametrize("record", ["journal.json", "pylock.toml", "pylock.json", "stamp.json"])
def test_a_record_write_killed_before_its_rename_leaves_no_temporary_file(world, record):
    world.baseline()
    world.project(world.work, AFTER)

    world.kill_at("sync", f"replace:{record}:1:before")

    assert list(world.state_dir.glob(f".{record}.*.tmp"))  # the killed write's temporary file
    world.sync()
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_packages_a_killed_sync_installed_keep_their_files_in_the_lock(world, venv_factory):
    control = made(world.tmp / "control", world.index, venv_factory("control"))
    for w in (control, world):
        w.baseline()
        w.project(w.work, AFTER)
    control.sync()

    world.kill_at("sync", "replace:journal.json:2:before")  # installed, not yet removing

    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.0", "ccc": "1.0"}
    world.sync()
    assert world.locked() == control.locked()
    assert world.locked()["bbb"]["wheels"][0]["hashes"]  # a file with its hashes, as an uninterrupted sync writes
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_files_of_a_dist_whose_removal_was_cut_short_are_removed_by_the_next_sync(world):
    world.baseline()
    world.project(world.work, AFTER)

    world.kill_at("sync", "replace:journal.json:2:after")  # in the removal phase, before uv's uninstall
    # What a uv killed in its uninstall leaves: it deletes in path order, the metadata folder
    # (ccc-1.0.dist-info/ sorts before ccc/) and then some of the package's files.
    files = leftovers(world, "ccc")
    for rel in files[: len(files) // 2]:
        (world.site / rel).unlink()
    assert not list(world.site.glob("ccc-*.dist-info/*"))
    assert leftovers(world, "ccc")

    proc = world.sync()
    assert "which it was removing" in proc.stderr + proc.stdout
    assert leftovers(world, "ccc") == [] and not (world.site / "ccc").exists()
    settled(world, {"aaa": "2.0", "bbb": "1.0"})


def test_a_package_half_installed_by_a_killed_baseline_is_gone_after_a_sync_that_does_not_want_it(world):
    world.project(world.main, [*BEFORE, "bbb"])  # the baseline installs bbb, the work tree asks for aaa 1.0 alone
    world.project(world.work, ["aaa==1.0"])

    world.kill_at("baseline", "replace:journal.json:1:after")  # journal written, uv not started
    # What a uv killed while copying bbb leaves: part of its files, no metadata folder yet, and the
    # temporary file of the copy it was making.
    wheel = next(Path(world.index.root).glob("bbb-1.0-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith("bbb/")]
        for name in names[: len(names) // 2]:
            zf.extract(name, world.site)
    (world.site / "bbb" / ".tmpA1b2C3").write_text("half")
    assert "bbb" not in installed(world.python) and leftovers(world, "bbb")

    proc = world.sync()
    assert "completed the interrupted sync's installs" in proc.stderr + proc.stdout
    assert leftovers(world, "bbb") == [] and not (world.site / "bbb").exists()
    settled(world, {"aaa": "1.0"})


def test_a_baseline_records_itself_before_it_lets_go_of_the_lock(world):
    def at_the_end_of_its_sync():
        # The baseline's sync has removed its journal: after this nothing may still write the state.
        state = json.loads((world.state_dir / "pylock.json").read_text())["tool"]["incrinstall"]
        assert state["baseline"]["fingerprint"] and state["baseline"]["source"]
        assert state["project-dir"] == ""  # not the unpacked tree, which is deleted
        assert not (world.state_dir / "stamp.json").exists()

    world.kill_at("baseline", "unlink:journal.json:1:after", inspect=at_the_end_of_its_sync)

    world.project(world.work, AFTER)
    world.sync()
    settled(world, {"aaa": "2.0", "bbb": "1.0"})
