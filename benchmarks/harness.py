"""Measure each tool on each scenario side by side: prepared environments, timed runs, request counts, correctness.

A suite is one project (synthetic at some N, or the real-packages one) served by one index.
`prepare()` builds, once and untimed, each tool's starting environment ("snapshot"), the
truth for every scenario (a fresh `uv pip compile` of the changed tree, in a folder uv has
never seen), and primes the shared uv cache with every wheel a scenario will need. `measure()`
then runs, for every scenario and round, every tool in turn: restore its environment and the
project tree (untimed), apply the scenario's edit, run the tool's commands (timed), and on
the first round compare the environment to the truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from incrinstall.benchkit import (compare_to_expected, copy_tree, dist_versions, env_diff, remove_tree, reset_tree,
                                  site_dirs_of, summarize, venv_python)

REPO = Path(__file__).resolve().parent.parent
TOOLING = {"pip", "setuptools", "wheel"}  # present in some starting environments, never part of the specs


@dataclass
class Step:
    label: str
    argv: list[str]
    shown: str  # the command as RESULTS.md prints it (placeholders instead of scratch paths)


@dataclass
class Tool:
    id: str
    label: str
    snapshot: str  # the prepared environment every run starts from
    steps: Callable[[Suite, str], list[Step]]  # (suite, venv python) -> commands, timed together
    scenarios: tuple[str, ...] | None = None  # None: every scenario but "baseline"
    uses_incrinstall_cache: bool = False
    runs: int | None = None  # fewer runs for the slow reference tools


@dataclass
class Sample:
    seconds: float
    steps: dict[str, float]
    requests: int | None  # counted at the loopback index
    bytes: int | None
    self_requests: int | None = None  # as incrinstall --json reports them (the real-index suite)


@dataclass
class Result:
    """One tool on one scenario: all its samples and what its first run left behind."""

    scenario: str
    tool: str
    samples: list[Sample] = field(default_factory=list)
    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    vs_fresh: dict[str, list[str]] = field(default_factory=dict)
    check_ok: bool | None = None
    check_output: str = ""
    error: str | None = None

    def to_json(self) -> dict:
        from dataclasses import asdict

        times = [s.seconds for s in self.samples]
        stats = asdict(summarize(times)) if times else None
        per_step = {}
        for label in (self.samples[0].steps if self.samples else {}):
            per_step[label] = asdict(summarize([s.steps[label] for s in self.samples]))
        requests = [s.requests for s in self.samples if s.requests is not None]
        own = [s.self_requests for s in self.samples if s.self_requests is not None]
        sizes = [s.bytes for s in self.samples if s.bytes is not None]
        return {
            "scenario": self.scenario, "tool": self.tool, "stats": stats, "steps": per_step,
            "seconds": [round(t, 4) for t in times],
            "index_requests": max(requests) if requests else None,
            "index_requests_self_reported": max(own) if own else None,
            "bytes": max(sizes) if sizes else None,
            "installed": self.installed, "removed": self.removed, "changed": self.changed,
            "vs_fresh_resolve": self.vs_fresh,
            "equals_fresh_resolve": (not any(self.vs_fresh.values())) if self.vs_fresh else None,
            "orphans": len(self.vs_fresh.get("extraneous", [])),
            "check_ok": self.check_ok, "check_output": self.check_output[-2000:], "error": self.error,
        }


@dataclass
class Suite:
    """A project, the index it installs from, its scenarios, and the scratch folders of one run."""

    name: str
    work: Path
    project: Path  # the tree the tools run on (restored from `template` before every run)
    template: Path
    index_url: str
    uv: str
    python: str  # interpreter the environments are made from
    env: dict[str, str]  # environment of every subprocess
    scenarios: list[str]
    apply: Callable[[str, Path], list[str]]  # edit the tree as a scenario does; returns the files changed
    selection: list[str] = field(default_factory=list)  # e.g. ["--extra", "all"]
    extras_suffix: str = ""  # e.g. "[all]" for `-e .[all]`
    project_name: str = ""
    index: object | None = None  # a StaticIndex (request log) for the synthetic suites
    n: int | None = None
    universe: object | None = None  # the synthetic.Universe behind a synthetic suite (its oracle)
    truth: dict[str, dict[str, str]] = field(default_factory=dict)
    truth_notes: list[str] = field(default_factory=list)
    touches: dict[str, list[str]] = field(default_factory=dict)  # scenario -> files its edit rewrites
    snapshot_versions: dict[str, dict[str, str]] = field(default_factory=dict)
    setup_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def envs(self) -> Path:
        return self.work / "envs"

    @property
    def snaps(self) -> Path:
        return self.work / "snapshots"

    @property
    def uv_cache(self) -> Path:
        return Path(self.env["UV_CACHE_DIR"])

    @property
    def incr_cache(self) -> Path:
        return Path(self.env["INCRINSTALL_CACHE_DIR"])

    def incr(self) -> list[str]:
        return [sys.executable, "-m", "incrinstall"]

    def index_args(self) -> list[str]:
        return ["--index-url", self.index_url]


def compile_incrinstall() -> None:
    """Write incrinstall's .pyc files, as `pip install` does (a no-op once they are current)."""
    import compileall

    compileall.compile_dir(str(REPO / "incrinstall"), quiet=1)


def subprocess_env(work: Path, uv_cache: Path, *, keep_network_config: bool = False) -> dict[str, str]:
    """A quiet, isolated environment: our uv cache and incrinstall cache, no pip/uv config of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "INCRINSTALL_"))}
    env.pop("VIRTUAL_ENV", None)
    # incrinstall runs from this checkout (PYTHONPATH below); an installed incrinstall has its
    # bytecode compiled by pip, so compile it here too rather than time CPython's compiler
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compile_incrinstall()
    env.update({
        "UV_CACHE_DIR": str(uv_cache),
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "NO_COLOR": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "INCRINSTALL_CACHE_DIR": str(work / "incrinstall-cache"),
        "PYTHONPATH": str(REPO),
    })
    if not keep_network_config:
        env["NO_PROXY"] = "127.0.0.1,localhost"
        env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run(argv: list[str], suite: Suite, *, what: str, cwd: Path | None = None,
        check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, env=suite.env, cwd=cwd or suite.project, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")
    return proc


# Snapshots taken of one environment at two moments share its folder (a venv must stay where it was made).
ENV_DIR = {"incr-nostamp": "incr", "uv-editable": "uv-base"}


def env_dir(suite: Suite, snapshot: str) -> Path:
    return suite.envs / ENV_DIR.get(snapshot, snapshot)


def make_venv(suite: Suite, name: str, *, with_pip: bool = False) -> str:
    """A new environment at envs/NAME (replacing any); `with_pip` uses the stdlib venv, whose pip is bundled."""
    path = suite.envs / name
    remove_tree(path)
    if with_pip:
        run([suite.python, "-m", "venv", str(path)], suite, what="python -m venv")
    else:
        run([suite.uv, "venv", "--quiet", "--python", suite.python, str(path)], suite, what="uv venv")
    return venv_python(path)


def reset_project(suite: Suite, scenario: str) -> None:
    reset_tree(suite.template, suite.project)
    if scenario not in ("noop", "baseline"):
        suite.apply(scenario, suite.project)


def save_snapshot(suite: Suite, name: str) -> None:
    remove_tree(suite.snaps / name)
    suite.snaps.mkdir(parents=True, exist_ok=True)
    copy_tree(env_dir(suite, name), suite.snaps / name)
    suite.snapshot_versions[name] = dist_versions(site_dirs_of(env_dir(suite, name)))


# uv keeps what it built from source trees (the project's metadata and editable wheels) in these
# folders, keyed by the mtimes of pyproject.toml/setup.py/setup.cfg. Every run gets them back as they
# were after the setup, so one tool's rebuild of the project never serves the next tool.
UV_BUILD_DIRS = ("sdists-v*", "builds-v*")


def _uv_build_dirs(root: Path) -> list[Path]:
    return sorted(p for pattern in UV_BUILD_DIRS for p in root.glob(pattern) if p.is_dir())


def save_uv_builds(suite: Suite) -> None:
    snap = suite.snaps / "uv-builds"
    remove_tree(snap)
    snap.mkdir(parents=True)
    for folder in _uv_build_dirs(suite.uv_cache):
        copy_tree(folder, snap / folder.name)


def restore_uv_builds(suite: Suite) -> None:
    snap = suite.snaps / "uv-builds"
    if not snap.is_dir():
        return
    wanted = {p.name for p in snap.iterdir()}
    for folder in _uv_build_dirs(suite.uv_cache):
        if folder.name not in wanted:
            remove_tree(folder)
    for name in wanted:
        reset_tree(snap / name, suite.uv_cache / name)


def compile_truth(suite: Suite, scenario: str, report: Callable[[str], None]) -> dict[str, str]:
    """{name: version} of a fresh `uv pip compile` of the changed tree, in a folder uv has never built.

    The tree is made from the template, not from `suite.project`: the project's own files must
    keep the ctime they had when the setup built them (see `measure_order`).
    """
    fresh = suite.work / "truth" / f"{scenario}-{time.time_ns()}"
    fresh.parent.mkdir(parents=True, exist_ok=True)
    copy_tree(suite.template, fresh)
    suite.touches[scenario] = suite.apply(scenario, fresh) if scenario not in ("noop", "baseline") else []
    proc = run([suite.uv, "pip", "compile", "--python", suite.python, "--no-header", "--no-annotate",
                str(fresh / "pyproject.toml"), *suite.selection, *suite.index_args()], suite,
               what=f"uv pip compile ({scenario})", cwd=fresh)
    pins = parse_pins(proc.stdout)
    remove_tree(fresh)
    report(f"  truth for {scenario}: {len(pins)} packages")
    return pins


def measure_order(suite: Suite) -> list[str]:
    """The scenarios in the order they are measured: those that leave pyproject.toml alone first.

    uv keys its cached build of a source tree on the ctime of pyproject.toml (setup.py, setup.cfg).
    Restoring pyproject.toml after a scenario that edited it gives it a new ctime, and from then on
    uv would rebuild the project in every scenario; measured first, the other scenarios see the
    cache as the setup left it, as a developer's machine would after installing the baseline.
    """
    def key(scenario: str) -> tuple[int, int]:
        edits_pyproject = "pyproject.toml" in suite.touches.get(scenario, [])
        return (0 if scenario == "baseline" else 1, 1 if edits_pyproject else 0)

    return sorted(suite.scenarios, key=key)  # stable: the given order within each group


def parse_pins(text: str) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line and not line.startswith("-"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name.split("[")[0].strip())] = version.split(";")[0].strip()
    return pins


def prime_wheels(suite: Suite, report: Callable[[str], None]) -> None:
    """Put every wheel a scenario installs into the shared uv cache, so no tool pays a download the others skip."""
    base = suite.truth.get("noop", {})
    wanted = sorted({f"{n}=={v}" for pins in suite.truth.values() for n, v in pins.items() if base.get(n) != v})
    if not wanted:
        return
    py = make_venv(suite, "prime")
    run([suite.uv, "pip", "install", "--python", py, "--no-deps", *wanted, *suite.index_args()], suite,
        what="priming the uv cache")
    remove_tree(suite.envs / "prime")
    report(f"  primed the uv cache with {len(wanted)} wheels the scenarios need")


def measure_once(suite: Suite, tool: Tool, scenario: str) -> tuple[Sample, str]:
    """One timed run from the tool's snapshot; returns the sample and the venv python it ran on."""
    env_path = env_dir(suite, tool.snapshot)
    reset_tree(suite.snaps / tool.snapshot, env_path)
    reset_project(suite, scenario)
    if tool.uses_incrinstall_cache:
        reset_tree(suite.snaps / "incrinstall-cache", suite.incr_cache)
    restore_uv_builds(suite)
    py = venv_python(env_path)
    steps = tool.steps(suite, py)
    if suite.index is not None:
        suite.index.reset_log()
    times: dict[str, float] = {}
    self_requests = None
    for step in steps:
        start = time.perf_counter()
        proc = subprocess.run(step.argv, env=suite.env, cwd=suite.project, capture_output=True, text=True,
                              timeout=1800)
        times[step.label] = time.perf_counter() - start
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"{tool.id} on {scenario}: {step.label} failed (exit {proc.returncode})\n{tail}")
        if proc.stdout.startswith("{"):
            try:
                self_requests = json.loads(proc.stdout).get("index_requests")
            except ValueError:
                pass
    requests = len(suite.index.requests) if suite.index is not None else None
    sent = suite.index.bytes_sent if suite.index is not None else None
    return Sample(sum(times.values()), times, requests, sent, self_requests), py


def check_result(suite: Suite, tool: Tool, scenario: str, result: Result, py: str) -> None:
    """What the first run left: the delta against the snapshot, the difference from a fresh resolve, pip check."""
    after = dist_versions(site_dirs_of(Path(py).parent.parent))
    before = suite.snapshot_versions[tool.snapshot]
    result.installed, result.removed, result.changed = env_diff(before, after)
    truth = suite.truth.get(scenario if scenario != "baseline" else "noop")
    if truth is not None:
        result.vs_fresh = compare_to_expected(after, truth, ignore=TOOLING | {suite.project_name})
    proc = subprocess.run([suite.uv, "pip", "check", "--python", py], env=suite.env, capture_output=True, text=True)
    result.check_ok = proc.returncode == 0
    result.check_output = (proc.stdout + proc.stderr).strip()


def measure(suite: Suite, tools: list[Tool], runs: int, report: Callable[[str], None],
            scenario_runs: dict[str, int] | None = None) -> list[Result]:
    """Every scenario, `runs` rounds (or `scenario_runs[scenario]`), every tool once per round.

    Side by side: in each round every tool runs once, from the same cache state.
    """
    results: list[Result] = []
    for scenario in measure_order(suite):
        active = [t for t in tools if applies(t, scenario)]
        by_tool = {t.id: Result(scenario, t.id) for t in active}
        started = time.perf_counter()
        rounds = (scenario_runs or {}).get(scenario, runs)
        for round_no in range(rounds):
            for tool in active:
                res = by_tool[tool.id]
                if res.error or round_no >= (tool.runs or runs):
                    continue
                try:
                    sample, py = measure_once(suite, tool, scenario)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    res.error = str(exc)
                    report(f"  ! {exc}")
                    continue
                res.samples.append(sample)
                if round_no == 0:
                    check_result(suite, tool, scenario, res, py)
        results += by_tool.values()
        line = ", ".join(f"{r.tool} {_median(r):.3f}s" for r in by_tool.values() if r.samples)
        report(f"  {suite.name} {scenario} ({time.perf_counter() - started:.0f} s): {line}")
    return results


def applies(tool: Tool, scenario: str) -> bool:
    return scenario in tool.scenarios if tool.scenarios is not None else scenario != "baseline"


def _median(result: Result) -> float:
    return summarize([s.seconds for s in result.samples]).median
