"""Time `incrinstall plan` on an environment of 2,000 installed packages: no change, and one bumped root requirement.

The world (seeded, so every run builds the same one):
- N packages in four layers (leaves 30%, low 35%, mid 25%, top 10%). Each package depends on 0-4
  packages of lower layers drawn with a popularity bias (so a few deep dependencies are shared by up
  to about a hundred packages), and every package has a dependent in the layer above it (depth).
  1 in 16 edges carries a true marker (`python_version >= "3.8"`); 3% of the packages also require a
  package no index has behind a false marker (`sys_platform == "win32"`); 1 in 20 packages of the
  middle layers offers an extra `fast`, which half of its dependents ask for. A fifth of the
  packages also have a newer 1.1.0 on the index (the installed 1.0.0 still satisfies everything).
- A project whose pyproject.toml requires every top-level package plus whatever the graph leaves
  unreached, so the resolution is exactly the N packages.
- The change: one root requirement moves from `>=1.0` to `>=1.2`; the index has that 1.2.0, with the
  same dependencies plus one new one (`bench-newdep`, itself depending on an installed leaf).

"Installed" is what incrinstall's reader sees: by default the benchmark writes each package's
`.dist-info` folder (METADATA, WHEEL, RECORD, INSTALLER) straight into a fresh venv's site-packages
(seconds instead of minutes); `--install-with uv` runs `uv pip install` from the built wheels instead.
A state file recording every package as managed is written too, as after `incrinstall baseline`.
The index is the test suite's loopback index (tests/support) over the built wheels.

Timed, for each case: `pipeline.make_plan()` in process, `resolver.resolve()` alone (same inputs),
and the `incrinstall plan --json` command (a fresh process). The on-disk HTTP cache is emptied before
every run, so every run makes the requests a first run would. Median, min and max of --runs runs.

Usage: python benchmarks/bench_resolve.py [--packages 2000] [--runs 5] [--install-with dist-info|uv]
                                          [--work DIR] [--profile] [--no-cli]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SEED = 3
BUMPED_FROM, BUMPED_TO = ">=1.0", ">=1.2"
NEWDEP = "bench-newdep"
WIN_ONLY = "bench-win-only"  # required behind a false marker; exists nowhere


@dataclass
class Pkg:
    name: str
    layer: int
    deps: list[str] = field(default_factory=list)  # requirement strings
    extra_fast: str | None = None  # the package its extra "fast" adds
    newer: bool = False  # a 1.1.0 exists on the index too


def make_graph(n: int, seed: int = SEED) -> tuple[list[Pkg], list[str]]:
    """The packages and the project's root requirement names."""
    rng = random.Random(seed)
    shares = (0.30, 0.35, 0.25, 0.10)
    sizes = [int(n * s) for s in shares]
    sizes[0] += n - sum(sizes)
    pkgs: list[Pkg] = []
    layers: list[list[Pkg]] = []
    for layer, size in enumerate(sizes):
        names = [f"bench-l{layer}-{i:04d}" for i in range(size)]
        layers.append([Pkg(name, layer) for name in names])
        pkgs += layers[-1]
    for p in pkgs:
        p.newer = rng.random() < 0.2
        if 0 < p.layer < 3 and rng.random() < 0.05:
            p.extra_fast = rng.choice(layers[0]).name
    for layer in range(1, 4):
        lower = [p for group in layers[:layer] for p in group]
        by_name = {q.name: q for q in lower}
        # Popularity: the first packages of each lower layer are everybody's dependency.
        weights = [1.0 / (1 + i % 200) ** 0.9 for i in range(len(lower))]
        chosen: dict[str, set[str]] = {p.name: {q.name for q in rng.choices(lower, weights, k=rng.randint(0, 4))}
                                       for p in layers[layer]}
        # Depth and coverage: every package of the layer below has a dependent in this layer.
        for j, q in enumerate(rng.sample(layers[layer - 1], len(layers[layer - 1]))):
            chosen[layers[layer][j % len(layers[layer])].name].add(q.name)
        for p in layers[layer]:
            for dep in sorted(chosen[p.name]):
                q = by_name[dep]
                spec = rng.choice([">=1.0", ">=0.9,<2", "~=1.0", ""])
                extra = "[fast]" if q.extra_fast and rng.random() < 0.5 else ""
                marker = '; python_version >= "3.8"' if rng.random() < 0.06 else ""
                p.deps.append(f"{dep}{extra}{spec}{marker}")
            if rng.random() < 0.03:
                p.deps.append(f'{WIN_ONLY}>=1; sys_platform == "win32"')
    # Everything the top layer does not reach becomes a root too, so the closure is all N.
    roots = [p.name for p in layers[3]]
    reached = _closure(pkgs, roots)
    roots += [p.name for p in pkgs if p.name not in reached]
    return pkgs, roots


def _closure(pkgs: list[Pkg], roots: list[str]) -> set[str]:
    from packaging.requirements import Requirement

    by_name = {p.name: p for p in pkgs}
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        p = by_name[name]
        for text in p.deps:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
            if req.extras and by_name[req.name].extra_fast:
                todo.append(by_name[req.name].extra_fast)
    return seen


def _extras(p: Pkg) -> dict[str, list[str]] | None:
    return {"fast": [p.extra_fast]} if p.extra_fast else None


def build_wheels(pkgs: list[Pkg], roots: list[str], folder: Path) -> None:
    from tests.support.wheels import build_wheel

    folder.mkdir(parents=True, exist_ok=True)
    for p in pkgs:
        build_wheel(folder, p.name, "1.0.0", requires_dist=p.deps, extras=_extras(p))
        if p.newer:
            build_wheel(folder, p.name, "1.1.0", requires_dist=p.deps, extras=_extras(p))
    bumped = _bumped(pkgs, roots)
    build_wheel(folder, bumped.name, "1.2.0", requires_dist=[*bumped.deps, f"{NEWDEP}>=1"], extras=_extras(bumped))
    build_wheel(folder, NEWDEP, "1.0.0", requires_dist=[pkgs[0].name])


def _bumped(pkgs: list[Pkg], roots: list[str]) -> Pkg:
    by_name = {p.name: p for p in pkgs}
    return by_name[roots[7]]


def write_dist_infos(pkgs: list[Pkg], site: Path) -> None:
    """What a wheel install leaves that incrinstall reads: a .dist-info folder per package."""
    from tests.support.wheels import dist_filename_name, metadata_text

    for p in pkgs:
        folder = site / f"{dist_filename_name(p.name)}-1.0.0.dist-info"
        folder.mkdir()
        (folder / "METADATA").write_text(metadata_text(p.name, "1.0.0", requires_dist=p.deps, extras=_extras(p)))
        (folder / "INSTALLER").write_text("uv\n")
        (folder / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (folder / "RECORD").write_text(f"{folder.name}/METADATA,,\n{folder.name}/RECORD,,\n")


def write_project(folder: Path, roots: list[str], bumped: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", 'name = "bench-project"', 'version = "0.1"', "dependencies = ["]
    for name in roots:
        lines.append(f'  "{name}{BUMPED_TO if name == bumped else BUMPED_FROM}",')
    lines.append("]")
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")


@dataclass
class Setup:
    python: Path
    project: Path
    index: object
    cache: Path
    bumped: str
    packages: int


def setup(work: Path, n: int, install_with: str) -> Setup:
    from incrinstall.install import state
    from tests.support.index_server import LoopbackIndex
    from tests.support.venvs import make_venv, site_packages, uv_pip_install

    pkgs, roots = make_graph(n)
    wheels = work / f"wheels-{n}-{SEED}"
    if not (wheels / ".complete").exists():
        shutil.rmtree(wheels, ignore_errors=True)
        started = time.perf_counter()
        build_wheels(pkgs, roots, wheels)
        (wheels / ".complete").write_text("")
        print(f"built {len(os.listdir(wheels)) - 1} wheels in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    python = make_venv(venv)
    started = time.perf_counter()
    if install_with == "uv":
        reqs = work / "installed.txt"
        reqs.write_text("".join(f"{p.name}==1.0.0\n" for p in pkgs))  # what the baseline had, not the newest
        uv_pip_install(python, "--no-index", "--find-links", str(wheels), "-r", str(reqs),
                       env={"UV_CACHE_DIR": str(work / "uv-cache")})
    else:
        write_dist_infos(pkgs, Path(site_packages(python)[0]))
    print(f"installed {n} packages ({install_with}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    from packaging.utils import canonicalize_name

    state.save(str(venv), state.State(
        packages={canonicalize_name(p.name): state.LockedPackage(canonicalize_name(p.name), "1.0.0") for p in pkgs},
        managed={canonicalize_name(p.name) for p in pkgs}))
    index = LoopbackIndex(wheels).start()
    index.projects()  # read every wheel's metadata once now, so the server's first answer is not timed
    bumped = _bumped(pkgs, roots).name
    write_project(work / "project", roots, None)
    return Setup(python, work / "project", index, work / "cache", bumped, n)


def _set_case(s: Setup, case: str) -> None:
    pkgs, roots = make_graph(s.packages)
    write_project(s.project, roots, s.bumped if case == "one change" else None)


def _clear_http_cache(s: Setup) -> None:
    shutil.rmtree(s.cache / "http", ignore_errors=True)


def time_make_plan(s: Setup, runs: int) -> tuple[list[float], list[int], list[int], object]:
    from incrinstall import pipeline
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.common.config import IndexConfig

    interpreter = find_interpreter(str(s.python))
    options = pipeline.Options(project_dir=s.project, python=str(s.python), index=IndexConfig(index_url=s.index.url))
    times, reported, seen = [], [], []
    planned = None
    for _ in range(runs):
        _clear_http_cache(s)
        s.index.reset_log()
        started = time.perf_counter()
        planned = pipeline.make_plan(options, interpreter)
        times.append(time.perf_counter() - started)
        reported.append(planned.index_requests)
        seen.append(s.index.count())
    return times, reported, seen, planned


def time_resolve_only(s: Setup, runs: int) -> list[float]:
    from incrinstall.specs import collect as specs
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.environment.installed import read_installed
    from incrinstall.resolve import resolver
    from incrinstall.install import state
    from incrinstall.index.client import IndexClient
    from incrinstall.common.config import IndexConfig
    from incrinstall.specs.model import Selection

    interpreter = find_interpreter(str(s.python))
    specset = specs.collect(s.project, Selection(), dict(interpreter.markers))
    installed = read_installed(interpreter.site_dirs)
    pins = state.load(interpreter.prefix).pins
    times = []
    for _ in range(runs):
        _clear_http_cache(s)
        client = IndexClient(IndexConfig(index_url=s.index.url), python_full_version=interpreter.version,
                             tags=list(interpreter.tags))
        started = time.perf_counter()
        resolver.resolve(specset.requirements, specset.constraints, interpreter=interpreter, installed=installed,
                         index=client, local_packages=specset.local_packages, baseline_pins=pins)
        times.append(time.perf_counter() - started)
    return times


def time_cli(s: Setup, runs: int) -> tuple[list[float], list[int]]:
    import json

    env = _clean_env(s)
    env["PYTHONPATH"] = str(REPO)
    times, counts = [], []
    for _ in range(runs):
        _clear_http_cache(s)
        s.index.reset_log()
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "incrinstall", "plan", str(s.project), "--python", str(s.python),
                               "--index-url", s.index.url, "--json"], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"incrinstall plan failed:\n{proc.stderr}")
        counts.append(json.loads(proc.stdout)["index_requests"])
    return times, counts


def _clean_env(s: Setup) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "INCRINSTALL_"))}
    env["INCRINSTALL_CACHE_DIR"] = str(s.cache)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def profile(s: Setup, case: str) -> None:
    import cProfile
    import pstats

    from incrinstall import pipeline

    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.common.config import IndexConfig

    _set_case(s, case)
    _clear_http_cache(s)
    interpreter = find_interpreter(str(s.python))
    options = pipeline.Options(project_dir=s.project, python=str(s.python), index=IndexConfig(index_url=s.index.url))
    prof = cProfile.Profile()
    prof.runcall(pipeline.make_plan, options, interpreter)
    print(f"\n--- cProfile of make_plan ({case}), top 25 by cumulative time ---")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def _fmt(times: list[float]) -> str:
    return f"{statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}"


def _counts(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "/".join(map(str, values))


def isolated_work(work: Path | None, prefix: str):
    """(work folder, TemporaryDirectory or None): this process's caches go there, index settings of the machine go."""
    for key in [k for k in os.environ if k.startswith(("PIP_", "UV_INDEX", "UV_EXTRA", "UV_FIND"))]:
        del os.environ[key]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    temp = None
    if work is None:
        temp = tempfile.TemporaryDirectory(prefix=prefix)
        work = Path(temp.name)
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ["INCRINSTALL_CACHE_DIR"] = str(work / "cache")
    os.environ["UV_CACHE_DIR"] = str(work / "uv-cache")
    return work, temp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--install-with", choices=["dist-info", "uv"], default="dist-info")
    parser.add_argument("--work", type=Path, help="keep the built wheels here between runs (default: a temp folder)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of make_plan for each case")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the `incrinstall plan` command")
    args = parser.parse_args(argv)

    work, temp = isolated_work(args.work, "bench-resolve-")
    s = setup(work, args.packages, args.install_with)
    try:
        rows = []
        for case in ("no-op", "one change"):
            _set_case(s, case)
            times, reported, seen, planned = time_make_plan(s, args.runs)
            changes = ", ".join(f"{a.action} {a.name}" for a in planned.plan.changes) or "none"
            expected = {("upgrade", s.bumped), ("install", NEWDEP)} if case == "one change" else set()
            if {(a.action, a.name) for a in planned.plan.changes} != expected:
                raise SystemExit(f"unexpected plan for {case}: {changes}")
            kept = len(planned.plan.of("keep"))
            rows.append((case, "make_plan", times, reported, seen, f"{changes}; {kept} kept"))
            rows.append((case, "resolve only", time_resolve_only(s, args.runs), None, None, ""))
            if not args.no_cli:
                cli_times, cli_counts = time_cli(s, args.runs)
                rows.append((case, "incrinstall plan", cli_times, cli_counts, None, ""))
        pkgs, roots = make_graph(args.packages)
        print(f"\n{args.packages} installed packages ({args.install_with}), {len(roots)} root requirements, "
              f"{sum(len(p.deps) for p in pkgs)} requirement edges")
        print(f"{args.runs} runs each; "
              f"HTTP cache emptied before every run; python {sys.version.split()[0]}")
        print(f"{'case':<11} {'what':<17} {'median s':>8} {'min s':>8} {'max s':>8}  {'requests':>8} {'served':>6}  plan")
        for case, what, times, reported, seen, note in rows:
            req = _counts(reported) if reported is not None else "-"
            srv = _counts(seen) if seen is not None else "-"
            print(f"{case:<11} {what:<17} {_fmt(times)}  {req:>8} {srv:>6}  {note}")
        if args.profile:
            for case in ("no-op", "one change"):
                profile(s, case)
    finally:
        s.index.stop()
        if temp is not None:
            temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
