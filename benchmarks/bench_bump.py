"""The "changed dependency" cases, each against the hand-made alternative, side by side in one run.

From the repository root, with the dev environment's Python (incrinstall installed in it):

    python benchmarks/bench_bump.py [--runs 3] [--work DIR] [--json out.json]   # rows a, b, d, e, f
    python benchmarks/bench_bump.py --airflow                                    # also row c (long)
    python benchmarks/bench_bump.py --cases a,e,f --sizes 100 --runs 1           # a quick look

Rows (median [min-max] of --runs timed runs; every command runs once untimed first, so both sides
meet a warm uv cache; both sides share one uv cache):

  a  Apache Airflow 2.10.4's core dependencies (the unconditional Requires-Dist of its sdist's
     PKG-INFO, markers evaluated for the target, the pre-installed providers left out: they require
     apache-airflow itself) as a static pyproject.toml project with a tiny package of its own. The
     starting environment is `incrinstall sync --editable` of that project, in which one requirement
     (--bump-package, default rich) is held one release back (`<V`, V the version a fresh resolve
     picks); the change raises its lower bound past the installed version (`rich>INSTALLED`). Timed:
     `incrinstall sync --editable` against `uv pip install -e .` on the changed tree.
  b  the synthetic N=100 / N=2,000 projects with a hatch hook, "bump" scenario, on a loopback index:
     exactly run.py's measurement (benchmarks/suites.py + harness.py), incrinstall sync against the
     hand-made `uv pip install -e .[all]`.
  c  (--airflow) the real Airflow 2.10.4 sdist tree with --extra devel-ci, the same hold-back and
     bump of --bump-package done in hatch_build.py: `incrinstall sync --editable --extra devel-ci`
     against `uv pip install -e '.[devel-ci]'`.
  d  warm `incrinstall specs --extra devel-ci` on the unpacked sdist (first run untimed: the hatch
     hook runs; then --runs timed runs on unchanged files).
  e  the no-op: `incrinstall sync --editable` again on case a's starting environment, nothing changed
     (the hand-made no-op, `uv pip install -e .`, for context).
  f  `incrinstall baseline DIR` (case a's starting tree) into an empty venv against
     `uv pip install -r PINS` of the same pins (a fresh `uv pip compile` of that tree) into an empty venv.

Starting environments. Every environment is made once, at its own path, and copied aside (a
snapshot); before every run the snapshot is copied back over that same path (untimed, with
incrinstall.benchkit.reset_tree, which keeps mtimes). A venv is not relocatable: its console scripts'
shebangs, `activate` and incrinstall's state name its absolute path, so a copy at another path is
a different environment. Restoring at the original path gives each run, and each side, a
byte-identical starting venv without a relocation step. uv's cached builds of the project tree are
restored the same way (harness.restore_uv_builds), so one side's build never serves the other.

Correctness, after the first run of every command: `uv pip check`, the packages that changed
against the starting environment, and the difference from a fresh `uv pip compile` of the changed
tree ("= fresh"). Scratch files go under --work (default benchmarks/work/bump).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from email.parser import HeaderParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_airflow3 import marker_env  # noqa: E402
from benchmarks.harness import (Result, Step, Suite, Tool, make_venv, measure, parse_pins, prime_wheels,  # noqa: E402
                                remove_tree, run, save_snapshot, save_uv_builds, subprocess_env)
from benchmarks.real_airflow_check import sdist, unpack  # noqa: E402
from benchmarks.run import machine_info, tool_versions  # noqa: E402
from benchmarks.suites import _new_suite, prepare, real_index_url, synthetic_suite  # noqa: E402
from benchmarks.tools import all_tools, uv_editable  # noqa: E402
from incrinstall.benchkit import copy_tree, dist_versions, format_seconds, site_dirs_of, summarize  # noqa: E402

AIRFLOW_VERSION = "2.10.4"
CORE_PROJECT = "airflow-core-deps-2104"
ALL_CASES = "abcdef"


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- requirements ----------------------------------------------------------------------------------


def core_requirements(pkg_info: Path, python: str) -> tuple[list[str], list[str]]:
    """(kept, left out): the unconditional Requires-Dist of PKG-INFO whose markers hold for `python`.

    Markers are dropped from what is kept (they hold); the pre-installed providers are left out.
    """
    from packaging.requirements import Requirement

    env = marker_env(python)
    meta = HeaderParser().parsestr(pkg_info.read_text(encoding="utf-8"))
    kept, left_out = [], []
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is not None:
            if "extra" in str(req.marker) or not req.marker.evaluate({**env, "extra": ""}):
                continue
        if req.name.lower().startswith("apache-airflow-providers-"):
            left_out.append(line.strip())
            continue
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        kept.append(f"{req.name}{extras}{req.specifier}")
    return kept, left_out


def _req_name(text: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(re.split(r"[\[<>=!~; ]", text.strip(), maxsplit=1)[0])


def held_back(req: str, version: str) -> str:
    """`req` with an upper bound that excludes `version` (and everything newer)."""
    return f"{req},<{version}" if re.search(r"[<>=!~]", req) else f"{req}<{version}"


def compile_pins(argv_tail: list[str], env: dict[str, str], uv: str, python: str, index_url: str, *,
                 stdin: str | None = None, cwd: Path | None = None) -> dict[str, str]:
    """{name: version} of `uv pip compile` (untimed setup)."""
    proc = subprocess.run([uv, "pip", "compile", "--no-header", "--no-annotate", "--python", python,
                           "--index-url", index_url, *argv_tail], input=stdin, env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"uv pip compile {' '.join(argv_tail)} failed (exit {proc.returncode})\n"
                           + "\n".join(proc.stderr.strip().splitlines()[-30:]))
    return parse_pins(proc.stdout)


def core_project_files(requirements: list[str]) -> dict[str, str]:
    body = "".join(f"    {json.dumps(r)},\n" for r in requirements)  # a JSON string is a TOML basic string
    return {
        "pyproject.toml": (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{CORE_PROJECT}"\nversion = "1.0.0"\nrequires-python = ">=3.9"\n'
            f"dependencies = [\n{body}]\n\n"
            '[tool.hatch.build.targets.wheel]\npackages = ["airflow_core_deps_2104"]\n'),
        "airflow_core_deps_2104/__init__.py": f'"""Apache Airflow {AIRFLOW_VERSION} core dependencies, as a project."""\n',
    }


# -- commands --------------------------------------------------------------------------------------


def incr_sync_editable(suite: Suite, py: str) -> list[Step]:
    argv = [*suite.incr(), "sync", str(suite.project), "--python", py, *suite.index_args(), *suite.selection,
            "--editable", "--json"]
    sel = (" " + " ".join(suite.selection)) if suite.selection else ""
    return [Step("sync", argv, f"incrinstall sync $PROJECT --editable{sel} --python $VENV/bin/python --index-url $INDEX")]


def incr_baseline_dir(suite: Suite, py: str) -> list[Step]:
    argv = [*suite.incr(), "baseline", str(suite.work / "baseline-src"), "--python", py, *suite.index_args(),
            *suite.selection, "--json"]
    return [Step("baseline", argv, "incrinstall baseline $WORK/baseline-src --python $VENV/bin/python --index-url $INDEX")]


def uv_pins(suite: Suite, py: str) -> list[Step]:
    argv = [suite.uv, "pip", "install", "--python", py, "-r", str(suite.work / "pins.txt"), *suite.index_args()]
    return [Step("install", argv, "uv pip install --python $VENV/bin/python -r $WORK/pins.txt --index-url $INDEX")]


def start_env(suite: Suite, bump: str, state: dict) -> None:
    """envs/start: a new venv, `incrinstall sync --editable` of the starting tree; snapshot it."""
    t0 = time.perf_counter()
    py = make_venv(suite, "start")
    run(incr_sync_editable(suite, py)[0].argv, suite, what="incrinstall sync --editable (starting environment)")
    installed = dist_versions(site_dirs_of(suite.envs / "start"))
    if bump not in installed:
        raise RuntimeError(f"{bump} is not in the starting environment")
    state["installed"] = installed[bump]
    state["start_packages"] = len(installed)
    save_snapshot(suite, "start")
    suite.setup_seconds["start"] = time.perf_counter() - t0
    _log(f"  starting environment: {len(installed)} packages, {bump} {installed[bump]} "
         f"({suite.setup_seconds['start']:.1f} s)")


def bump_tools(suite: Suite, label: str) -> list[Tool]:
    extras = suite.extras_suffix
    return [
        Tool("incrinstall", f"incrinstall sync --editable{label}", "start", incr_sync_editable,
             scenarios=("noop", "bump"), uses_incrinstall_cache=True),
        Tool("uv-editable", f"uv pip install -e '.{extras}'", "start", uv_editable, scenarios=("noop", "bump")),
    ]


def drop_warmup(results: list[Result]) -> None:
    """measure() ran runs+1 rounds: the first of each command was the untimed warm-up."""
    for res in results:
        if res.samples:
            res.samples = res.samples[1:]


# -- cases -----------------------------------------------------------------------------------------


def airflow_tree(work: Path) -> Path:
    return unpack(sdist(work, AIRFLOW_VERSION), work / f"tree-{AIRFLOW_VERSION}")


def case_core(args, ctx: dict) -> dict:
    """Rows a, e, f on one suite: Airflow 2.10.4's core dependencies as a static project."""
    uv, url, python = ctx["uv"], ctx["index_url"], args.python
    tree = airflow_tree(ctx["work"])
    reqs, left_out = core_requirements(tree / "PKG-INFO", python)
    bump = _req_name(args.bump_package)
    env = subprocess_env(ctx["work"], ctx["uv_cache"], keep_network_config=True)
    latest = compile_pins(["-"], env, uv, python, url, stdin="".join(f"{r}\n" for r in reqs))
    if bump not in latest:
        raise RuntimeError(f"--bump-package {bump} is not among the core dependencies' resolution")
    v_new = latest[bump]
    start_reqs = [held_back(r, v_new) if _req_name(r) == bump else r for r in reqs]
    if start_reqs == reqs:
        start_reqs.append(f"{bump}<{v_new}")
    state: dict = {"bump": bump, "hold_back_below": v_new}

    def changed_reqs() -> list[str]:
        out = [r for r in start_reqs if _req_name(r) != bump]
        return out + [f"{bump}>{state['installed']}"]

    def apply(scenario: str, dest: Path) -> list[str]:
        if scenario != "bump":
            return []
        (dest / "pyproject.toml").write_text(core_project_files(changed_reqs())["pyproject.toml"], encoding="utf-8")
        return ["pyproject.toml"]

    scenarios = ["baseline", "noop", "bump"] if "f" in args.cases else ["noop", "bump"]
    suite = _new_suite(f"Airflow {AIRFLOW_VERSION} core", ctx["work"] / "core", ctx["uv_cache"], uv=uv, python=python,
                       index_url=url, scenarios=scenarios, apply=apply, selection=[], extras_suffix="",
                       project_name=CORE_PROJECT, files=core_project_files(start_reqs), keep_network_config=True)
    _log(f"case a: {len(reqs)} root requirements ({len(left_out)} pre-installed providers left out); "
         f"{bump} held below {v_new}")
    start_env(suite, bump, state)
    remove_tree(suite.work / "baseline-src")
    copy_tree(suite.template, suite.work / "baseline-src")
    tools = bump_tools(suite, "")
    if "f" in args.cases:
        tools += [Tool("incr-baseline", "incrinstall baseline DIR", "empty", incr_baseline_dir,
                       scenarios=("baseline",), uses_incrinstall_cache=True),
                  Tool("uv-pins", "uv pip install -r PINS", "empty", uv_pins, scenarios=("baseline",))]
    prepare(suite, tools, _log)
    (suite.work / "pins.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(suite.truth["noop"].items())))
    state["change"] = f"pyproject.toml: {next(r for r in start_reqs if _req_name(r) == bump)} -> {bump}>{state['installed']}"
    _log(f"case a: measuring ({args.runs} runs after a warm-up); change {state['change']}")
    results = measure(suite, tools, args.runs + 1, _log)
    drop_warmup(results)
    return {"suite": suite, "results": results, "state": state, "requirements": reqs, "left_out": left_out}


def case_synthetic(args, ctx: dict, n: int) -> dict:
    """Row b at N: run.py's suite and tools (incrinstall, uv-editable), bump scenario only."""
    tools = [t for t in all_tools(None) if t.id in ("incrinstall", "uv-editable")]
    suite, index = synthetic_suite(n, work_root=ctx["work"], uv_cache=ctx["uv_cache"], uv=ctx["uv"],
                                   python=args.python, scenarios=["bump"], seed=args.seed, report=_log)
    try:
        prepare(suite, tools, _log)
        _log(f"case b N={n}: measuring ({args.runs} runs after a warm-up)")
        results = measure(suite, tools, args.runs + 1, _log)
    finally:
        index.stop()
    drop_warmup(results)
    bump = suite.universe.bump_name
    return {"suite": suite, "results": results,
            "state": {"bump": bump, "installed": suite.snapshot_versions["incr"].get(bump),
                      "change": f"pyproject.toml: {bump}>=1.0,<1.1 -> {bump}>=1.1"}}


SYSLIB_PATTERNS = [
    r"fatal error: ([\w/.+-]+\.h): No such file",
    r"(\w+_config) not found",
    r"(\w+-config): not found",
    r"Package '?([\w.+-]+)'? was not found in the pkg-config search path",
    r"Failed to build `([^`]+)`",
    r"error: command '([^']+)' failed",
    r"cannot find -l([\w+-]+)",
]


def missing_syslibs(text: str) -> list[str]:
    found: list[str] = []
    for pattern in SYSLIB_PATTERNS:
        for m in re.finditer(pattern, text):
            item = m.group(0).strip()
            if item not in found:
                found.append(item)
    return found


def airflow_fresh_pins(tree: Path, ctx: dict, python: str, env: dict[str, str], label: str) -> dict[str, str]:
    """A fresh resolve of the tree's devel-ci set by uv alone: `uv pip compile` of the root requirements
    `incrinstall specs` lists, with apache-airflow itself constrained to the tree's version.

    `uv pip compile pyproject.toml --extra devel-ci` is no oracle here: the pre-installed providers
    require apache-airflow, and uv satisfies that from the index (an Airflow 3 release) instead of
    the tree, which changes most of the set.
    """
    proc = subprocess.run([sys.executable, "-m", "incrinstall", "specs", str(tree), "--extra", "devel-ci", "--python",
                           python, "--index-url", ctx["index_url"], "--json"], env=env, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"incrinstall specs {tree} failed (exit {proc.returncode})\n{proc.stderr.strip()[-2000:]}")
    roots = [x["requirement"] for x in json.loads(proc.stdout)["requirements"]]
    folder = ctx["work"] / "airflow-oracle"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{label}.in").write_text("".join(f"{r}\n" for r in roots))
    (folder / "tree.txt").write_text(f"apache-airflow=={AIRFLOW_VERSION}\n")
    pins = compile_pins([str(folder / f"{label}.in"), "-c", str(folder / "tree.txt")], env, ctx["uv"], python,
                        ctx["index_url"], cwd=folder)
    pins.pop("apache-airflow", None)
    return pins


def case_airflow(args, ctx: dict) -> dict:
    """Row c: the real sdist tree, --extra devel-ci, a pin changed in hatch_build.py."""
    uv, url, python = ctx["uv"], ctx["index_url"], args.python
    src = airflow_tree(ctx["work"])
    bump = _req_name(args.bump_package)
    text = (src / "hatch_build.py").read_text(encoding="utf-8")
    m = re.search(rf'"({re.escape(args.bump_package)}(?=[<>=!~;\s"])[^"]*)"', text)
    if not m:
        raise RuntimeError(f"hatch_build.py has no requirement string for {args.bump_package}")
    env = subprocess_env(ctx["work"], ctx["uv_cache"], keep_network_config=True)
    fresh = airflow_fresh_pins(src, ctx, python, env, "unchanged")
    v_new = fresh[bump]
    start_req = held_back(m.group(1), v_new)
    state: dict = {"bump": bump, "hold_back_below": v_new, "fresh_packages": len(fresh)}

    work = ctx["work"] / "airflow"
    for stale in ("project", "template", "truth", "incrinstall-cache", "snapshots", "envs", "changed"):
        remove_tree(work / stale)
    work.mkdir(parents=True, exist_ok=True)
    copy_tree(src, work / "template")
    hb = work / "template" / "hatch_build.py"
    hb.write_text(text.replace(m.group(0), json.dumps(start_req), 1), encoding="utf-8")

    def apply(scenario: str, dest: Path) -> list[str]:
        if scenario != "bump":
            return []
        f = dest / "hatch_build.py"
        f.write_text(f.read_text(encoding="utf-8").replace(json.dumps(start_req),
                                                           json.dumps(f"{bump}>{state['installed']}"), 1),
                     encoding="utf-8")
        return ["hatch_build.py"]

    suite = Suite(name=f"Airflow {AIRFLOW_VERSION} devel-ci", work=work, project=work / "project",
                  template=work / "template", index_url=url, uv=uv, python=python, env=env,
                  scenarios=["bump"], apply=apply, selection=["--extra", "devel-ci"], extras_suffix="[devel-ci]",
                  project_name="apache-airflow")
    copy_tree(suite.template, suite.project)
    _log(f"case c: {len(fresh)} packages in a fresh devel-ci resolve; {bump} held below {v_new} in hatch_build.py")
    start_env(suite, bump, state)
    state["change"] = f"hatch_build.py: {start_req} -> {bump}>{state['installed']}"
    # The truth (harness.prepare's `uv pip compile pyproject.toml` is no oracle here, see above),
    # then what prepare does for the other suites: incrinstall's cache snapshot, wheels, uv builds.
    copy_tree(suite.template, work / "changed")
    suite.touches["bump"] = apply("bump", work / "changed")
    suite.truth["bump"] = airflow_fresh_pins(work / "changed", ctx, python, env, "changed")
    suite.truth["noop"] = dict(suite.snapshot_versions["start"])
    remove_tree(suite.snaps / "incrinstall-cache")
    suite.incr_cache.mkdir(parents=True, exist_ok=True)
    copy_tree(suite.incr_cache, suite.snaps / "incrinstall-cache")
    prime_wheels(suite, _log)
    save_uv_builds(suite)
    tools = bump_tools(suite, " --extra devel-ci")
    _log(f"case c: measuring ({args.runs} runs after a warm-up); change {state['change']}")
    results = measure(suite, tools, args.runs + 1, _log)
    drop_warmup(results)
    return {"suite": suite, "results": results, "state": state}


def case_specs(args, ctx: dict) -> dict:
    """Row d: `incrinstall specs --extra devel-ci` on an unchanged copy of the sdist tree."""
    tree = ctx["work"] / "specs-tree"
    if not tree.exists():
        copy_tree(airflow_tree(ctx["work"]), tree)
    env = subprocess_env(ctx["work"], ctx["uv_cache"], keep_network_config=True)
    cmd = [sys.executable, "-m", "incrinstall", "specs", str(tree), "--extra", "devel-ci", "--python", args.python,
           "--index-url", ctx["index_url"], "--json"]
    seconds, out = [], ""
    for _ in range(args.runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        seconds.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"incrinstall specs failed (exit {proc.returncode})\n{proc.stderr.strip()[-2000:]}")
        out = proc.stdout
    data = json.loads(out)
    return {"first": seconds[0], "samples": seconds[1:], "requirements": len(data.get("requirements", [])),
            "files": len(data.get("files", [])), "cmd": "incrinstall specs $TREE --extra devel-ci --python $PY --json"}


# -- report ----------------------------------------------------------------------------------------


def _stats(res: Result | None):
    if res is None or not res.samples:
        return None
    return summarize([s.seconds for s in res.samples])


def _cell(stats) -> str:
    if stats is None:
        return "-"
    return f"{format_seconds(stats.median)} [{format_seconds(stats.min)}-{format_seconds(stats.max)}]"


def _find(results: list[Result], scenario: str, tool: str) -> Result | None:
    return next((r for r in results if r.scenario == scenario and r.tool == tool), None)


def verify(res: Result | None, suite: Suite, scenario: str, state: dict, snapshot: str) -> tuple[bool | None, str]:
    """Did the run leave the expected environment? (ok, text)."""
    if res is None:
        return None, "-"
    if res.error:
        return False, "FAILED: " + res.error.splitlines()[0][:200]
    parts, ok = [], bool(res.check_ok)
    parts.append("uv pip check clean" if res.check_ok else "uv pip check: " + res.check_output.replace("\n", "; ")[:200])
    if scenario == "bump":
        bump, truth = state["bump"], suite.truth.get("bump", {})
        before = suite.snapshot_versions[snapshot]
        changed = [n for n in res.changed if n != suite.project_name]
        expect = truth.get(bump)
        if changed == [bump] and (not res.vs_fresh or not res.vs_fresh.get("wrong_version")):
            parts.append(f"only {bump} changed: {before.get(bump)} -> {expect}")
        else:
            ok = False
            parts.append(f"changed {changed or 'nothing'} (expected only {bump} -> {expect})")
        if res.installed or res.removed:
            ok = False
            parts.append(f"+{res.installed} -{res.removed}")
    elif scenario == "noop":
        if res.installed or res.removed or [n for n in res.changed if n != suite.project_name]:
            ok = False
            parts.append(f"changed: +{res.installed} -{res.removed} ~{res.changed}")
        else:
            parts.append("nothing changed")
    if res.vs_fresh:
        problems = {k: v for k, v in res.vs_fresh.items() if v}
        if problems:
            ok = False
            parts.append("vs fresh resolve: " + ", ".join(
                f"{k} {len(v)} ({', '.join(v[:6])}{', ...' if len(v) > 6 else ''})" for k, v in problems.items()))
        else:
            parts.append("= fresh resolve")
    return ok, "; ".join(parts)


def make_row(case: str, what: str, ours, theirs, kind: str, bound: float, verified: tuple[bool | None, str],
             *, alt_label: str = "", commands: dict | None = None, note: str = "") -> dict:
    value = met = None
    if ours is not None:
        if kind == "speedup" and theirs is not None:
            value = theirs.median / ours.median
            met = value >= bound
        elif kind == "ratio-max" and theirs is not None:
            value = ours.median / theirs.median
            met = value <= bound
        elif kind == "abs":
            value = ours.median
            met = value <= bound
    target = {"speedup": f">= {bound:g}x faster", "ratio-max": f"<= {bound:g}x the time",
              "abs": f"<= {format_seconds(bound)}"}[kind]
    ratio_text = "-" if value is None else (
        f"{value:.2f}x faster" if kind == "speedup" else f"{value:.2f}x" if kind == "ratio-max" else
        (f"{theirs.median / ours.median:.1f}x faster" if theirs is not None else "-"))
    as_json = lambda s: None if s is None else {"median": round(s.median, 4), "min": round(s.min, 4),  # noqa: E731
                                                "max": round(s.max, 4), "runs": s.runs}
    return {"case": case, "what": what, "incrinstall": as_json(ours), "alternative": as_json(theirs),
            "alternative_label": alt_label, "kind": kind, "bound": bound, "value": value, "target": target,
            "ratio_text": ratio_text, "met": met, "verified": verified[0], "verification": verified[1],
            "commands": commands or {}, "note": note}


def _commands(suite: Suite, tools: dict[str, Tool]) -> dict:
    out = {}
    for key, tool in tools.items():
        out[key] = " && ".join(s.shown for s in tool.steps(suite, "$VENV/bin/python"))
    return out


def rows_for_core(core: dict, args) -> list[dict]:
    suite, results, state = core["suite"], core["results"], core["state"]
    tools = {t.id: t for t in bump_tools(suite, "")}
    rows = []
    if "a" in args.cases:
        inc, alt = _find(results, "bump", "incrinstall"), _find(results, "bump", "uv-editable")
        v1, v2 = verify(inc, suite, "bump", state, "start"), verify(alt, suite, "bump", state, "start")
        rows.append(make_row("a", f"Airflow {AIRFLOW_VERSION} core ({state['start_packages']} pkgs), {state['change']}",
                             _stats(inc), _stats(alt), "speedup", 4, (v1[0], f"incrinstall: {v1[1]} / uv: {v2[1]}"),
                             alt_label="uv pip install -e .", commands=_commands(suite, tools)))
    if "e" in args.cases:
        inc, alt = _find(results, "noop", "incrinstall"), _find(results, "noop", "uv-editable")
        v1 = verify(inc, suite, "noop", state, "start")
        rows.append(make_row("e", "no-op: incrinstall sync --editable again on case a's environment",
                             _stats(inc), _stats(alt), "abs", 0.05, v1, alt_label="uv pip install -e . (no-op)",
                             commands=_commands(suite, tools)))
    if "f" in args.cases:
        inc, alt = _find(results, "baseline", "incr-baseline"), _find(results, "baseline", "uv-pins")
        v1, v2 = verify(inc, suite, "baseline", state, "empty"), verify(alt, suite, "baseline", state, "empty")
        ftools = {"incrinstall": Tool("x", "", "empty", incr_baseline_dir), "alternative": Tool("y", "", "empty", uv_pins)}
        rows.append(make_row("f", f"baseline of case a's tree ({len(suite.truth.get('noop', {}))} pins) into an empty venv",
                             _stats(inc), _stats(alt), "ratio-max", 1.2, (v1[0], f"incrinstall: {v1[1]} / uv: {v2[1]}"),
                             alt_label="uv pip install -r PINS", commands=_commands(suite, ftools)))
    return rows


def rows_for_bump_suite(case: str, what: str, data: dict, bound: float, alt_label: str, tools_label: str) -> dict:
    suite, results, state = data["suite"], data["results"], data["state"]
    snapshot_inc = "start" if "start" in suite.snapshot_versions else "incr"
    snapshot_alt = "start" if "start" in suite.snapshot_versions else "uv-editable"
    inc, alt = _find(results, "bump", "incrinstall"), _find(results, "bump", "uv-editable")
    v1, v2 = verify(inc, suite, "bump", state, snapshot_inc), verify(alt, suite, "bump", state, snapshot_alt)
    tools = ({t.id: t for t in bump_tools(suite, tools_label)} if snapshot_inc == "start" else
             {t.id: t for t in all_tools(None) if t.id in ("incrinstall", "uv-editable")})
    return make_row(case, f"{what}, {state['change']}", _stats(inc), _stats(alt), "speedup", bound,
                    (v1[0], f"incrinstall: {v1[1]} / uv: {v2[1]}"), alt_label=alt_label,
                    commands=_commands(suite, tools))


def failed_row(case: str, what: str, why: str) -> dict:
    return {"case": case, "what": what, "incrinstall": None, "alternative": None, "alternative_label": "",
            "kind": None, "bound": None, "value": None, "target": "-", "ratio_text": "-", "met": None,
            "verified": None, "verification": "NOT RUN: " + why, "commands": {}, "note": ""}


def markdown(rows: list[dict], runs: int) -> str:
    def cell(s):
        return "-" if s is None else (f"{format_seconds(s['median'])} [{format_seconds(s['min'])}-"
                                      f"{format_seconds(s['max'])}]")

    lines = ["| case | what | incrinstall median [min-max] | alternative median [min-max] | ratio | target | "
             "met | verified |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        alt = cell(r["alternative"]) + (f" ({r['alternative_label']})" if r["alternative"] and r["alternative_label"] else "")
        met = "-" if r["met"] is None else ("met" if r["met"] else "**missed**")
        ver = {True: "ok", False: "**NO**", None: ""}[r["verified"]]
        text = f"{ver}: {r['verification']}" if ver else r["verification"]
        lines.append("| " + " | ".join(x.replace("|", "/") for x in (
            r["case"], r["what"], cell(r["incrinstall"]), alt, r["ratio_text"], r["target"], met, text)) + " |")
    lines.append("")
    lines.append(f"Median [min-max] of {runs} timed run(s) per command, each after one untimed warm-up run; "
                 "both sides share one uv cache and start from the same restored environment.")
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="timed runs per command, after one warm-up (default 3)")
    p.add_argument("--work", default=str(HERE / "work" / "bump"), help="scratch folder (default benchmarks/work/bump)")
    p.add_argument("--json", help="write the rows (and settings) as JSON to this file")
    p.add_argument("--cases", default="abdef", help="which rows, from abcdef (default abdef; c needs --airflow)")
    p.add_argument("--airflow", action="store_true", help="also row c: the real Airflow tree with --extra devel-ci (long)")
    p.add_argument("--sizes", default="100,2000", help="synthetic N for row b (default 100,2000)")
    p.add_argument("--seed", type=int, default=None, help="synthetic universe seed (default synthetic.DEFAULT_SEED)")
    p.add_argument("--bump-package", default="rich", help="the requirement rows a and c hold back, then bump (default rich)")
    p.add_argument("--index-url", help="the real index (default: $UV_INDEX_URL, $PIP_INDEX_URL, pip config, else PyPI)")
    p.add_argument("--python", default=sys.executable, help="interpreter the environments are made from (the target)")
    args = p.parse_args(argv)
    if args.seed is None:
        from tests.support import synthetic
        args.seed = synthetic.DEFAULT_SEED
    args.cases = "".join(c for c in ALL_CASES if c in args.cases.lower() or (c == "c" and args.airflow))
    if "c" in args.cases and not args.airflow:
        args.cases = args.cases.replace("c", "")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from incrinstall.common.uv import uv_binary

    started = time.perf_counter()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    uv = str(uv_binary())
    ctx = {"work": work, "uv": uv, "uv_cache": work / "uv-cache", "index_url": real_index_url(args.index_url)}
    rows: list[dict] = []
    failures: list[dict] = []
    extra: dict = {}

    def attempt(case: str, what: str, fn):
        try:
            return fn()
        except (RuntimeError, subprocess.TimeoutExpired, OSError, SystemExit) as exc:
            text = str(exc)
            libs = missing_syslibs(text)
            why = text.splitlines()[0] if text else type(exc).__name__
            if libs:
                why += " — missing system libraries / build failures: " + "; ".join(libs)
            _log(f"case {case} failed: {why}")
            failures.append({"case": case, "why": why, "syslibs": libs, "detail": text[-4000:]})
            rows.append(failed_row(case, what, why))
            return None

    if set(args.cases) & set("aef"):
        core = attempt("a", f"Airflow {AIRFLOW_VERSION} core", lambda: case_core(args, ctx))
        if core:
            rows += rows_for_core(core, args)
            extra["core"] = {"requirements": core["requirements"], "left_out": core["left_out"],
                             "state": core["state"], "setup_seconds": core["suite"].setup_seconds}
    if "b" in args.cases:
        for n in sorted(int(x) for x in args.sizes.split(",") if x.strip()):
            bound = 3 if n <= 100 else 5
            data = attempt("b", f"synthetic N={n}", lambda n=n: case_synthetic(args, ctx, n))
            if data:
                rows.append(rows_for_bump_suite("b", f"synthetic N={n} (hatch hook)", data, bound,
                                                "uv pip install -e .[all]", ""))
    if "c" in args.cases:
        data = attempt("c", f"Airflow {AIRFLOW_VERSION} --extra devel-ci", lambda: case_airflow(args, ctx))
        if data:
            rows.append(rows_for_bump_suite("c", f"Airflow {AIRFLOW_VERSION} sdist --extra devel-ci "
                                                 f"({data['state']['start_packages']} pkgs)", data, 2,  # issue 11: >= 2x for this row
                                            "uv pip install -e '.[devel-ci]'", " --extra devel-ci"))
            extra["airflow"] = {"state": data["state"], "setup_seconds": data["suite"].setup_seconds}
    if "d" in args.cases:
        data = attempt("d", "warm incrinstall specs --extra devel-ci", lambda: case_specs(args, ctx))
        if data:
            rows.append(make_row("d", f"warm incrinstall specs --extra devel-ci on the {AIRFLOW_VERSION} sdist tree "
                                      f"({data['requirements']} requirements, {data['files']} files; "
                                      f"first run {data['first']:.2f} s)",
                                 summarize(data["samples"]), None, "abs", 0.1,
                                 (True, f"{data['requirements']} requirements"), commands={"incrinstall": data["cmd"]}))
    order = {c: i for i, c in enumerate(ALL_CASES)}
    rows.sort(key=lambda r: order[r["case"]])
    table = markdown(rows, args.runs)
    print(table)
    if failures:
        print("\nFailures:")
        for f in failures:
            print(f"- case {f['case']}: {f['why']}")
    if args.json:
        out = {"command": "python benchmarks/bench_bump.py " + " ".join(sys.argv[1:] if argv is None else argv),
               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "seconds": round(time.perf_counter() - started, 1),
               "machine": machine_info(), "versions": tool_versions(uv, args.python), "index_url": ctx["index_url"],
               "runs": args.runs, "rows": rows, "failures": failures, "details": extra}
        Path(args.json).write_text(json.dumps(out, indent=1, default=str) + "\n")
        _log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
