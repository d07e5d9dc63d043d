"""A sync killed with SIGKILL at any point is completed by the next sync: same environment as an uninterrupted one.

Each test kills a real `incrinstall sync` (and its uv child: the CLI runs in its own
session and the whole process group gets SIGKILL) while the journal says it is in the
install or the removal phase, then runs `sync` again and compares the environment with
a control venv that was synced without interruption.

To hold a phase open long enough to kill it at a known point:
- the loopback index is slowed down while uv downloads (real uv throughout), or
- `INCRINSTALL_UV` points at a stand-in that does part of the phase with the real uv
  (half of the installs, or the first removal) and then waits to be killed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent, record_problems
from tests.support.index_server import LoopbackIndex
from tests.support.processes import group_commands, kill_group, wait_for
from tests.support.stand_in_uv import kill_in_phase
from tests.support.venvs import installed, site_packages
from tests.support.world import World

pytestmark = pytest.mark.slow

UPGRADED = [f"up{i}" for i in range(1, 7)]
NEW = [f"new{i}" for i in range(1, 5)]
OLD = [f"old{i}" for i in range(1, 5)]
BEFORE_DEPS = [f"{n}==1.0" for n in UPGRADED] + OLD
AFTER_DEPS = [f"{n}==2.0" for n in UPGRADED] + NEW
BASELINE_ENV = {**{n: "1.0" for n in UPGRADED + OLD}, "shared": "1.0"}


@pytest.fixture
def index(tmp_path):
    """The index pages; every file they link comes from `index.files_from`, whose `delay` slows uv's downloads only.

    incrinstall has the pages from here and the metadata from its own cache (filled by the control run
    in the same test).
    """
    with LoopbackIndex(tmp_path / "dists") as files, LoopbackIndex(tmp_path / "dists", files_from=files) as index:
        for name in UPGRADED:
            index.add_wheel(name, "1.0")
            index.add_wheel(name, "2.0", files={f"{name}/extra.py": "X = 2\n"})
        for name in NEW:
            index.add_wheel(name, "1.0", requires_dist=["shared>=1"])
        for name in OLD:
            index.add_wheel(name, "1.0", requires_dist=["shared>=1"])
        index.add_wheel("shared", "1.0")
        yield index


def baselined(tmp: Path, index: LoopbackIndex, python: Path) -> World:
    """A World whose venv has the baseline of the old specs, and whose work tree has the new ones."""
    world = World(tmp, index, python)
    world.baseline(BEFORE_DEPS)
    assert installed(python) == BASELINE_ENV
    world.project(world.work, AFTER_DEPS)
    return world


@pytest.fixture
def crash(tmp_path, index, venv_factory) -> tuple[World, dict[str, str], list[str]]:
    """(the target's World, baselined; what an uninterrupted sync leaves: its packages and managed set).

    The control syncs first, so incrinstall's cache holds the metadata and uv's the wheels.
    """
    control = baselined(tmp_path / "control", index, venv_factory("control"))
    control.sync()
    expected = installed(control.python)
    assert expected == {**{n: "2.0" for n in UPGRADED}, **{n: "1.0" for n in NEW}, "shared": "1.0"}
    return baselined(tmp_path / "target", index, venv_factory("target")), expected, sorted(control.managed())


def tear_removal(python: Path, name: str, keep: str = "METADATA") -> None:
    """What a removal cut short leaves: the files gone but one (METADATA, or RECORD) still there."""
    [dist_info] = [d for sp in site_packages(python) for d in Path(sp).glob(f"{name}-*.dist-info")]
    for line in (dist_info / "RECORD").read_text().splitlines():
        path = Path(dist_info.parent, line.split(",")[0])
        if path.name != keep and path.is_file():
            path.unlink()
    assert [p.name for p in dist_info.iterdir()] == [keep]


def assert_converged(world: World, expected: dict[str, str], managed: list[str]) -> None:
    proc = world.sync()
    assert "interrupted sync" in proc.stderr  # it found the journal and said so
    assert installed(world.python) == expected
    assert world.journal() is None
    # Nothing the killed run wrote is left behind either (its requirements file, half-written state).
    assert world.state_files() == ["lock", "pylock.json", "pylock.toml", "stamp.json"]
    assert_environment_consistent(world.python)  # every RECORD complete, every file as it says; uv pip check clean
    assert sorted(world.managed()) == managed
    # And it is settled: the next sync has nothing to do.
    assert "nothing to do" in world.sync().stdout


def test_sync_killed_while_uv_downloads_converges_on_the_next_sync(crash, index, tmp_path):
    world, expected, managed = crash

    files = index.files_from
    files.reset_log()
    files.delay = 1.0  # every file uv fetches arrives a second late, one after the other
    # A cache of its own, so that this uv has to download what the control run's uv has cached.
    proc, log = world.start("sync", env={"UV_CACHE_DIR": str(tmp_path / "uv-cache-killed"),
                                         "UV_CONCURRENT_DOWNLOADS": "1"}, log="killed.log")
    try:
        wait_for(lambda: world.journal() is not None, proc, "the journal", log=log)
        assert world.journal()["phase"] == "install"
        wait_for(lambda: files.count("/files/") > 0, proc, "uv's first download", interval=0.01, log=log)
        if Path("/proc/self/stat").exists():
            assert "uv" in group_commands(proc.pid)  # killed while uv runs
        kill_group(proc)
    finally:
        files.delay = 0.0
        if proc.poll() is None:
            kill_group(proc)

    assert world.journal()["phase"] == "install"
    assert installed(world.python) == BASELINE_ENV  # uv was still downloading
    assert_converged(world, expected, managed)


def test_sync_killed_halfway_through_installing_converges_on_the_next_sync(crash):
    world, expected, managed = crash

    kill_in_phase(world, "install", "half of the installs")

    python = world.python
    now = installed(python)
    # Killed in the middle: some packages at the new version, some upgrades gone altogether, old ones still there.
    assert any(now.get(n) == "2.0" for n in UPGRADED) or any(n in now for n in NEW)
    assert any(n not in now for n in UPGRADED + NEW)
    assert all(n in now for n in OLD)
    # uv was removing the last old version when it was killed.
    half_removed = next(n for n in reversed(UPGRADED) if now.get(n) == "1.0")
    tear_removal(python, half_removed)
    # A torn write as well: one package that the killed run had installed lost a file.
    done = next(n for n in UPGRADED + NEW if n in now and now[n] == expected[n])
    victim = next(Path(sp) / done / "__init__.py" for sp in site_packages(python) if (Path(sp) / done).is_dir())
    victim.unlink()
    assert f"{done}/__init__.py is missing" in "\n".join(record_problems(python))

    assert_converged(world, expected, managed)


def test_sync_killed_halfway_through_removing_converges_on_the_next_sync(crash):
    world, expected, managed = crash

    kill_in_phase(world, "remove", "the first removal")

    python = world.python
    now = installed(python)
    assert all(now.get(n) == expected[n] for n in UPGRADED + NEW)  # the install phase was complete
    assert sum(n in now for n in OLD) == len(OLD) - 1  # and the removals had just begun
    left = [n for n in OLD if n in now]
    tear_removal(python, left[0])  # two of them cut short, at different points
    tear_removal(python, left[1], keep="RECORD")

    assert_converged(world, expected, managed)
