"""A by-hand check on the real registry: Airflow 2.10.0 (baseline archive) -> 2.10.4 (branch tree).

Not part of the test suite (it needs PyPI). Run from a checkout with incrinstall installed:

    python benchmarks/real_airflow_check.py --work /tmp/airflow-check [--python python3.11]

It downloads both sdists, runs `incrinstall baseline` on 2.10.0 and `incrinstall sync --editable`
on the unpacked 2.10.4, then does the same with uv alone (a fresh `uv pip install -e` of the
2.10.4 tree, and the hand-made approach: 2.10.0's deps then `uv pip install -e` of 2.10.4),
and prints what each left behind: package counts, what the sync changed, `uv pip check`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from incrinstall.common.uv import uv_binary


def run(*cmd, check=True, **kw) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    proc.seconds = time.perf_counter() - started
    if check and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return proc


def sdist(work: Path, version: str) -> Path:
    out = work / "sdists"
    found = list(out.glob(f"apache_airflow-{version}.tar.gz"))
    if not found:
        run(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            f"apache-airflow=={version}", "-d", out)
        found = list(out.glob(f"apache_airflow-{version}.tar.gz"))
    return found[0]


def unpack(archive: Path, into: Path) -> Path:
    if not into.exists():
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    return next(into.iterdir())


def venv(path: Path, python: str) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    run(uv_binary(), "venv", "--quiet", "--python", python, path)
    return path / "bin" / "python"


def freeze(python: Path) -> dict[str, str]:
    out = run(uv_binary(), "pip", "list", "--python", python, "--format", "json").stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def pip_check(python: Path) -> tuple[int, list[str]]:
    proc = run(uv_binary(), "pip", "check", "--python", python, check=False)
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "requires" in line]
    return proc.returncode, lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--python", default="python3.11")
    parser.add_argument("--main", default="2.10.0")
    parser.add_argument("--branch", default="2.10.4")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    incr = [sys.executable, "-m", "incrinstall"]
    main_sdist = sdist(work, args.main)
    branch_tree = unpack(sdist(work, args.branch), work / f"tree-{args.branch}")
    report: dict = {}

    target = venv(work / "incrinstall-venv", args.python)
    base = run(*incr, "baseline", main_sdist, "--python", target)
    report["incrinstall baseline"] = {"seconds": round(base.seconds, 1), "packages": len(freeze(target))}
    before = freeze(target)
    synced = run(*incr, "sync", branch_tree, "--python", target, "--editable", "--json")
    after = freeze(target)
    summary = json.loads(synced.stdout)
    code, problems = pip_check(target)
    report["incrinstall sync --editable"] = {
        "seconds": round(synced.seconds, 1), "packages": len(after),
        "installed": summary.get("installed"), "removed": summary.get("removed"), "changed": summary.get("changed"),
        "uv pip check": "clean" if code == 0 else problems,
    }

    fresh = venv(work / "uv-fresh-venv", args.python)
    proc = run(uv_binary(), "pip", "install", "--python", fresh, "-e", branch_tree)
    code, problems = pip_check(fresh)
    uv_set = freeze(fresh)
    report["uv pip install -e (fresh)"] = {"seconds": round(proc.seconds, 1), "packages": len(uv_set),
                                           "uv pip check": "clean" if code == 0 else problems}
    differ = {n: (after.get(n), uv_set.get(n)) for n in set(after) | set(uv_set) if after.get(n) != uv_set.get(n)}
    report["incrinstall vs uv fresh: differing pins"] = differ

    hand = venv(work / "hand-made-venv", args.python)
    main_tree = unpack(main_sdist, work / f"tree-{args.main}")
    run(uv_binary(), "pip", "install", "--python", hand, "-e", main_tree)
    hand_before = freeze(hand)
    proc = run(uv_binary(), "pip", "install", "--python", hand, "-e", branch_tree)
    hand_after = freeze(hand)
    code, problems = pip_check(hand)
    report["hand-made (uv pip install -e 2.10.0 then -e 2.10.4)"] = {
        "seconds": round(proc.seconds, 1), "packages": len(hand_after),
        "changed": sorted(n for n in set(hand_before) | set(hand_after) if hand_before.get(n) != hand_after.get(n)),
        "uv pip check": "clean" if code == 0 else problems,
    }
    del before
    print(json.dumps(report, indent=1, sort_keys=False))


if __name__ == "__main__":
    main()
