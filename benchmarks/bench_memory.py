"""Peak memory (RSS) of `incrinstall plan` and `incrinstall sync` on an environment of 2,000 installed packages.

The world is benchmarks/bench_resolve.py's (seeded): N packages in four layers installed as
`.dist-info` folders (or with uv, `--install-with uv`), a state recording them all as managed, a
project requiring them, a loopback index over their wheels, and the change: one root requirement
bumped past the installed version (an upgrade plus one new dependency).

Each case runs the real CLI in a fresh process. incrinstall's peak RSS is its own VmHWM (the
high-water mark of its memory map, Linux's /proc/self/status) read at exit: exact. uv's is the
largest VmHWM that polling /proc every 5 ms saw for a uv process below it, so only a rise in uv's
last few milliseconds could be missed. (getrusage's ru_maxrss would not do: it survives exec, so
a child's starts at the size of the process that spawned it.) The HTTP cache is emptied before every plan and sync that
resolves, as in bench_resolve.py, so every run makes the requests a first run would.

Cases, in this order on one environment:
  plan, no change            plan, one change
  sync, no change, full path (the first sync after the baseline: no stamp yet, so it resolves)
  sync, no change, fast path (the stamp now matches: no resolver, no network)
  sync, one change           (resolves, uv installs 2 packages, the state is rewritten)

Usage: python benchmarks/bench_memory.py [--packages 2000] [--runs 3] [--install-with dist-info|uv]
                                         [--work DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_resolve  # noqa: E402

# Runs the CLI in this process and, at its exit, writes this process's peak RSS: VmHWM, the high-water mark of
# its own memory map. (Not getrusage's ru_maxrss: that survives exec, so it starts at the size of the
# benchmark process that spawned it, tens of MB here.)
_MEASURED = """
import atexit, json, runpy, sys
out, sys.argv = sys.argv[1], ["incrinstall", *sys.argv[2:]]
def report():
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        json.dump({"self_kb": int(hwm.split()[1])}, f)
atexit.register(report)
runpy.run_module("incrinstall", run_name="__main__", alter_sys=True)
"""


def _descendants_peak(root: int, peaks: dict[str, int], stop: threading.Event) -> None:
    """Until `stop`: the largest VmHWM (kB) seen of each program name among `root`'s descendants (/proc)."""
    while not stop.is_set():
        parents: dict[int, int] = {}
        status: dict[int, tuple[str, int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                text = Path(entry.path, "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            pid = int(entry.name)
            parents[pid] = int(fields.get("PPid", "0"))
            if "VmHWM" in fields:
                status[pid] = (fields["Name"].strip(), int(fields["VmHWM"].split()[0]))
        for pid, (name, hwm) in status.items():
            up = parents.get(pid)
            while up and up != root:
                up = parents.get(up)
            if up == root:
                peaks[name] = max(peaks.get(name, 0), hwm)
        stop.wait(0.005)


def measure(args: list[str], env: dict[str, str], work: Path) -> dict:
    out = work / "rss.json"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _MEASURED, str(out), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peaks: dict[str, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_descendants_peak, args=(proc.pid, peaks, stop), daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"incrinstall {' '.join(args[:2])} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    return {"incrinstall_mb": json.loads(out.read_text())["self_kb"] / 1024, "uv_mb": peaks.get("uv", 0) / 1024,
            "seconds": seconds, "stdout": stdout}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each plan case (the sync cases run once)")
    parser.add_argument("--install-with", choices=["dist-info", "uv"], default="dist-info")
    parser.add_argument("--work", type=Path, help="keep the built wheels here between runs (default: a temp folder)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    work, temp = bench_resolve.isolated_work(args.work, "bench-memory-")
    s = bench_resolve.setup(work, args.packages, args.install_with)
    env = {**bench_resolve._clean_env(s), "PYTHONPATH": str(REPO), "UV_CACHE_DIR": str(work / "uv-cache")}
    target = ["--python", str(s.python), "--index-url", s.index.url]
    # For scale: the same interpreter doing nothing.
    bare = subprocess.run([sys.executable, "-c", "print(next(l for l in open('/proc/self/status') "
                           "if l.startswith('VmHWM:')).split()[1])"], capture_output=True, text=True, check=True)
    rows = [("python alone, for scale", [{"incrinstall_mb": int(bare.stdout) / 1024, "uv_mb": 0, "seconds": 0}])]
    try:
        for case in ("no-op", "one change"):
            bench_resolve._set_case(s, case)
            runs = []
            for _ in range(args.runs):
                bench_resolve._clear_http_cache(s)
                runs.append(measure(["plan", str(s.project), *target], env, work))
            rows.append((f"plan, {'no change' if case == 'no-op' else 'one change'}", runs))
        bench_resolve._set_case(s, "no-op")
        bench_resolve._clear_http_cache(s)
        first = measure(["sync", str(s.project), *target], env, work)
        assert "sync: 0 changed" in first["stdout"], first["stdout"]
        rows.append(("sync, no change, full path", [first]))
        fast = measure(["sync", str(s.project), *target], env, work)
        assert "nothing to do" in fast["stdout"], fast["stdout"]
        rows.append(("sync, no change, fast path", [fast]))
        bench_resolve._set_case(s, "one change")
        bench_resolve._clear_http_cache(s)
        change = measure(["sync", str(s.project), *target], env, work)
        assert "sync: 2 changed" in change["stdout"], change["stdout"]
        rows.append(("sync, one change", [change]))
    finally:
        s.index.stop()

    print(f"\n{args.packages} installed packages ({args.install_with}); python {sys.version.split()[0]}; "
          f"peak RSS at exit (median of {args.runs} runs for plan)")
    print(f"{'case':<28} {'incrinstall MB':>14} {'uv MB':>7} {'s':>6}")
    figures = []
    for case, runs in rows:
        med = {k: statistics.median(r[k] for r in runs) for k in ("incrinstall_mb", "uv_mb", "seconds")}
        uv = f"{med['uv_mb']:7.1f}" if med["uv_mb"] else f"{'-':>7}"
        print(f"{case:<28} {med['incrinstall_mb']:14.1f} {uv} {med['seconds']:6.2f}")
        figures.append({"case": case, "runs": len(runs), **{k: round(v, 2) for k, v in med.items()}})
    if args.json:
        Path(args.json).write_text(json.dumps({"packages": args.packages, "install_with": args.install_with,
                                               "python": sys.version.split()[0], "rows": figures}, indent=1) + "\n")
    if temp is not None:
        temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
