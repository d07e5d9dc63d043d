"""Run the benchmarks: incrinstall against the hand-made approach, uv --exact, a fresh uv install and pip, side by side.

From the repository root, with the dev environment's Python (it needs incrinstall's own dependencies):

    python benchmarks/run.py                     # default settings, about 10-15 minutes on 2 cores
    python benchmarks/run.py --sizes 100 --runs 3 --no-real      # a quick look
    python benchmarks/run.py --heavy             # every scenario at every N, 7 runs, pip everywhere

Writes benchmarks/results.json, benchmarks/RESULTS.md and benchmarks/results.png. The chart needs
matplotlib, which is not a dependency of incrinstall: when it cannot be imported, run.py makes a
separate venv (benchmarks/work/chart-venv) and installs benchmarks/requirements.txt into it with uv,
or pass --chart-python PATH of an interpreter that has it, or --no-chart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import report as report_mod  # noqa: E402
from benchmarks.harness import measure  # noqa: E402
from benchmarks.suites import REAL_SCENARIOS, prepare, real_index_url, real_suite, synthetic_suite  # noqa: E402
from benchmarks.tools import all_tools  # noqa: E402
from tests.support import synthetic  # noqa: E402

DEFAULT_SIZES = (100, 700, 2000)
# Default: every scenario at the smallest N; at the larger ones the scenarios whose cost grows with N.
SCALE_SCENARIOS = ("baseline", "noop", "bump", "remove")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="synthetic N values (default 100,700,2000)")
    p.add_argument("--runs", type=int, default=5, help="timed runs per tool and scenario (default 5)")
    p.add_argument("--pip-runs", type=int, default=2, help="timed runs of pip, the slow reference (default 2)")
    p.add_argument("--pip-max-n", type=int, default=100,
                   help="measure pip only up to this N (default 100: it is the slow reference)")
    p.add_argument("--scenarios", default="",
                   help=f"comma-separated subset of baseline,{','.join(synthetic.SCENARIOS)} (default: all at the "
                        f"smallest N, {','.join(SCALE_SCENARIOS)} at the larger ones)")
    p.add_argument("--all-scenarios", action="store_true", help="every scenario at every N")
    p.add_argument("--tools", default="", help="comma-separated subset of tool ids (default: all)")
    p.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED)
    p.add_argument("--no-real", action="store_true", help="skip the real-packages (Airflow 2.10 core) suite")
    p.add_argument("--real-only", action="store_true", help="only the real-packages suite")
    p.add_argument("--real-index-url", help="index for the real suite (default: $UV_INDEX_URL, $PIP_INDEX_URL, "
                                            "pip config global.index-url, else PyPI)")
    p.add_argument("--baseline-runs", type=int, default=3,
                   help="timed runs of the baseline scenario at N >= 2000 (default 3: each is a full install)")
    p.add_argument("--real-runs", type=int, default=3, help="timed runs per tool in the real suite (default 3)")
    p.add_argument("--heavy", action="store_true", help="every scenario at every N, 7 runs, pip at every N (slow)")
    p.add_argument("--work-dir", default=str(HERE / "work"), help="scratch folder (default benchmarks/work)")
    p.add_argument("--out", default=str(HERE), help="where RESULTS.md, results.json and results.png go")
    p.add_argument("--python", default=sys.executable, help="interpreter the environments are made from")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument("--render-only", action="store_true",
                   help="only rewrite RESULTS.md and results.png from the existing results.json")
    p.add_argument("--chart-python", help="an interpreter with matplotlib for the chart")
    args = p.parse_args(argv)
    if args.heavy:
        args.all_scenarios = True
        args.runs = max(args.runs, 7)
        args.pip_runs = max(args.pip_runs, 3)
        args.pip_max_n = 10**9
        args.baseline_runs = args.runs
    return args


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    fs = ""
    try:
        fs = subprocess.run(["df", "-T", str(HERE)], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    except (OSError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "filesystem": fs}


def tool_versions(uv: str, python: str) -> dict:
    from incrinstall import __version__

    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError:
            return ""

    pip = out([python, "-m", "pip", "--version"]).split(" from ")[0].replace("pip ", "")
    return {"incrinstall": __version__, "uv": out([uv, "--version"]).replace("uv ", ""),
            "pip": pip or "(bundled with the venv)", "python": out([python, "-c", "import platform; print(platform.python_version())"])}


def _scenarios_for(args, n: int, smallest: int) -> list[str]:
    every = ["baseline", *synthetic.SCENARIOS]
    if args.scenarios:
        wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in every]
        if unknown:
            raise SystemExit(f"unknown scenarios: {', '.join(unknown)}; choose from {', '.join(every)}")
        return wanted
    if args.all_scenarios or n == smallest:
        return every
    return list(SCALE_SCENARIOS)


def _tools(args, n: int | None):
    tools = all_tools(args.pip_runs)
    if args.tools:
        wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
        tools = [t for t in tools if t.id in wanted]
    if n is not None and n > args.pip_max_n:
        tools = [t for t in tools if t.id != "pip"]
    return tools


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from incrinstall.common.uv import uv_binary

    started = time.perf_counter()
    uv = uv_binary()
    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    uv_cache = work / "uv-cache"  # one cache for every tool and suite, primed by the setup
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.render_only:
        results = json.loads((out_dir / "results.json").read_text())
        report_mod.write_markdown(results, out_dir / "RESULTS.md")
        if not args.no_chart:
            _chart(args, out_dir, work, uv)
        print(report_mod.headline_text(results))
        return 0
    command = "python benchmarks/run.py" + (" " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    results = {
        "command": command,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "versions": tool_versions(uv, args.python),
        "settings": {"sizes": args.sizes, "runs": args.runs, "pip_runs": args.pip_runs, "pip_max_n": args.pip_max_n,
                     "real_runs": args.real_runs, "baseline_runs_at_2000": args.baseline_runs, "seed": args.seed, "bytecode": "not compiled by any tool"},
        "load_average_at_start": _load(),
        "suites": [],
        "skipped": [],
    }
    sizes = [] if args.real_only else sorted(int(x) for x in args.sizes.split(",") if x.strip())
    for n in sizes:
        scenarios = _scenarios_for(args, n, sizes[0])
        tools = _tools(args, n)
        suite, index = synthetic_suite(n, work_root=work, uv_cache=uv_cache, uv=uv, python=args.python,
                                       scenarios=scenarios, seed=args.seed, report=_log)
        try:
            t0 = time.perf_counter()
            prepare(suite, tools, _log)
            _log(f"N={n}: prepared in {time.perf_counter() - t0:.0f} s; measuring {len(scenarios)} scenarios")
            big = {"baseline": min(args.runs, args.baseline_runs)} if n >= 2000 else {}
            measured = measure(suite, tools, args.runs, _log, scenario_runs=big)
        finally:
            index.stop()
        results["suites"].append(report_mod.suite_json(suite, tools, measured, kind="synthetic",
                                                       scenario_text=synthetic.SCENARIO_TEXT))
        _save(results, out_dir)
    if not args.no_real:
        _run_real(args, results, work, uv_cache, uv)
        _save(results, out_dir)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_at_end"] = _load()
    _save(results, out_dir)
    report_mod.write_markdown(results, out_dir / "RESULTS.md")
    _log(f"wrote {out_dir / 'results.json'} and {out_dir / 'RESULTS.md'}")
    if not args.no_chart:
        _chart(args, out_dir, work, uv)
    _log(f"done in {results['seconds']:.0f} s")
    print(report_mod.headline_text(results))
    return 0


def _run_real(args, results: dict, work: Path, uv_cache: Path, uv: str) -> None:
    from benchmarks.suites import REAL_TEXT

    url = real_index_url(args.real_index_url)
    suite, why = real_suite(work_root=work, uv_cache=uv_cache, uv=uv, python=args.python, index_url=url, report=_log)
    if suite is None:
        _log(f"skipping the real-packages suite: {why}")
        results["skipped"].append({"suite": "Airflow 2.10 core", "why": why})
        return
    suite.scenarios = ["baseline", *REAL_SCENARIOS]
    tools = _tools(args, None)
    _log(f"real-packages suite on {url}")
    try:
        prepare(suite, tools, _log)
        measured = measure(suite, tools, args.real_runs, _log)
    except RuntimeError as exc:
        _log(f"the real-packages suite failed: {exc}")
        results["skipped"].append({"suite": "Airflow 2.10 core", "why": str(exc).splitlines()[0]})
        return
    results["suites"].append(report_mod.suite_json(suite, tools, measured, kind="real",
                                                   scenario_text={"baseline": "a new environment", **REAL_TEXT}))


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _save(results: dict, out_dir: Path) -> None:
    tmp = out_dir / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(out_dir / "results.json")


def _chart(args, out_dir: Path, work: Path, uv: str) -> None:
    png = out_dir / "results.png"
    chart = [str(HERE / "chart.py"), str(out_dir / "results.json"), str(png)]
    python = args.chart_python
    if python is None:
        try:
            import matplotlib  # noqa: F401
            python = sys.executable
        except ImportError:
            python = _chart_venv(work, uv)
    if python is None:
        _log("no chart: matplotlib is not available. Make it with:\n"
             f"  uv venv {work / 'chart-venv'} && uv pip install --python {work / 'chart-venv'}/bin/python "
             f"-r {HERE / 'requirements.txt'}\n  python benchmarks/chart.py {out_dir / 'results.json'} {png}")
        return
    proc = subprocess.run([python, *chart], capture_output=True, text=True)
    if proc.returncode != 0:
        _log(f"chart failed: {proc.stderr.strip()[-800:]}")
    else:
        _log(f"wrote {png}")


def _chart_venv(work: Path, uv: str) -> str | None:
    venv = work / "chart-venv"
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import matplotlib"], capture_output=True).returncode == 0:
        return str(py)
    _log(f"installing matplotlib into {venv} (benchmarks/requirements.txt) for the chart")
    shutil.rmtree(venv, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    made = subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env=env,
                          capture_output=True, text=True)
    if made.returncode != 0:
        return None
    installed = subprocess.run([uv, "pip", "install", "--quiet", "--python", str(py), "-r",
                                str(HERE / "requirements.txt")], env=env, capture_output=True, text=True)
    if installed.returncode != 0:
        _log(f"could not install matplotlib: {installed.stderr.strip()[-400:]}")
        return None
    return str(py)


if __name__ == "__main__":
    raise SystemExit(main())
