"""`incrinstall bench`: time sync against a full uv install and the hand-made approach, in scratch copies.

The user's project and environment are only read: the spec files are copied into a
scratch folder, every environment is a temporary venv made with uv, and each timed run
starts from a fresh copy of its prepared environment (the copying is not timed). The
arithmetic (median, min, max, ratios) lives in small pure functions at the top; the
benchmark suite in benchmarks/ uses them too.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from incrinstall.common.errors import IncrinstallError, SpecError
from incrinstall.common.config import IndexConfig

# -- arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Wall times of repeated runs, in seconds."""

    runs: int
    median: float
    min: float
    max: float


def summarize(seconds: Sequence[float]) -> Stats:
    return Stats(runs=len(seconds), median=statistics.median(seconds), min=min(seconds), max=max(seconds))


def ratio(ours: Stats | float, theirs: Stats | float) -> float | None:
    """incrinstall's median time divided by the alternative's (below 1: incrinstall is faster)."""
    a = ours.median if isinstance(ours, Stats) else ours
    b = theirs.median if isinstance(theirs, Stats) else theirs
    return None if b <= 0 else a / b


def speedup(ours: Stats | float, theirs: Stats | float) -> float | None:
    """How many times faster incrinstall is: the alternative's median divided by incrinstall's."""
    r = ratio(ours, theirs)
    return None if not r else 1 / r


def env_diff(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(installed, removed, changed) names between two {name: version} maps of an environment."""
    installed = sorted(n for n in after if n not in before)
    removed = sorted(n for n in before if n not in after)
    changed = sorted(n for n in after if n in before and after[n] != before[n])
    return installed, removed, changed


def compare_to_expected(actual: dict[str, str], expected: dict[str, str],
                        ignore: Iterable[str] = ()) -> dict[str, list[str]]:
    """How an environment differs from the set a fresh resolve wants: extraneous, missing, wrong version."""
    skip = set(ignore)
    return {
        "extraneous": sorted(n for n in actual if n not in expected and n not in skip),
        "missing": sorted(n for n in expected if n not in actual and n not in skip),
        "wrong_version": sorted(n for n in expected if n in actual and actual[n] != expected[n] and n not in skip),
    }


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# -- small tools shared with benchmarks/ ------------------------------------------------------


def copy_tree(src: str | Path, dst: str | Path) -> None:
    """Copy a folder keeping links and timestamps (the no-op fast path and uv both look at mtimes)."""
    if shutil.which("cp") and sys.platform != "win32":
        proc = subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)], capture_output=True, text=True)
        if proc.returncode == 0:
            return
        if Path(dst).exists():
            shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


def remove_tree(path: str | Path) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path)


def reset_tree(snapshot: str | Path, work: str | Path) -> None:
    """Make `work` an exact copy of `snapshot` again (only what differs is copied or removed)."""
    if not os.path.isdir(work) or os.path.islink(work):
        remove_tree(work)
        copy_tree(snapshot, work)
        return
    _mirror(os.fspath(snapshot), os.fspath(work))


def _remove_entry(path: str, is_dir: bool) -> None:
    if is_dir:
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _mirror(src: str, dst: str) -> None:
    # Files are compared by kind, size, mode and mtime: every tool measured writes new files, so
    # a changed file always has a new mtime. Folders get their mtime back last (uv and the
    # no-op fast path both read the mtimes of *.dist-info folders).
    with os.scandir(src) as it:
        wanted = {e.name: e for e in it}
    with os.scandir(dst) as it:
        present = {e.name: e for e in it}
    for name, entry in present.items():
        if name not in wanted:
            _remove_entry(entry.path, entry.is_dir(follow_symlinks=False))
    for name, entry in wanted.items():
        target = os.path.join(dst, name)
        have = present.get(name)
        if entry.is_symlink():
            link = os.readlink(entry.path)
            if have is not None and have.is_symlink() and os.readlink(have.path) == link:
                continue
            if have is not None:
                _remove_entry(have.path, have.is_dir(follow_symlinks=False))
            os.symlink(link, target)
            st = entry.stat(follow_symlinks=False)
            if os.utime in os.supports_follow_symlinks:
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        elif entry.is_dir(follow_symlinks=False):
            if have is not None and (have.is_symlink() or not have.is_dir(follow_symlinks=False)):
                _remove_entry(have.path, False)
                have = None
            if have is None:
                copy_tree(entry.path, target)
            else:
                _mirror(entry.path, target)
        else:
            st = entry.stat(follow_symlinks=False)
            if have is not None and not have.is_symlink() and have.is_file(follow_symlinks=False):
                hst = have.stat(follow_symlinks=False)
                if (hst.st_size, hst.st_mtime_ns, hst.st_mode) == (st.st_size, st.st_mtime_ns, st.st_mode):
                    continue
            if have is not None:
                _remove_entry(have.path, have.is_dir(follow_symlinks=False))
            shutil.copy2(entry.path, target, follow_symlinks=False)
    st = os.stat(src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def dist_versions(site_dirs: Iterable[str]) -> dict[str, str]:
    """{canonical name: version} from the `*.dist-info` folder names (no file is opened)."""
    from packaging.utils import canonicalize_name

    out: dict[str, str] = {}
    for site in site_dirs:
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info") and "-" in entry:
                name, _, version = entry[: -len(".dist-info")].rpartition("-")
                out[canonicalize_name(name)] = version
    return out


def site_dirs_of(venv: str | Path) -> list[str]:
    """purelib/platlib of a venv made with uv (lib/pythonX.Y/site-packages, or Lib/site-packages)."""
    venv = Path(venv)
    found = sorted(str(p) for p in venv.glob("lib*/python*/site-packages"))
    return found or [str(venv / "Lib" / "site-packages")]


def venv_python(venv: str | Path) -> str:
    return str(Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


@dataclass
class Timed:
    seconds: float
    stdout: str
    stderr: str


def timed(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
          what: str | None = None) -> Timed:
    """Run a command and measure its wall time; raise IncrinstallError with its output when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
        raise IncrinstallError(f"{what or cmd[0]} failed (exit {proc.returncode})",
                               where=" ".join(str(c) for c in cmd[:6]), detail=tail)
    return Timed(seconds, proc.stdout, proc.stderr)


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

    def to_json(self) -> dict:
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


def _selection_args(selection) -> tuple[list[str], list[str]]:
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
              runs: int = 5, python: str | None = None, index: IndexConfig | None = None, selection=None,
              report: Callable[[str], None] = print, keep: bool = False,
              scratch_dir: str | Path | None = None) -> BenchReport:
    """Time the scenarios that apply to the project (no-op; the edited file, if given) with each tool.

    Each tool starts every timed run from a copy of its own prepared environment:
    incrinstall from `incrinstall baseline` + one sync of the unchanged tree; the hand-made
    approach from `uv pip install -r pyproject.toml`; the fresh install from an empty venv.
    Nothing of the user's is written to: the tree is copied, the venvs are temporary.
    """
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.common.config import index_config
    from incrinstall.common.uv import run_uv, uv_binary, uv_env

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
    target = None
    if change is not None:
        if not change.is_file():
            raise SpecError("file not found", where=str(change_file))
        target = _change_target(project, change, change_target)

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
        for scenario in ["noop"] + (["change"] if change else []):
            times: dict[str, list[float]] = {name: [] for name in pythons}
            after: dict[str, dict[str, str]] = {}
            checks: dict[str, bool] = {}
            requests: dict[str, int | None] = {}
            for run in range(runs):
                report(f"{scenario}: run {run + 1} of {runs}")
                for name, py in pythons.items():  # side by side: every tool in each round
                    reset_tree(snaps / name, envs / name)
                    reset_tree(template, tree)
                    if scenario == "change":
                        shutil.copyfile(change, tree / target)
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


def _json_field(text: str, key: str):
    try:
        return json.loads(text).get(key)
    except (ValueError, AttributeError):
        return None


def _versions(uv: str, env: dict[str, str]) -> dict[str, str]:
    from incrinstall import __version__

    out = {"incrinstall": __version__}
    proc = subprocess.run([uv, "--version"], env=env, capture_output=True, text=True)
    if proc.returncode == 0:
        out["uv"] = proc.stdout.strip().split()[1] if len(proc.stdout.split()) > 1 else proc.stdout.strip()
    return out
