"""Time `incrinstall plan` from a large uv.lock: warm, cold, and after a one-package lock change (issue 20).

    python benchmarks/bench_lock.py TREE [--group ci-image] [--python PY] [--runs 5] [--json out.json]

TREE is a uv project or workspace with a uv.lock: `benchmarks/airflow3_tree.py --out TREE` lays out
Airflow 3's, and `uv lock --directory TREE` locks it (that needs the real index; this script does not).
The target venv gets a stand-in `.dist-info` (METADATA, RECORD) for every package the lock selects, at
its locked version, so the plan sees them installed without hundreds of downloads: a plan reads only
the dist-info folders. The one-package change is `--moved LOCK`, a uv.lock uv wrote for the same tree
after one package moved (`uv lock --upgrade-package "a2wsgi==1.10.9"` in a copy), planned as a user
would, `uv lock --check` included; without it, the tree's uv.lock with one package's `version` edited,
planned with --frozen (uv would want to lock again). Everything runs in a scratch copy of the tree.

Reported, as medians: the plan's wall time; what it changes (0, then 1 upgrade); incrinstall's index
requests (0: nothing is asked of an index); `uv lock --check` and `uv export --frozen` on their own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from incrinstall.common.uv import uv_binary  # noqa: E402
from incrinstall.environment.interpreter import find_interpreter  # noqa: E402
from incrinstall.resolve.locked import select_uv_lock  # noqa: E402
from incrinstall.specs import lockfile, uvlock  # noqa: E402
from incrinstall.specs.model import Selection  # noqa: E402


def stand_in_environment(tree: Path, venv: Path, python: str, selection: Selection) -> dict[str, str]:
    """A venv holding a dist-info (no files) for every package the lock selects; returns name -> version."""
    subprocess.run([uv_binary(), "venv", "--quiet", "--python", python, str(venv)], check=True)
    interpreter = find_interpreter(str(venv / "bin" / "python"))
    lock = uvlock.read(tree / "uv.lock", "uv.lock")
    resolution = select_uv_lock(lock, selection=selection, default_groups=lockfile.uv_default_groups(tree),
                                markers=interpreter.markers, tags=interpreter.tags,
                                python_full_version=interpreter.version, installed={})
    site = Path(interpreter.purelib)
    for name, pin in resolution.pins.items():
        info = site / f"{name.replace('-', '_')}-{pin.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {pin.version}\n")
        (info / "INSTALLER").write_text("uv\n")
        (info / "RECORD").write_text(f"{info.name}/METADATA,,\n{info.name}/INSTALLER,,\n{info.name}/RECORD,,\n")
    return {name: pin.version for name, pin in resolution.pins.items()}


def bump_one(lock_path: Path, installed: dict[str, str]) -> tuple[str, str, str]:
    """Edit one selected package's version in the lock (one locked at a single version); returns (name, old, new)."""
    text = lock_path.read_text()
    for name in sorted(installed):
        block = re.search(rf'\n\[\[package\]\]\nname = "{re.escape(name)}"\nversion = "([^"]+)"\n', text)
        if block is None or text.count(f'\nname = "{name}"\n') != 1:
            continue
        old = block.group(1)
        new = old + ".post1"
        lock_path.write_text(text[:block.start(1)] + new + text[block.end(1):])
        return name, old, new
    raise SystemExit("no package to bump")


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--group", action="append", default=[], help="dependency groups (with --no-default-groups)")
    parser.add_argument("--python", default=sys.executable, help="the target interpreter")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--moved", type=Path, help="the tree's uv.lock after a one-package change (uv wrote it)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="incrinstall-bench-lock-"))
    try:
        tree = work / "tree"
        shutil.copytree(args.tree, tree, symlinks=True)
        venv = work / "venv"
        selection = Selection(groups=tuple(args.group), no_default_groups=bool(args.group))
        installed = stand_in_environment(tree, venv, args.python, selection)
        env = dict(os.environ, INCRINSTALL_CACHE_DIR=str(work / "cache"))
        select = [a for g in args.group for a in ("--group", g)] + (["--no-default-groups"] if args.group else [])
        plan = [sys.executable, "-m", "incrinstall", "plan", str(tree), "--python", str(venv / "bin" / "python"),
                "--json", *select]

        def plans(extra: list[str], runs: int) -> tuple[list[float], dict]:
            times, out = [], {}
            for _ in range(runs):
                seconds, proc = timed(plan + extra, env)
                if proc.returncode != 0:
                    raise SystemExit(f"plan failed:\n{proc.stderr}")
                times.append(seconds)
                out = json.loads(proc.stdout)
            return times, out

        cold, _ = plans([], 1)  # incrinstall's caches empty: specs collected, every lock block parsed
        warm, out = plans([], args.runs)
        changes = [a for a in out["actions"] if a["action"] != "keep"]
        check = [timed([uv_binary(), "lock", "--check", "--python", str(venv / "bin" / "python")], env, tree)[0]
                 for _ in range(args.runs)]
        export = [timed([uv_binary(), "export", "--frozen", "--no-hashes", "--no-emit-workspace", *select], env,
                        tree)[0] for _ in range(args.runs)]
        if args.moved is not None:
            shutil.copyfile(args.moved, tree / "uv.lock")
            name, old, new, frozen = args.moved.name, "", "", []
        else:
            name, old, new = bump_one(tree / "uv.lock", installed)
            frozen = ["--frozen"]
        moved_first, moved = plans(frozen, 1)  # the first plan after the move: the blocks that moved are parsed
        moved_warm, _ = plans(frozen, args.runs)
        moved_changes = [a for a in moved["actions"] if a["action"] != "keep"]
        results = {
            "packages": len(installed),
            "plan_cold_s": round(cold[0], 3),
            "plan_warm_median_s": round(statistics.median(warm), 3),
            "plan_changes": len(changes),
            "index_requests": out["index_requests"],
            "uv_lock_check_median_s": round(statistics.median(check), 3),
            "uv_export_frozen_median_s": round(statistics.median(export), 3),
            "moved": f"{name} {old} -> {new}" if old else f"{name} (uv lock --check runs)",
            "plan_after_bump_first_s": round(moved_first[0], 3),
            "plan_after_bump_median_s": round(statistics.median(moved_warm), 3),
            "plan_after_bump_changes": [f"{a['action']} {a['name']} {a['from']} -> {a['to']}" for a in moved_changes],
            "index_requests_after_bump": moved["index_requests"],
        }
        for key, value in results.items():
            print(f"{key:28} {value}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
