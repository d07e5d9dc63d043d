"""Profile one `incrinstall sync` of a synthetic scenario: where the time goes (cProfile) and what it imports.

    python benchmarks/profile_sync.py --n 2000 --scenario bump
    python benchmarks/profile_sync.py --n 100 --scenario noop --top 25

Prepares the same environment as run.py (baseline + one sync of the unchanged tree, in
benchmarks/work/), applies the scenario's edit, and runs the sync three ways: plain (wall time),
under `python -X importtime` (the slowest imports), and under cProfile (the functions with the
most cumulative time, and the most time of their own). The .prof file is kept for snakeviz & co.
"""

from __future__ import annotations

import argparse
import io
import pstats
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from benchmarks.harness import reset_project, restore_uv_builds  # noqa: E402
from benchmarks.suites import prepare, synthetic_suite  # noqa: E402
from benchmarks.tools import all_tools  # noqa: E402
from incrinstall.benchkit import reset_tree  # noqa: E402
from tests.support import synthetic  # noqa: E402


def importtime_top(stderr: str, top: int) -> list[str]:
    """The `top` slowest imports by cumulative microseconds, from `python -X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line[len("import time:"):].split("|")]
        if parts[0].isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2]))
    rows.sort(reverse=True)
    return [f"{cum / 1000:7.1f} ms cumulative {own / 1000:6.1f} ms own  {name}" for cum, own, name in rows[:top]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--scenario", default="bump", choices=synthetic.SCENARIOS)
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--work-dir", default=str(HERE / "work"))
    p.add_argument("--out", default=None, help="where the .prof file goes (default: work dir)")
    args = p.parse_args(argv)

    from incrinstall.common.uv import uv_binary

    work = Path(args.work_dir).resolve()
    tools = [t for t in all_tools(None) if t.id == "incrinstall"]
    suite, index = synthetic_suite(args.n, work_root=work, uv_cache=work / "uv-cache", uv=uv_binary(),
                                   python=sys.executable, scenarios=["noop", args.scenario], seed=synthetic.DEFAULT_SEED,
                                   report=lambda m: print(m, file=sys.stderr))
    prof = Path(args.out or work) / f"sync-n{args.n}-{args.scenario}.prof"
    try:
        prepare(suite, tools, lambda m: print(m, file=sys.stderr))
        tool = tools[0]
        for mode in ("plain", "importtime", "cprofile"):
            reset_tree(suite.snaps / tool.snapshot, suite.envs / "incr")
            reset_project(suite, args.scenario)
            reset_tree(suite.snaps / "incrinstall-cache", suite.incr_cache)
            restore_uv_builds(suite)
            argv_ = tool.steps(suite, str(suite.envs / "incr" / "bin" / "python"))[0].argv
            python, rest = argv_[0], argv_[1:]
            if mode == "importtime":
                cmd = [python, "-X", "importtime", *rest]
            elif mode == "cprofile":
                cmd = [python, "-m", "cProfile", "-o", str(prof), *rest]
            else:
                cmd = argv_
            index.reset_log()
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=suite.env, cwd=suite.project, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 1
            print(f"== {mode}: {wall:.3f} s wall, {len(index.requests)} index requests")
            if mode == "importtime":
                print("\n".join(importtime_top(proc.stderr, args.top)))
        out = io.StringIO()
        stats = pstats.Stats(str(prof), stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        print(f"profile kept in {prof}")
    finally:
        index.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
