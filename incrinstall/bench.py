"""`incrinstall bench`: time sync against a full uv install and the hand-made approach, in scratch copies.

The user's project and environment are only read: the spec files are copied into a
scratch folder, every environment is a temporary venv made with uv, and each timed run
starts from a fresh copy of its prepared environment (the copying is not timed). What it
measures with (statistics, timed runs, tree snapshots) is benchkit.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from incrinstall import __version__
from incrinstall.benchkit import (
    Stats, copy_tree, dist_versions, env_diff, format_ratio, format_seconds, ratio, reset_tree, site_dirs_of,
    summarize, timed, venv_python,
)
from incrinstall.common.config import IndexConfig, index_config
from incrinstall.common.errors import SpecError
from incrinstall.common.uv import run_uv, uv_binary, uv_env
from incrinstall.environment.interpreter import find_interpreter
from incrinstall.specs.model import Selection

# -- the report -------------------------------------------------------------------------------


@dataclass
class Measurement:
    scenario: str
    tool: str
    command: str
    stats: Stats
    installed: int | None = None
    removed: int | None = None
    changed: int | None = None
    check_ok: bool | None = None  # `uv pip check` after the run
    index_requests: int | None = None  # as counted by incrinstall itself (uv does not say)


@dataclass
class BenchReport:
    project_dir: str
    python: str
    runs: int
    measurements: list[Measurement] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    change: str | None = None  # "FILE -> relpath" when --change was given

    def get(self, scenario: str, tool: str) -> Measurement | None:
        return next((m for m in self.measurements if m.scenario == scenario and m.tool == tool), None)

    def ratios(self, ours: str = "incrinstall") -> list[tuple[str, str, float | None]]:
        """(scenario, alternative, incrinstall median / alternative median) for every alternative measured."""
        out = []
        for m in self.measurements:
            if m.tool == ours:
                continue
            mine = self.get(m.scenario, ours)
            if mine is not None:
                out.append((m.scenario, m.tool, ratio(mine.stats, m.stats)))
        return out

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratios"] = [{"scenario": s, "vs": t, "ratio": r} for s, t, r in self.ratios()]
        return data


def render_table(report: BenchReport, ours: str = "incrinstall") -> str:
    """The results as a plain-text table: one row per scenario and tool, with incrinstall's ratio to each."""
    head = ["scenario", "tool", "median", "min", "max", "runs", "+", "-", "~", "check", "incr/this"]
    rows = [head]
    for m in report.measurements:
        mine = report.get(m.scenario, ours)
        r = ratio(mine.stats, m.stats) if mine is not None and m.tool != ours else None
        rows.append([
            m.scenario, m.tool, format_seconds(m.stats.median), format_seconds(m.stats.min),
            format_seconds(m.stats.max), str(m.stats.runs),
            "-" if m.installed is None else str(m.installed), "-" if m.removed is None else str(m.removed),
            "-" if m.changed is None else str(m.changed),
            "-" if m.check_ok is None else ("ok" if m.check_ok else "FAIL"),
            "" if m.tool == ours else format_ratio(r),
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if j < 2 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"project: {report.project_dir}", f"python: {report.python}"]
    if report.change:
        notes.append(f"change: {report.change}")
    notes.append("incr/this: incrinstall's median divided by this tool's (below 1: incrinstall is faster)")
    notes.append("+ installed, - removed, ~ version changed; check: `uv pip check` after the run")
    if report.versions:
        notes.append("versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()))
    return "\n".join(lines + [""] + notes)


# -- running it on the user's project ---------------------------------------------------------

_SKIP = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
         ".ruff_cache", "build", "dist", ".venv", "venv"}

TOOLS = {
    "incrinstall": "incrinstall sync",
    "uv-handmade": "uv pip install -r pyproject.toml (on a baseline installed by uv)",
    "uv-fresh": "uv pip install -r pyproject.toml (into a new venv)",
}


def _ignore(folder: str, names: list[str]) -> set[str]:
    # Skip what is not the project's own source: VCS data, caches, build output, virtualenvs.
    skipped = {n for n in names if n in _SKIP or n.endswith(".egg-info")}
    skipped |= {n for n in names if os.path.isfile(os.path.join(folder, n, "pyvenv.cfg"))}
    return skipped


def _selection_args(selection: Selection | None) -> tuple[list[str], list[str]]:
    """(incrinstall CLI args, uv pip install args) for the parts of a Selection both tools understand."""
    ours: list[str] = []
    theirs: list[str] = []
    if selection is None:
        return ours, theirs
    for extra in selection.extras:
        ours += ["--extra", extra]
        theirs += ["--extra", extra]
    if selection.all_extras:
        ours.append("--all-extras")
        theirs.append("--all-extras")
    for group in selection.groups:
        ours += ["--group", group]
        theirs += ["--group", group]
    for req in selection.requirement_files:
        ours += ["-r", req]
        theirs += ["-r", req]
    for con in selection.constraint_files:
        ours += ["-c", con]
        theirs += ["-c", con]
    for provider in selection.providers:
        ours += ["--provider", provider]
    if selection.provider_devel:
        ours.append("--provider-devel")
    return ours, theirs


def _change_target(project: Path, change_file: Path, change_target: str | None) -> str:
    """Which file of the project the edited file replaces: the one named, else the one with its name."""
    if change_target:
        rel = Path(change_target)
        if rel.is_absolute():
            try:
                rel = rel.resolve().relative_to(project)
            except ValueError:
                raise SpecError("the file to change must be inside the project", where=change_target) from None
        return rel.as_posix()
    name = change_file.name
    if (project / name).is_file():
        return name
    matches = [p.relative_to(project).as_posix() for p in project.rglob(name)
               if not any(part in _SKIP or part.startswith(".") for part in p.relative_to(project).parts[:-1])]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise SpecError(f"no file named {name} in the project; say which file it replaces",
                        where=str(change_file))
    raise SpecError(f"{len(matches)} files named {name} in the project ({', '.join(sorted(matches)[:5])}); "
                    "say which one it replaces", where=str(change_file))


def run_bench(project_dir: str | Path, *, change_file: str | Path | None = None, change_target: str | None = None,
              runs: int = 5, python: str | None = None, index: IndexConfig | None = None,
              selection: Selection | None = None,
              report: Callable[[str], None] = print, keep: bool = False,
              scratch_dir: str | Path | None = None) -> BenchReport:
    """Time the scenarios that apply to the project (no-op; the edited file, if given) with each tool.

    Each tool starts every timed run from a copy of its own prepared environment:
    incrinstall from `incrinstall baseline` + one sync of the unchanged tree; the hand-made
    approach from `uv pip install -r pyproject.toml`; the fresh install from an empty venv.
    Nothing of the user's is written to: the tree is copied, the venvs are temporary.
    """
    if runs < 1:
        raise SpecError("--runs must be at least 1", where="--runs")
    project = Path(project_dir).resolve()
    if not project.is_dir():
        raise SpecError("project directory not found", where=str(project_dir))
    index = index or index_config()
    has_pyproject = (project / "pyproject.toml").is_file()
    ours_sel, theirs_sel = _selection_args(selection)
    if not has_pyproject and not (selection and selection.requirement_files):
        raise SpecError("nothing to install: no pyproject.toml and no -r file", where=str(project))
    change = Path(change_file).resolve() if change_file else None
    target: str | None = None
    if change is not None:
        if not change.is_file():
            raise SpecError("file not found", where=str(change_file))
        target = _change_target(project, change, change_target)
    # The scenarios: the no-op, and the sync after the edited file replaced its original.
    edits: dict[str, tuple[Path, str] | None] = {"noop": None}
    if change is not None and target is not None:
        edits["change"] = (change, target)

    interpreter = find_interpreter(python)
    base_python = interpreter.executable
    scratch = Path(tempfile.mkdtemp(prefix="incrinstall-bench-", dir=scratch_dir))
    uv = uv_binary()
    env = uv_env({"INCRINSTALL_CACHE_DIR": str(scratch / "incrinstall-cache"), "UV_PYTHON_DOWNLOADS": "never"})
    env.pop("VIRTUAL_ENV", None)
    incr = [sys.executable, "-m", "incrinstall"]
    uv_install = ["-r", "pyproject.toml"] if has_pyproject else []
    result = BenchReport(project_dir=str(project), python=base_python, runs=runs,
                         change=f"{change} -> {target}" if change else None)
    try:
        report(f"scratch folder: {scratch}")
        template = scratch / "tree-template"
        shutil.copytree(project, template, symlinks=True, ignore=_ignore)
        base_tree = scratch / "baseline-tree"
        copy_tree(template, base_tree)
        tree = scratch / "project"
        envs = scratch / "envs"
        snaps = scratch / "snapshots"
        envs.mkdir()
        snaps.mkdir()

        def make_venv(name: str) -> str:
            run_uv(["venv", "--quiet", "--python", base_python, str(envs / name)], env=env, what="uv venv")
            return venv_python(envs / name)

        def uv_cmd(py: str) -> list[str]:
            return [uv, "pip", "install", "--python", py, *uv_install, *theirs_sel, *index.uv_args()]

        def incr_cmd(py: str) -> list[str]:
            # incrinstall spells its index options as uv does.
            return [*incr, "sync", str(tree), "--python", py, *ours_sel, *index.uv_args(), "--json", "-q"]

        copy_tree(template, tree)
        report("preparing the incrinstall baseline ...")
        py_incr = make_venv("incrinstall")
        timed([*incr, "baseline", str(base_tree), "--python", py_incr, *ours_sel, *index.uv_args(), "-q"],
              env=env, what="incrinstall baseline")
        timed(incr_cmd(py_incr), env=env, what="incrinstall sync")  # records the no-op stamp for the tree
        report("preparing the hand-made baseline (uv) ...")
        py_uv = make_venv("uv-handmade")
        timed(uv_cmd(py_uv), env=env, cwd=tree, what="uv pip install")
        py_fresh = make_venv("uv-fresh")
        for name in ("incrinstall", "uv-handmade", "uv-fresh"):
            copy_tree(envs / name, snaps / name)
        copy_tree(scratch / "incrinstall-cache", snaps / "incrinstall-cache")
        pythons = {"incrinstall": py_incr, "uv-handmade": py_uv, "uv-fresh": py_fresh}
        before = {name: dist_versions(site_dirs_of(envs / name)) for name in pythons}

        commands = {"incrinstall": incr_cmd, "uv-handmade": uv_cmd, "uv-fresh": uv_cmd}
        for scenario, edit in edits.items():
            times: dict[str, list[float]] = {name: [] for name in pythons}
            after: dict[str, dict[str, str]] = {}
            checks: dict[str, bool] = {}
            requests: dict[str, int | None] = {}
            for run in range(runs):
                report(f"{scenario}: run {run + 1} of {runs}")
                for name, py in pythons.items():  # side by side: every tool in each round
                    reset_tree(snaps / name, envs / name)
                    reset_tree(template, tree)
                    if edit is not None:
                        shutil.copyfile(edit[0], tree / edit[1])
                    if name == "incrinstall":
                        reset_tree(snaps / "incrinstall-cache", scratch / "incrinstall-cache")
                    out = timed(commands[name](py), env=env, cwd=tree, what=TOOLS[name])
                    times[name].append(out.seconds)
                    if name == "incrinstall":
                        requests[name] = _json_field(out.stdout, "index_requests")
                    if run == 0:
                        after[name] = dist_versions(site_dirs_of(envs / name))
                        checks[name] = subprocess.run([uv, "pip", "check", "--python", py], env=env,
                                                      capture_output=True).returncode == 0
            for name, py in pythons.items():
                installed, removed, changed = env_diff(before[name], after[name])
                shown = ["incrinstall", *commands[name](py)[3:]] if name == "incrinstall" else ["uv", *uv_cmd(py)[1:]]
                result.measurements.append(Measurement(
                    scenario=scenario, tool=name, command=" ".join(shown), stats=summarize(times[name]),
                    installed=len(installed), removed=len(removed), changed=len(changed),
                    check_ok=checks[name], index_requests=requests.get(name)))
        result.versions = _versions(uv, env)
    finally:
        if keep:
            report(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def _json_field(text: str, key: str) -> Any:
    try:
        return json.loads(text).get(key)
    except (ValueError, AttributeError):
        return None


def _versions(uv: str, env: dict[str, str]) -> dict[str, str]:
    out = {"incrinstall": __version__}
    proc = subprocess.run([uv, "--version"], env=env, capture_output=True, text=True)
    if proc.returncode == 0:
        out["uv"] = proc.stdout.strip().split()[1] if len(proc.stdout.split()) > 1 else proc.stdout.strip()
    return out
