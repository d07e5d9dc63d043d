"""Bytes and time of a fresh plan when the index serves no PEP 658 metadata files: incrinstall against uv.

    python benchmarks/bench_no_pep658.py [--packages 20] [--runs 3]

A loopback index (no `.metadata` files, Range supported) serves wheels the size of real ones:
a payload of 1-4 MB each, and some with 2,000 small modules so their zip directory is large.
Each run uses a fresh cache on both sides, so every METADATA is fetched. incrinstall runs
`plan` on an empty venv (its own resolver: fewer packages than it hands to uv); uv runs
`pip compile` of the same root requirement. Bytes are what the server sent for `/files/`.
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from incrinstall.common.uv import uv_binary  # noqa: E402
from tests.support.index_server import LoopbackIndex  # noqa: E402
from tests.support.wheels import build_wheel  # noqa: E402


def make_wheels(folder: Path, count: int) -> None:
    rng = random.Random(42)
    names = [f"pkg{i:03d}" for i in range(count)]
    for i, name in enumerate(names):
        files: dict[str, bytes | str] = {f"{name}/blob.bin": os.urandom(rng.randint(1, 4) * 1024 * 1024)}
        if i % 4 == 0:  # a package of many modules: its central directory alone is ~150 KB
            files.update({f"{name}/sub/mod{j:04d}.py": f"X = {j}\n" for j in range(2000)})
        requires = [names[i + 1]] if i + 1 < count else []
        build_wheel(folder, name, "1.0", requires_dist=requires, files=files)


def file_bytes(index: LoopbackIndex) -> int:
    return sum(r.bytes_sent for r in index.request_log if r.path.startswith("/files/"))


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-no-pep658-"))
    try:
        make_wheels(work / "files", args.packages)
        total = sum(p.stat().st_size for p in (work / "files").glob("*.whl"))
        tree = work / "tree"
        tree.mkdir()
        (tree / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["pkg000"]\n')
        (work / "req.in").write_text("pkg000\n")
        subprocess.run([uv_binary(), "venv", "-q", str(work / "venv")], check=True)
        python = work / "venv" / "bin" / "python"
        rows = {"incrinstall plan": ([], []), "uv pip compile": ([], [])}
        with LoopbackIndex(work / "files", serve_metadata=False) as index:
            for run in range(args.runs):
                for label in rows:
                    env = {**os.environ, "UV_CACHE_DIR": str(work / f"uv-{label[:2]}-{run}"),
                           "INCRINSTALL_CACHE_DIR": str(work / f"inc-{run}"), "UV_NO_CONFIG": "1"}
                    index.reset_log()
                    if label == "incrinstall plan":
                        cmd = [sys.executable, "-m", "incrinstall", "plan", str(tree), "--python", str(python),
                               "--index-url", index.url]
                    else:
                        cmd = [uv_binary(), "pip", "compile", "--no-config", str(work / "req.in"), "--python",
                               str(python), "--index-url", index.url, "-q", "--no-header"]
                    seconds = timed(cmd, env)
                    rows[label][0].append(seconds)
                    rows[label][1].append(file_bytes(index))
        print(f"{args.packages} wheels, {total / 1e6:.1f} MB in all, no PEP 658 files, fresh caches, {args.runs} runs\n")
        print("| | median s (min-max) | bytes of files sent |")
        print("|---|---|---|")
        for label, (secs, sent) in rows.items():
            print(f"| {label} | {statistics.median(secs):.2f} ({min(secs):.2f}-{max(secs):.2f}) | "
                  f"{statistics.median(sent):,.0f} |")
        ours, theirs = (statistics.median(rows[k][1]) for k in rows)
        print(f"\nbytes, incrinstall / uv: {ours / theirs:.2f}x; "
              f"time: {statistics.median(rows['incrinstall plan'][0]) / statistics.median(rows['uv pip compile'][0]):.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
