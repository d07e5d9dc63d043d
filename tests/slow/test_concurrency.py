"""Many incrinstall processes on one environment at once, and a plan against a slow index.

- 2, then 8 concurrent syncs of one spec change: all exit 0, the environment is exactly the change,
  and the environment lock serialized them: each process's uv calls (logged by a wrapper around the
  real uv, INCRINSTALL_UV) lie in one stretch of time that no other process's uv calls enter.
- 8 concurrent syncs of two different specs, alternating: each one plans against what the one before
  it left, so the environment ends as the last one to change it asked.
- A sync and a baseline racing on one empty environment, both ways round: both exit 0 and the
  environment is what the later of the two asks for, consistent.
- A plan against an index that answers each request after 200 ms finishes within half of what one
  request at a time would take for its packages: the requests run concurrently.

(tests/install/test_sync_lock.py covers the single waiter: its message, --lock-timeout, a gated pair.)
INCRINSTALL_CONCURRENCY_REPORT=path writes the figures as JSON.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent
from tests.support.processes import merge_report
from tests.support.venvs import installed, uv_bin
from tests.support.world import World

pytestmark = pytest.mark.slow

BEFORE = ["aaa==1.0", "ccc", "eee==1.0"]
AFTER = ["aaa==2.0", "ddd", "eee==2.0"]  # aaa 2.0 requires bbb
BEFORE_ENV = {"aaa": "1.0", "ccc": "1.0", "eee": "1.0"}
AFTER_ENV = {"aaa": "2.0", "bbb": "1.0", "ddd": "1.0", "eee": "2.0"}

# Logs each uv call of an incrinstall process (its parent): "start|end <pid> <seconds>", around the real uv.
LOGGING_UV = """#!/bin/sh
echo "start $PPID $(date +%s.%N)" >> "{log}"
"{uv}" "$@"
rc=$?
echo "end $PPID $(date +%s.%N)" >> "{log}"
exit $rc
"""


def write_report(section: str, figures: dict) -> None:
    merge_report("INCRINSTALL_CONCURRENCY_REPORT", {section: figures})


class RaceWorld(World):
    """A World whose every run logs its uv calls (INCRINSTALL_UV: LOGGING_UV), with many runs started at once."""

    def __init__(self, tmp: Path, index, python: Path):
        self.log = tmp / "uv-calls.log"
        self.uv = tmp / "logging-uv"
        self.uv.write_text(LOGGING_UV.format(log=self.log, uv=uv_bin()))
        self.uv.chmod(0o755)
        super().__init__(tmp, index, python, env={"INCRINSTALL_UV": str(self.uv)})

    def folder(self, name: str, deps: list[str]) -> Path:
        """A project tree `tmp/name` asking for `deps`."""
        return self.project(self.tmp / name, deps)

    def archive(self, name: str, deps: list[str]) -> Path:
        """That tree as `tmp/name.tar.gz` (under `name-main/`)."""
        return self.tarball(self.folder(name, deps), name=f"{name}.tar.gz", top=f"{name}-main")

    def run_all(self, jobs: list[tuple[str, Path]], *, first_holds_the_lock: bool = False) -> list[dict]:
        """Start every (command, source) at once; wait for all; each one's pid, exit code, output, lifetime.

        `first_holds_the_lock`: start the others only once the first has written its journal (so holds the lock).
        """
        self.log.unlink(missing_ok=True)
        started = []
        for i, (command, source) in enumerate(jobs):
            proc, out = self.start(command, source, log=f"{command}-{i}.log")
            started.append((proc, out, time.time(), command, source))
            while first_holds_the_lock and i == 0 and not (self.state_dir / "journal.json").exists():
                assert proc.poll() is None, out.read_text()
                time.sleep(0.002)
        results = []
        for proc, out, began, command, source in started:
            code = proc.wait(timeout=300)
            results.append({"pid": proc.pid, "code": code, "output": out.read_text(), "began": began,
                            "ended": time.time(), "command": command, "source": source})
        return results

    def uv_spans(self) -> dict[int, tuple[float, float, int]]:
        """pid -> (first uv start, last uv end, number of uv calls), from the wrapper's log."""
        spans: dict[int, list] = {}
        for line in self.log.read_text().splitlines() if self.log.exists() else []:
            what, pid, at = line.split()
            span = spans.setdefault(int(pid), [float("inf"), 0.0, 0])
            if what == "start":
                span[0], span[2] = min(span[0], float(at)), span[2] + 1
            else:
                span[1] = max(span[1], float(at))
        return {pid: tuple(s) for pid, s in spans.items()}


@pytest.fixture
def world(tmp_path, index, venv_factory) -> RaceWorld:
    index.add_wheel("aaa", "1.0")
    index.add_wheel("aaa", "2.0", requires_dist=["bbb"])
    for name in ("bbb", "ccc", "ddd"):
        index.add_wheel(name, "1.0")
    index.add_wheel("eee", "1.0")
    index.add_wheel("eee", "2.0")
    return RaceWorld(tmp_path, index, venv_factory("target"))


def assert_serialized(spans: dict[int, tuple[float, float, int]]) -> None:
    """No process's uv calls fall inside another's stretch from its first uv call to its last."""
    ordered = sorted(spans.values())
    for (_, end, _), (start, _, _) in zip(ordered, ordered[1:]):
        assert end <= start, f"two processes ran uv at the same time: {ordered}"


def assert_overlapping(results: list[dict]) -> None:
    """All processes were alive together at some moment: the lock had something to serialize."""
    assert max(r["began"] for r in results) < min(r["ended"] for r in results), "they did not run concurrently"


@pytest.mark.parametrize("count", [2, 8])
def test_concurrent_syncs_of_one_change_are_serialized_and_all_succeed(world, count):
    world.run_all([("baseline", world.archive("main", BEFORE))])
    work = world.folder("work", AFTER)

    results = world.run_all([("sync", work)] * count)

    assert [r["code"] for r in results] == [0] * count, [r["output"] for r in results]
    assert_overlapping(results)
    spans = world.uv_spans()
    assert_serialized(spans)
    # One made the change; every other one found it made (changing nothing) or had nothing to do at all.
    changed = [r for r in results if "+ bbb==1.0" in r["output"]]
    assert len(changed) == 1, [r["output"] for r in results]
    assert all("sync: 0 changed" in r["output"] or "nothing to do" in r["output"] for r in results if r not in changed)
    assert set(spans) == {changed[0]["pid"]}  # and only that one ran uv
    assert installed(world.python) == AFTER_ENV
    assert sorted(world.managed()) == sorted(AFTER_ENV)
    assert_environment_consistent(world.python)
    waited = sum("waiting for another incrinstall" in r["output"] for r in results)
    write_report(f"{count}_syncs", {"exit_codes": [r["code"] for r in results], "waited_for_the_lock": waited,
                                    "changed_by": 1, "seconds": round(max(r["ended"] for r in results)
                                                                      - min(r["began"] for r in results), 2)})


def test_concurrent_syncs_of_two_specs_each_start_from_what_the_one_before_left(world):
    world.run_all([("baseline", world.archive("main", BEFORE))])
    before, after = world.folder("spec-before", BEFORE), world.folder("spec-after", AFTER)

    results = world.run_all([("sync", after if i % 2 == 0 else before) for i in range(8)])

    assert [r["code"] for r in results] == [0] * 8, [r["output"] for r in results]
    assert_overlapping(results)
    spans = world.uv_spans()
    assert_serialized(spans)
    by_pid = {r["pid"]: r for r in results}
    order = [by_pid[pid] for pid, _ in sorted(spans.items(), key=lambda item: item[1][0])]
    # Each one that changed something changed it away from the other spec: it saw its predecessor's result.
    assert all(a["source"] != b["source"] for a, b in zip(order, order[1:])), [r["source"].name for r in order]
    last = order[-1]["source"]
    assert installed(world.python) == (AFTER_ENV if last == after else BEFORE_ENV)
    assert_environment_consistent(world.python)
    write_report("8_syncs_two_specs", {"exit_codes": [r["code"] for r in results], "changed_it": len(order),
                                       "order": [r["source"].name for r in order]})


@pytest.mark.parametrize("first", ["neither", "baseline", "sync"])
def test_a_sync_and_a_baseline_racing_on_one_environment(world, first):
    """Started together (whichever gets the lock first), or one already holding the lock when the other starts."""
    archive, work = world.archive("main", BEFORE), world.folder("work", AFTER)
    jobs = [("baseline", archive), ("sync", work)]

    results = world.run_all(jobs if first != "sync" else jobs[::-1], first_holds_the_lock=first != "neither")

    assert [r["code"] for r in results] == [0, 0], [r["output"] for r in results]
    assert_overlapping(results)
    spans = world.uv_spans()
    assert_serialized(spans)
    assert len(spans) == 2  # both changed the environment (it started empty; they ask for different sets)
    later = max(results, key=lambda r: spans[r["pid"]][0])
    if first != "neither":
        assert later["command"] != first
    expected = BEFORE_ENV if later["command"] == "baseline" else AFTER_ENV
    assert installed(world.python) == expected
    assert sorted(world.managed()) == sorted(expected)
    assert_environment_consistent(world.python)
    state = world.state_json()["tool"]["incrinstall"]
    assert state["baseline"]["fingerprint"]  # the baseline's record survived whichever order
    write_report(f"sync_and_baseline_{first}_holding_the_lock_first", {
        "exit_codes": [r["code"] for r in results], "ran_last": later["command"]})


def test_a_plan_against_a_slow_index_fetches_concurrently(world, run_cli):
    count, delay = 24, 0.2
    names = [f"slow{i:02d}" for i in range(count)]
    for name in names:
        world.index.add_wheel(name, "1.0")
    work = world.folder("slow", names)
    args = world.argv("plan", work)  # not world.run: no logging uv for a plan
    started = time.monotonic()
    warm = run_cli(*args, env={"INCRINSTALL_NO_CACHE": "1"})  # the same plan without delay: what is not the index's
    undelayed = time.monotonic() - started
    assert warm.returncode == 0, warm.stderr

    world.index.delay = delay
    world.index.reset_log()
    started = time.monotonic()
    proc = run_cli(*args, env={"INCRINSTALL_NO_CACHE": "1"})  # nothing from the warm run's metadata cache
    elapsed = time.monotonic() - started
    world.index.delay = 0.0

    assert proc.returncode == 0, proc.stderr
    assert f"{count} to install" in proc.stdout, proc.stdout
    requests = world.index.count()
    assert requests >= count  # every package's page at least
    one_at_a_time = requests * delay
    bound = 0.5 * count * delay
    write_report("plan_slow_index", {"packages": count, "delay_s": delay, "requests": requests,
                                     "one_at_a_time_s": round(one_at_a_time, 2), "bound_s": bound,
                                     "elapsed_s": round(elapsed, 2), "without_delay_s": round(undelayed, 2)})
    print(f"plan of {count} packages, {requests} requests at {delay} s each: {elapsed:.2f} s "
          f"(bound {bound:.2f} s, one at a time {one_at_a_time:.1f} s)")
    assert elapsed < bound, f"{elapsed:.2f} s for {requests} requests: not concurrent enough"
