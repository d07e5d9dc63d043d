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

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.index_server import LoopbackIndex
from tests.support.processes import group_commands
from tests.support.venvs import installed, pip_check, site_packages, uv_bin
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow


PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
dependencies = {deps}
"""

UPGRADED = [f"up{i}" for i in range(1, 7)]
NEW = [f"new{i}" for i in range(1, 5)]
OLD = [f"old{i}" for i in range(1, 5)]
BEFORE_DEPS = [f"{n}==1.0" for n in UPGRADED] + OLD
AFTER_DEPS = [f"{n}==2.0" for n in UPGRADED] + NEW
BASELINE_ENV = {**{n: "1.0" for n in UPGRADED + OLD}, "shared": "1.0"}

# A stand-in for uv: in CRASH_PHASE it does part of the work with the real uv, writes CRASH_MARK, and waits.
STAND_IN = '''\
import os, subprocess, sys, time
from pathlib import Path

real, phase, mark = os.environ["CRASH_REAL_UV"], os.environ["CRASH_PHASE"], Path(os.environ["CRASH_MARK"])
args = sys.argv[1:]


def stall():
    mark.write_text(str(os.getpid()))
    time.sleep(600)


if phase == "install" and args[:2] == ["pip", "install"] and "-r" in args:
    at = args.index("-r") + 1
    python = args[args.index("--python") + 1]
    lines = [line for line in Path(args[at]).read_text().splitlines() if line.strip()]
    done, rest = lines[: len(lines) // 2], lines[len(lines) // 2:]
    part = mark.with_suffix(".txt")
    part.write_text("\\n".join(done) + "\\n")
    subprocess.run([real, *args[:at], str(part), *args[at + 1:]], check=True, capture_output=True)
    # What uv does first for an upgrade: remove the old versions. Killed before the new ones are in place,
    # and before the last old one was removed.
    rest_names = [line.split("==")[0] for line in rest][:-1]
    subprocess.run([real, "pip", "uninstall", "--python", python, *rest_names], capture_output=True)
    stall()
if phase == "remove" and args[:2] == ["pip", "uninstall"]:
    names = [a for a in args[4:] if not a.startswith("-")]
    subprocess.run([real, *args[:4], names[0]], check=True, capture_output=True)
    stall()
os.execv(real, [real, *args])
'''


class PagesOnly(LoopbackIndex):
    """Serves the index pages, but links every file to `file_server`, another server over the same folder.

    So `file_server.delay` slows down what uv downloads and nothing else: incrinstall has the pages from
    here and the metadata from its own cache (filled by the control run in the same test).
    """

    def __init__(self, root: Path, file_server: LoopbackIndex):
        super().__init__(root)
        self.file_server = file_server

    def _link_for(self, filename: str) -> str:
        return self.file_server.file_url(filename)


@pytest.fixture
def crash_world(tmp_path, venv_factory):
    with LoopbackIndex(tmp_path / "dists") as files, PagesOnly(tmp_path / "dists", files) as index:
        yield make_world(tmp_path, index, venv_factory)


def make_world(tmp_path: Path, index: LoopbackIndex, venv_factory) -> dict:
    for name in UPGRADED:
        index.add_wheel(name, "1.0")
        index.add_wheel(name, "2.0", files={f"{name}/extra.py": "X = 2\n"})
    for name in NEW:
        index.add_wheel(name, "1.0", requires_dist=["shared>=1"])
    for name in OLD:
        index.add_wheel(name, "1.0", requires_dist=["shared>=1"])
    index.add_wheel("shared", "1.0")
    main = write_project(tmp_path / "main", BEFORE_DEPS)
    work = write_project(tmp_path / "work", AFTER_DEPS)
    return {"index": index, "main": main, "work": work, "tmp": tmp_path, "venv_factory": venv_factory}


def write_project(root: Path, deps: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(deps=json.dumps(deps)))
    return root


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.update(extra or {})
    return env


def run(*args, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "incrinstall", *map(str, args)], env=cli_env(env),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def baseline_venv(world, name: str) -> Path:
    python = world["venv_factory"](name)
    run("baseline", world["main"], "--python", python, "--index-url", world["index"].url)
    assert installed(python) == BASELINE_ENV
    return python


def controlled(world) -> tuple[dict[str, str], str]:
    """What an uninterrupted sync leaves: the installed packages and the state file's managed set."""
    python = baseline_venv(world, "control")
    run("sync", world["work"], "--python", python, "--index-url", world["index"].url)
    expected = installed(python)
    assert expected == {**{n: "2.0" for n in UPGRADED}, **{n: "1.0" for n in NEW}, "shared": "1.0"}
    return expected, managed_of(python)


def managed_of(python: Path) -> str:
    import tomlkit

    doc = tomlkit.parse((python.parent.parent / ".incrinstall" / "pylock.toml").read_text()).unwrap()
    return sorted(doc["tool"]["incrinstall"]["managed"])


def journal_of(python: Path) -> dict | None:
    try:
        return json.loads((python.parent.parent / ".incrinstall" / "journal.json").read_text())
    except (OSError, ValueError):
        return None


def start_sync(world, python: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The CLI in its own session, so its pid is the process group that also holds its uv child."""
    out = open(world["tmp"] / "killed.log", "w")
    return subprocess.Popen(
        [sys.executable, "-m", "incrinstall", "sync", str(world["work"]), "--python", str(python),
         "--index-url", world["index"].url],
        env=cli_env(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 60.0, interval: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the sync exited ({proc.returncode}) before {what}")
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}")


def kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def incomplete_records(python: Path) -> list[str]:
    """Installed dists with a file listed in RECORD that is missing: something half-written."""
    bad = []
    for root in site_packages(python):
        for record in Path(root).glob("*.dist-info/RECORD"):
            for line in record.read_text().splitlines():
                rel = line.split(",")[0]
                if rel and not (Path(root) / rel).exists():
                    bad.append(f"{record.parent.name}: {rel}")
    return bad


def tear_removal(python: Path, name: str, keep: str = "METADATA") -> None:
    """What a removal cut short leaves: the files gone but one (METADATA, or RECORD) still there."""
    [dist_info] = [d for sp in site_packages(python) for d in Path(sp).glob(f"{name}-*.dist-info")]
    for line in (dist_info / "RECORD").read_text().splitlines():
        path = Path(dist_info.parent, line.split(",")[0])
        if path.name != keep and path.is_file():
            path.unlink()
    assert [p.name for p in dist_info.iterdir()] == [keep]


def assert_converged(world, python: Path, expected: dict[str, str], managed: list[str]) -> None:
    proc = run("sync", world["work"], "--python", python, "--index-url", world["index"].url)
    assert "interrupted sync" in proc.stderr  # it found the journal and said so
    assert installed(python) == expected
    assert journal_of(python) is None
    # Nothing the killed run wrote is left behind either (its requirements file, half-written state).
    assert sorted(p.name for p in (python.parent.parent / ".incrinstall").iterdir()) == [
        "lock", "pylock.json", "pylock.toml", "stamp.json"]
    assert incomplete_records(python) == []
    ok, out = pip_check(python)
    assert ok, out
    assert managed_of(python) == managed
    # And it is settled: the next sync has nothing to do.
    again = run("sync", world["work"], "--python", python, "--index-url", world["index"].url)
    assert "nothing to do" in again.stdout


def test_sync_killed_while_uv_downloads_converges_on_the_next_sync(crash_world):
    world = crash_world
    expected, managed = controlled(world)
    python = baseline_venv(world, "target")

    files = world["index"].file_server
    files.reset_log()
    files.delay = 1.0  # every file uv fetches arrives a second late, one after the other
    # A cache of its own, so that this uv has to download what the control run's uv has cached.
    proc = start_sync(world, python, {"UV_CACHE_DIR": str(world["tmp"] / "uv-cache-killed"),
                                      "UV_CONCURRENT_DOWNLOADS": "1"})
    try:
        wait_for(lambda: journal_of(python) is not None, proc, "the journal")
        assert journal_of(python)["phase"] == "install"
        wait_for(lambda: files.count("/files/") > 0, proc, "uv's first download", interval=0.01)
        if Path("/proc/self/stat").exists():
            assert "uv" in group_commands(proc.pid)  # killed while uv runs
        kill_group(proc)
    finally:
        files.delay = 0.0
        if proc.poll() is None:
            kill_group(proc)

    assert journal_of(python)["phase"] == "install"
    assert installed(python) == BASELINE_ENV  # uv was still downloading
    assert_converged(world, python, expected, managed)


def stand_in(world, phase: str) -> tuple[dict[str, str], Path]:
    script = world["tmp"] / "uv-stand-in"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(0o755)
    mark = world["tmp"] / f"stalled-{phase}"
    return {"INCRINSTALL_UV": str(script), "CRASH_REAL_UV": uv_bin(), "CRASH_PHASE": phase,
            "CRASH_MARK": str(mark)}, mark


def kill_at_mark(world, python: Path, env: dict[str, str], mark: Path, what: str, *, phase: str) -> None:
    """Start a sync with the stand-in uv, wait until it reaches `mark`, check the journal's phase, SIGKILL it all."""
    proc = start_sync(world, python, env)
    try:
        wait_for(mark.exists, proc, what)
        assert journal_of(python)["phase"] == phase
        kill_group(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)


def test_sync_killed_halfway_through_installing_converges_on_the_next_sync(crash_world):
    world = crash_world
    expected, managed = controlled(world)
    python = baseline_venv(world, "target")
    env, mark = stand_in(world, "install")

    kill_at_mark(world, python, env, mark, "half of the installs", phase="install")

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
    assert incomplete_records(python)

    assert_converged(world, python, expected, managed)


def test_sync_killed_halfway_through_removing_converges_on_the_next_sync(crash_world):
    world = crash_world
    expected, managed = controlled(world)
    python = baseline_venv(world, "target")
    env, mark = stand_in(world, "remove")

    kill_at_mark(world, python, env, mark, "the first removal", phase="remove")

    now = installed(python)
    assert all(now.get(n) == expected[n] for n in UPGRADED + NEW)  # the install phase was complete
    assert sum(n in now for n in OLD) == len(OLD) - 1  # and the removals had just begun
    left = [n for n in OLD if n in now]
    tear_removal(python, left[0])  # two of them cut short, at different points
    tear_removal(python, left[1], keep="RECORD")

    assert_converged(world, python, expected, managed)
