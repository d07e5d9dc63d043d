"""SIGKILL real syncs and baselines at random points; the next run must converge to the uninterrupted result.

One scenario: a baseline environment plus the project installed editable, and a spec change that
bumps, downgrades, adds and removes packages (one removal ships the same folder as its successor,
so the removal phase also restores a survivor), and changes the editable project's dependencies so
its METADATA/RECORD are refreshed in place. A control copy of the environment is synced without
interruption and timed (its timeline sets how long each phase lasts); then each trial
(random.Random(SEED)) restores the prepared environment (`cp -a` of a snapshot), starts
`incrinstall sync` in its own session, waits for a phase to begin, and kills the whole process
group (SIGSTOP, note what runs, SIGKILL) after a random delay within that phase:

- download: uv fetches wheels from a slowed file server into an empty cache;
- install:  uv writes into site-packages (from the first change of its listing); uv copies the files
            (UV_LINK_MODE=copy, as in a Docker build with a cache mount), which takes long enough to cut;
- remove:   from the journal's switch to the removal phase (uv's uninstall, the survivor's restore);
- editable / state: in-process writes take microseconds, so a random one of their file operations
  (before or after the os.replace of METADATA, RECORD, pylock.toml, pylock.json, stamp.json) is
  chosen and the CLI runs under tests/support/pause_driver.py, which stalls there to be killed.

After the kill, one plain `incrinstall sync` must leave exactly the control's environment: every
file of the venv with the same content (nothing missing, nothing left over), every RECORD complete
with its hashes, `uv pip check` clean, the same managed set and lock, no journal, and a following
sync with nothing to do. Baselines (from a .tar.gz of the main tree) are killed the same way into
an empty venv, also while reading and resolving (before any journal), and followed by either the
baseline again or a sync; each is compared with the same run uninterrupted.

INCRINSTALL_KILL_REPORT=path writes the figures (trials, kills per phase, what the kills left
behind, failures) as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.envcheck import forget_hashes, record_problems
from tests.support.index_server import LoopbackIndex
from tests.support.processes import group_commands, merge_report
from tests.support.venvs import installed, pip_check
from tests.support.world import World

pytestmark = pytest.mark.slow

SEED = 13  # issue 13
SYNC_TRIALS = {"download": 8, "install": 8, "remove": 8, "editable": 8, "state": 8}
FILES_PER_WHEEL = 120  # enough that uv's install and removal can be cut at many points
DOWNLOAD_DELAY = 0.12  # seconds per wheel from the file server, in download trials
CHANGES = 11  # packages the spec change installs: 5 upgrades, 1 downgrade, 4 new, the new jwt

UPGRADED = [f"up{i}" for i in range(1, 6)]
NEW = [f"new{i}" for i in range(1, 5)]
OLD = [f"old{i}" for i in range(1, 5)]
OLD_JWT, NEW_JWT = "jwt-lite", "pyjwt-lite"  # ship the same `jwt/` folder
BEFORE = [*(f"{n}==1.0" for n in UPGRADED), "down1==2.0", *OLD, OLD_JWT]
AFTER = [*(f"{n}==2.0" for n in UPGRADED), "down1==1.0", *NEW, NEW_JWT]

PROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "killme"
version = "1.0"
dependencies = {deps}

[tool.hatch.build.targets.wheel]
packages = ["killme"]
"""

# (operation, file name, occurrence, before/after) of each in-process point the pause driver can stall at.
EDITABLE_POINTS = [("replace", f, 1, w) for f in ("METADATA", "RECORD") for w in ("before", "after")]
STATE_POINTS = [("replace", f, 1, w) for f in ("pylock.toml", "pylock.json", "stamp.json") for w in ("before", "after")]
BASELINE_TRIALS = {"resolve": 3, "download": 3, "install": 3, "state": 3}
BASELINE_POINTS = [("replace", f, 1, w) for f in ("pylock.toml", "pylock.json") for w in ("before", "after")] + [
    ("unlink", "journal.json", 1, w) for w in ("before", "after")]


def module_files(module: str, dist: str, version: str) -> dict[str, str]:
    return {f"{module}/m{i:03d}.py": f"X = {i}  # {dist} {version}\n" for i in range(FILES_PER_WHEEL)}


def fill_index(index: LoopbackIndex) -> None:
    for name in UPGRADED:
        index.add_wheel(name, "1.0", files=module_files(name, name, "1.0"))
        index.add_wheel(name, "2.0", files={**module_files(name, name, "2.0"), f"{name}/extra.py": ""})
    for version in ("1.0", "2.0"):
        index.add_wheel("down1", version, files=module_files("down1", "down1", version))
    for name in NEW + OLD:
        index.add_wheel(name, "1.0", requires_dist=["shared>=1"], files=module_files(name, name, "1.0"))
    index.add_wheel("shared", "1.0")
    index.add_wheel(OLD_JWT, "1.0", module="jwt", files=module_files("jwt", OLD_JWT, "1.0"))
    index.add_wheel(NEW_JWT, "2.0", module="jwt", files=module_files("jwt", NEW_JWT, "2.0"))


class TrialWorld(World):
    """The killme project's World: its baseline reads a .tar.gz of main; every run copies files into
    site-packages (UV_LINK_MODE=copy) with its own TMPDIR; the venv can be snapshotted and restored."""

    def __init__(self, tmp: Path, pages: LoopbackIndex, real_wheels_index: LoopbackIndex, python: Path):
        self.tmpdir = tmp / "cli-tmp"  # TMPDIR of every run: what a killed baseline leaves unpacked shows here
        self.tmpdir.mkdir()
        # uv copies rather than hardlinks, as in a Docker build with a cache mount: slow enough to be cut midway.
        super().__init__(tmp, pages, python, template=PROJECT, package="killme", extra_index=real_wheels_index.url,
                         env={"TMPDIR": str(self.tmpdir), "UV_LINK_MODE": "copy"})
        self.files = pages.files_from
        self.project(self.main, BEFORE)
        self.archive = self.tarball(name="killme-main.tar.gz", top="killme-main")
        self.project(self.work, BEFORE)

    def source(self, command: str) -> Path:
        return self.archive if command == "baseline" else self.work

    def snapshot(self, name: str) -> Path:
        copy = self.tmp / f"snapshot-{name}"
        shutil.rmtree(copy, ignore_errors=True)
        subprocess.run(["cp", "-a", str(self.prefix), str(copy)], check=True)
        return copy

    def restore(self, snapshot: Path) -> None:
        """The venv back as the snapshot has it, at the same path (absolute paths in it stay right)."""
        shutil.rmtree(self.prefix)
        subprocess.run(["cp", "-a", str(snapshot), str(self.prefix)], check=True)
        forget_hashes()  # the copy reuses freed inodes with the old mtimes


@pytest.fixture
def world(tmp_path, venv_factory, real_wheels_index):
    with LoopbackIndex(tmp_path / "dists") as files, LoopbackIndex(tmp_path / "dists", files_from=files) as pages:
        fill_index(pages)
        yield TrialWorld(tmp_path, pages, real_wheels_index, venv_factory("target"))


# --- what an environment is, to compare ---------------------------------------------------------------

def listing(world: TrialWorld) -> dict:
    """Every file of the venv (outside its state folder and bytecode caches) -> sha256, plus the lock's content."""
    files = {}
    for folder, dirs, names in os.walk(world.prefix):
        rel_folder = os.path.relpath(folder, world.prefix)
        dirs[:] = [d for d in dirs if d != "__pycache__" and not (rel_folder == "." and d == ".incrinstall")]
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            path = os.path.join(folder, name)
            rel = os.path.normpath(os.path.join(rel_folder, name))
            if os.path.islink(path):
                files[rel] = "link:" + os.readlink(path)
            else:
                with open(path, "rb") as f:
                    files[rel] = hashlib.sha256(f.read()).hexdigest()
    state = world.state_json()
    tool = state["tool"]["incrinstall"]
    return {
        "files": files,
        "dists": installed(world.python),
        "managed": sorted(tool["managed"]),
        "lock": {p["name"]: json.dumps(p, sort_keys=True)
                 for p in [*state.get("packages", []), *tool.get("packages-without-file", [])]},
        "state_folder": sorted(p.name for p in (world.prefix / ".incrinstall").iterdir()),
    }


def differences(got: dict, want: dict) -> list[str]:
    out = []
    for key in ("dists", "managed", "state_folder"):
        if got[key] != want[key]:
            out.append(f"{key}: {got[key]!r} != {want[key]!r}")
    lock = sorted(n for n in set(got["lock"]) | set(want["lock"]) if got["lock"].get(n) != want["lock"].get(n))
    if lock:
        out.append(f"the lock differs for {lock}: {got['lock'].get(lock[0])} != {want['lock'].get(lock[0])}")
    missing = sorted(set(want["files"]) - set(got["files"]))
    extra = sorted(set(got["files"]) - set(want["files"]))
    changed = sorted(f for f in set(got["files"]) & set(want["files"]) if got["files"][f] != want["files"][f])
    for what, names in (("missing", missing), ("left over", extra), ("changed", changed)):
        if names:
            out.append(f"{len(names)} files {what}: {names[:6]}")
    return out


# --- one trial -----------------------------------------------------------------------------------------

class Trigger:
    """Whether a phase of the run has begun, from what can be seen outside it (the journal, the files)."""

    def __init__(self, world: TrialWorld, phase: str, before_listing: set[str]):
        self.world, self.phase, self.before = world, phase, before_listing

    def reached(self) -> bool:
        w = self.world
        if self.phase == "resolve":
            return True  # from the start: the delay falls before the journal (reading specs, resolving)
        if self.phase == "download":
            return sum(e.path.endswith(".whl") for e in w.files.request_log) > 0
        if self.phase == "install":
            return w.journal() is not None and set(os.listdir(w.site)) != self.before
        if self.phase == "remove":
            return (w.journal() or {}).get("phase") == "remove"
        return w.pause_mark.exists()  # the pause driver's points


def kill_after(world: TrialWorld, proc: subprocess.Popen, trigger: Trigger, delay: float, timeout: float = 120) -> dict:
    """Wait for the trigger, then `delay` more, then stop the process group, note what runs, SIGKILL it."""
    deadline = time.monotonic() + timeout
    while not trigger.reached():
        if proc.poll() is not None:
            return {"killed": False, "why": f"exited {proc.returncode} before the phase began"}
        if time.monotonic() > deadline:
            return {"killed": False, "why": "the phase never began"}
        time.sleep(0.001)
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.0005)
    if proc.poll() is not None:
        return {"killed": False, "why": f"exited {proc.returncode} before the kill"}
    os.killpg(proc.pid, signal.SIGSTOP)  # frozen: what runs now is what the kill cuts
    running = group_commands(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return {"killed": True, "running": sorted(set(running))}


def aftermath(world: TrialWorld) -> dict:
    """What the kill left: the journal's phase, how far the change had got, torn dists."""
    journal = world.journal()
    now = installed(world.python)
    return {
        "journal": journal["phase"] if journal else None,
        "installed": len(now),
        "new_versions": sum(now.get(n) == "2.0" for n in UPGRADED) + (now.get("down1") == "1.0")
        + sum(n in now for n in [*NEW, NEW_JWT]),
        "old_left": sum(n in now for n in [*OLD, OLD_JWT]),
        "record_problems": len(record_problems(world.python)),
    }


def converge(world: TrialWorld, command: str, control: dict) -> list[str]:
    """One plain run after the kill; what differs from the control (empty: converged)."""
    problems = []
    forget_hashes()
    try:
        world.run(command, world.source(command))
    except AssertionError as exc:
        return [f"the {command} after the kill failed: {str(exc)[-600:]}"]
    try:
        problems += differences(listing(world), control)
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"no readable state after the {command}: {exc!r}")
    problems += [f"RECORD: {p}" for p in record_problems(world.python)][:5]
    ok, out = pip_check(world.python)
    if not ok:
        problems.append(f"uv pip check: {out[-400:]}")
    if world.journal() is not None:
        problems.append("the journal is still there")
    if command == "sync":
        again = world.sync()
        if "nothing to do" not in again.stdout:
            problems.append(f"the sync after that still did something: {again.stdout[-300:]}")
    return problems


def draw(rng: random.Random, trials: dict[str, int]) -> list[str]:
    phases = [phase for phase, n in trials.items() for _ in range(n)]
    rng.shuffle(phases)
    return phases


def write_report(report: dict) -> None:
    merge_report("INCRINSTALL_KILL_REPORT", report)


def summarize(results: list[dict], partly) -> dict:
    """Per phase: trials, kills, failures, and what the kills cut (journal phase, uv running, half-done changes)."""
    per_phase: dict[str, dict] = {}
    for r in results:
        p = per_phase.setdefault(r["phase"], {"trials": 0, "killed": 0, "failures": 0, "journal_at_kill": {},
                                              "uv_running_at_kill": 0, "torn_before_recovery": 0,
                                              "partly_changed": 0})
        p["trials"] += 1
        p["killed"] += r["killed"]
        p["failures"] += bool(r["problems"])
        if r["killed"]:
            after = r["after"]
            key = str(after["journal"])
            p["journal_at_kill"][key] = p["journal_at_kill"].get(key, 0) + 1
            p["uv_running_at_kill"] += "uv" in r.get("running", [])
            p["torn_before_recovery"] += after["record_problems"] > 0
            p["partly_changed"] += partly(after)
    return per_phase


def run_trials(world: TrialWorld, rng: random.Random, phases: list[str], snapshot: Path, *, command: str,
               windows: dict[str, float], recover) -> list[dict]:
    """Each trial: restore the snapshot, start `command`, kill it in its phase, converge, compare."""
    before = set(os.listdir(next(Path(snapshot).glob("lib/python*/site-packages"))))
    results = []
    for number, phase in enumerate(phases):
        world.restore(snapshot)
        env, pause, delay = {}, None, 0.0
        if phase == "download":
            # An empty uv cache and one slow download at a time: the kill lands while uv fetches wheel k of n.
            env = {"UV_CACHE_DIR": str(world.tmp / f"uv-cache-{command}-{number}"), "UV_CONCURRENT_DOWNLOADS": "1"}
            delay = rng.uniform(0, windows["download"])
            world.files.delay = DOWNLOAD_DELAY
        elif phase in ("state", "editable"):
            points = {"editable": EDITABLE_POINTS, "state": STATE_POINTS if command == "sync" else BASELINE_POINTS}
            pause = rng.choice(points[phase])
        else:
            delay = rng.uniform(0, windows[phase])
        world.files.reset_log()
        proc, _log = world.start(command, env=env, log="killed.log",
                                 pause=":".join(map(str, pause)) if pause else None)
        try:
            outcome = kill_after(world, proc, Trigger(world, phase, before), delay)
        finally:
            world.files.delay = 0.0
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        result = {"trial": number, "phase": phase, "delay": round(delay, 4),
                  "point": ":".join(map(str, pause)) if pause else None, **outcome, "after": aftermath(world)}
        then, control = recover(rng)
        result["recovered_by"] = then
        result["problems"] = converge(world, then, control)
        results.append(result)
    return results


def measure(world: TrialWorld, command: str, before: set[str]) -> dict[str, float]:
    """An uninterrupted run of `command`, watched: when its journal appeared, uv first changed site-packages,
    the removal phase began, the editable METADATA changed, and it exited (seconds from the start)."""
    metadata = next((d / "METADATA" for d in world.site.glob("killme-*.dist-info")), None)
    old_metadata = metadata.read_bytes() if metadata else None
    started = time.monotonic()
    proc, log = world.start(command, log="killed.log")
    seen: dict[str, float] = {}
    watch = {phase: Trigger(world, phase, before) for phase in ("install", "remove")}
    while proc.poll() is None:
        now = time.monotonic() - started
        if "journal" not in seen and world.journal() is not None:
            seen["journal"] = now
        for phase, trigger in watch.items():
            if phase not in seen and trigger.reached():
                seen[phase] = now
        if metadata and "refresh" not in seen and metadata.exists() and metadata.read_bytes() != old_metadata:
            seen["refresh"] = now
        time.sleep(0.001)
    seen["exit"] = time.monotonic() - started
    assert proc.returncode == 0, log.read_text()
    return seen



# --- the random trials ---------------------------------------------------------------------------------

def prepare_sync_world(world: TrialWorld) -> tuple[Path, dict, dict]:
    """The environment before the change (baseline + editable project), a snapshot of it, the control, the timeline."""
    world.baseline()
    world.sync(None, "--editable")
    assert "killme" in installed(world.python)
    world.project(world.work, AFTER)
    snapshot = world.snapshot("before")
    before = set(os.listdir(world.site))

    seen = measure(world, "sync", before)  # the control: uninterrupted, timed
    assert "refreshed the editable install's metadata of killme in place" in (world.tmp / "killed.log").read_text()
    control = listing(world)
    assert control["dists"] == {**{n: "2.0" for n in UPGRADED}, "down1": "1.0", **{n: "1.0" for n in NEW},
                                NEW_JWT: "2.0", "shared": "1.0", "killme": "1.0"}
    assert record_problems(world.python) == [] and pip_check(world.python)[0]
    assert {"install", "remove", "refresh"} <= set(seen), seen
    windows = {"download": CHANGES * DOWNLOAD_DELAY * 0.9,
               # uv's writes begin at "install"; most of the rest until "remove" is uv too, then the overlap check.
               "install": max(0.8 * (seen["remove"] - seen["install"]), 0.01),
               "remove": max(seen["refresh"] - seen["remove"], 0.01)}
    return snapshot, control, {"timeline_s": {k: round(v, 3) for k, v in seen.items()},
                               "windows_s": {k: round(v, 3) for k, v in windows.items()}}


def test_syncs_killed_at_random_points_converge_on_the_next_sync(world):
    started = time.monotonic()
    snapshot, control, calibration = prepare_sync_world(world)
    rng = random.Random(SEED)
    results = run_trials(world, rng, draw(rng, SYNC_TRIALS), snapshot, command="sync",
                         windows=calibration["windows_s"], recover=lambda _rng: ("sync", control))

    killed = sum(r["killed"] for r in results)
    failures = [r for r in results if r["problems"]]
    write_report({"seed": SEED, "sync": {
        "trials": len(results), "killed": killed, "failures": len(failures), "per_phase": summarize(
            results, lambda a: 0 < a["new_versions"] < CHANGES or 0 < a["old_left"] < len(OLD) + 1),
        "calibration": calibration, "seconds": round(time.monotonic() - started, 1),
        "failed_trials": failures, "trials_detail": results}})
    assert killed >= 30, [r for r in results if not r["killed"]]
    assert not failures, json.dumps(failures, indent=1)


def test_baselines_killed_at_random_points_converge_on_the_next_baseline_or_sync(world):
    started = time.monotonic()
    world.project(world.work, AFTER)
    empty = world.snapshot("empty")
    before = set(os.listdir(world.site))
    # The controls: an uninterrupted baseline (timed), and the sync after it. Timed warm, as every trial
    # runs: a first baseline fills uv's cache and is slower, and windows drawn from it miss the faster trials.
    measure(world, "baseline", before)
    world.restore(empty)
    seen = measure(world, "baseline", before)
    after_baseline = listing(world)
    assert after_baseline["dists"] == {**{n: "1.0" for n in UPGRADED}, "down1": "2.0", **{n: "1.0" for n in OLD},
                                       OLD_JWT: "1.0", "shared": "1.0"}
    world.sync()
    after_sync = listing(world)
    # The resolve window is the shorter part of what the control took: under a loaded CI run the trials'
    # baselines finished before kills drawn late in a full-length window (2 of 12 at seed 13).
    windows = {"resolve": seen["journal"] * 0.6, "download": len(after_baseline["dists"]) * DOWNLOAD_DELAY * 0.9,
               "install": max(0.8 * (seen["exit"] - seen["install"]), 0.01)}

    rng = random.Random(SEED + 1)
    results = run_trials(world, rng, draw(rng, BASELINE_TRIALS), empty, command="baseline", windows=windows,
                         recover=lambda r: r.choice([("baseline", after_baseline), ("sync", after_sync)]))

    killed = sum(r["killed"] for r in results)
    failures = [r for r in results if r["problems"]]
    # A killed baseline leaves its unpacked archive in TMPDIR (archive.py's to clean; counted, not failed).
    unpacked_left = len(list(world.tmpdir.glob("incrinstall-archive-*")))
    write_report({"seed": SEED, "baseline": {
        "trials": len(results), "killed": killed, "failures": len(failures), "per_phase": summarize(
            results, lambda a: 0 < a["installed"] < len(after_baseline["dists"])),
        "recovered_by": {c: sum(r["recovered_by"] == c for r in results) for c in ("baseline", "sync")},
        "unpacked_archives_left_in_tmpdir": unpacked_left,
        "timeline_s": {k: round(v, 3) for k, v in seen.items()}, "seconds": round(time.monotonic() - started, 1),
        "failed_trials": failures, "trials_detail": results}})
    assert killed >= len(results) - 2, [r for r in results if not r["killed"]]
    assert not failures, json.dumps(failures, indent=1)
