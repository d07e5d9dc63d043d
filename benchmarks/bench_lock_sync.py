"""A real sync of a large uv.lock against `uv sync --frozen`, side by side (issue 20, requirement 5).

    python benchmarks/bench_lock_sync.py TREE --moved MOVED_LOCK [--group ci-image] [--python PY] [--json out.json]

TREE is a uv workspace with a uv.lock (`benchmarks/airflow3_tree.py --out TREE`, then `uv lock --directory
TREE`); MOVED_LOCK is the uv.lock uv wrote for a copy of it after one package moved (`uv lock
--upgrade-package NAME==VERSION` in the copy). Needs the real index (the lock's files are downloaded).

1. Into two empty venvs of the same Python: `incrinstall sync TREE --group G` and
   `uv sync --frozen --no-install-workspace --group G` (uv's reference; the workspace's own packages are
   left out on both sides). Compared: names and versions, and `uv pip check` of both.
2. The tree's lock replaced by MOVED_LOCK in both copies: `incrinstall plan` (its time and its index
   requests), then `incrinstall sync` and `uv sync --frozen` on the two environments, timed side by side,
   and compared again. Each side works in its own copy of the tree, with the uv cache shared and warmed
   first by a scratch `uv sync` (as a CI cache mount would be), so neither side pays for the downloads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from incrinstall.common.uv import uv_binary  # noqa: E402


def timed(cmd: list[str], *, env: dict[str, str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def checked(what: str, result: tuple[float, subprocess.CompletedProcess]) -> float:
    seconds, proc = result
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return seconds


def installed(python: Path, env: dict[str, str]) -> dict[str, str]:
    proc = subprocess.run([uv_binary(), "pip", "list", "--python", str(python), "--format", "json"], env=env,
                          capture_output=True, text=True, check=True)
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(proc.stdout)}


def pip_check(python: Path, env: dict[str, str]) -> str:
    proc = subprocess.run([uv_binary(), "pip", "check", "--python", str(python)], env=env, capture_output=True, text=True)
    return "clean" if proc.returncode == 0 else (proc.stdout + proc.stderr).strip()


def differences(ours: dict[str, str], theirs: dict[str, str]) -> dict[str, list[str]]:
    return {"only_incrinstall": sorted(set(ours) - set(theirs)), "only_uv": sorted(set(theirs) - set(ours)),
            "versions": sorted(f"{n}: {ours[n]} vs {theirs[n]}" for n in set(ours) & set(theirs) if ours[n] != theirs[n])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--moved", type=Path, required=True, help="the tree's uv.lock after a one-package change")
    parser.add_argument("--group", action="append", default=[])
    parser.add_argument("--python", default=sys.executable, help="the target interpreter")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="incrinstall-bench-lock-sync-"))
    # The checkout's incrinstall, whatever the running Python has installed.
    env = dict(os.environ, INCRINSTALL_CACHE_DIR=str(work / "incrinstall-cache"), PYTHONPATH=str(REPO))
    env.setdefault("UV_CACHE_DIR", str(work / "uv-cache"))
    groups = [a for g in args.group for a in ("--group", g)] + (["--no-default-groups"] if args.group else [])
    try:
        ours_tree, uv_tree = work / "tree-incrinstall", work / "tree-uv"
        for tree in (ours_tree, uv_tree):
            shutil.copytree(args.tree, tree, symlinks=True)
        venvs = {}
        for side in ("incrinstall", "uv"):
            venvs[side] = work / f"venv-{side}"
            subprocess.run([uv_binary(), "venv", "--quiet", "--python", args.python, str(venvs[side])], check=True)
        ours_py, uv_py = venvs["incrinstall"] / "bin" / "python", venvs["uv"] / "bin" / "python"
        incr = [sys.executable, "-m", "incrinstall"]
        uv_env = dict(env, UV_PROJECT_ENVIRONMENT=str(venvs["uv"]))
        uv_sync = [uv_binary(), "sync", "--frozen", "--no-install-workspace", *groups]

        # Both sides then read a warm uv cache (a CI cache mount): a scratch `uv sync` downloads and builds once.
        warm = work / "venv-warm-up"
        subprocess.run([uv_binary(), "venv", "--quiet", "--python", args.python, str(warm)], check=True)
        checked("uv sync (warm-up)", timed(uv_sync, env=dict(env, UV_PROJECT_ENVIRONMENT=str(warm)), cwd=uv_tree))
        first = {"incrinstall_s": checked("incrinstall sync", timed(
                     [*incr, "sync", str(ours_tree), "--python", str(ours_py), *groups], env=env)),
                 "uv_s": checked("uv sync --frozen", timed(uv_sync, env=uv_env, cwd=uv_tree))}
        ours, theirs = installed(ours_py, env), installed(uv_py, env)
        first.update(packages=len(ours), differences=differences(ours, theirs),
                     pip_check_incrinstall=pip_check(ours_py, env), pip_check_uv=pip_check(uv_py, env))

        for tree in (ours_tree, uv_tree):
            shutil.copyfile(args.moved, tree / "uv.lock")
        plan_s, plan = timed([*incr, "plan", str(ours_tree), "--python", str(ours_py), "--json", *groups], env=env)
        checked("incrinstall plan", (plan_s, plan))
        actions = [f"{a['action']} {a['name']} {a['from']} -> {a['to']}" for a in json.loads(plan.stdout)["actions"]
                   if a["action"] != "keep"]
        moved = {"plan_s": plan_s, "plan_actions": actions,
                 "plan_index_requests": json.loads(plan.stdout)["index_requests"],
                 "incrinstall_s": checked("incrinstall sync (moved)", timed(
                     [*incr, "sync", str(ours_tree), "--python", str(ours_py), *groups], env=env)),
                 "uv_s": checked("uv sync --frozen (moved)", timed(uv_sync, env=uv_env, cwd=uv_tree))}
        ours, theirs = installed(ours_py, env), installed(uv_py, env)
        moved.update(differences=differences(ours, theirs), pip_check_incrinstall=pip_check(ours_py, env),
                     pip_check_uv=pip_check(uv_py, env), ratio=round(moved["uv_s"] / moved["incrinstall_s"], 2))
        results = {"first_sync": first, "after_the_lock_moved": moved}
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
