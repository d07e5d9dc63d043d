"""Time `incrinstall specs` on the Airflow-like fixture tree: cold (the hatch hook runs) and warm (cached).

    python benchmarks/bench_specs.py [--runs 9]

Serves the test suite's real hatchling wheels (python -m tests.support.real_wheels) from a loopback
index for the hook's build environment; caches go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.index_server import LoopbackIndex  # noqa: E402
from tests.support.real_wheels import ensure_real_wheels  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="incrinstall-bench-specs-"))
    index = LoopbackIndex(ensure_real_wheels())
    index.start()
    try:
        tree = work / "tree"
        shutil.copytree(REPO / "tests" / "data" / "airflow_like", tree)
        env = dict(os.environ, UV_INDEX_URL=index.url, INCRINSTALL_CACHE_DIR=str(work / "cache"),
                   UV_CACHE_DIR=str(work / "uv-cache"))
        cmd = [sys.executable, "-m", "incrinstall", "specs", str(tree), "--extra", "all", "--python", sys.executable]

        def once() -> float:
            started = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            return time.perf_counter() - started

        cold = once()
        warm = [once() for _ in range(args.runs)]
        print(f"incrinstall specs (airflow-like tree, --extra all): cold {cold:.3f} s (hook runs, build env made); "
              f"warm median {statistics.median(warm):.3f} s, min {min(warm):.3f}, max {max(warm):.3f} "
              f"({args.runs} runs)")
    finally:
        index.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
