"""The Docker rebuild table (issue 12) with medians: runs tests/slow/test_docker.py N times, side by side.

    DOCKER_BUILDKIT=1 python benchmarks/bench_docker.py [--runs 3] [--json out.json]

Needs a running engine and the test cache (`python -m tests.support.docker_engine`). Every run of
the test builds README's Dockerfile and the hand-made one on the bundled example, each scenario
once, alternating the two, on a real engine; this script collects each run's report
(INCRINSTALL_DOCKER_REPORT) and prints the median [min-max] of every scenario's rebuild time
for both Dockerfiles, the image sizes, and the bytes of package-manager cache left in the image.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ("first build", "source-only edit", "one-package bump", "removal", "provider.yaml change",
             "registry rebuild after a spec change")


def one_run(index: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "INCRINSTALL_DOCKER_REPORT": str(report), "DOCKER_BUILDKIT": "1"}
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/slow/test_docker.py"],
                              cwd=REPO, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"run {index}: tests/slow/test_docker.py failed\n{proc.stdout[-3000:]}")
        return json.loads(report.read_text())


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s [{min(values):.2f}-{max(values):.2f}]" if values else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    runs = [one_run(i) for i in range(args.runs)]
    rows = []
    print("| rebuild after | README's Dockerfile | hand-made Dockerfile | ratio (hand-made / ours) |")
    print("|---|---|---|---|")
    for scenario in SCENARIOS:
        # each scenario is built twice per run: in its own test, and again right before the hand-made build
        ours = [r[key]["incrinstall_seconds"] for r in runs for key in (scenario, scenario + " (2nd)") if key in r]
        theirs = [r[scenario]["hand_made_seconds"] for r in runs if "hand_made_seconds" in r.get(scenario, {})]
        ratio = f"{statistics.median(theirs) / statistics.median(ours):.2f}x" if ours and theirs else "-"
        rows.append({"scenario": scenario, "incrinstall": ours, "hand_made": theirs})
        print(f"| {scenario} | {spread(ours)} | {spread(theirs)} | {ratio} |")
    ours_image, hand_image = runs[-1]["incrinstall image"], runs[-1]["hand-made image"]
    print(f"\nimage: {ours_image['image_bytes'] / 1e6:.1f} MB, package-manager cache in it "
          f"{ours_image['cache_bytes_in_image']} bytes; hand-made image {hand_image['image_bytes'] / 1e6:.1f} MB, "
          f"cache in it {hand_image['cache_bytes_in_image']} bytes; {args.runs} runs of tests/slow/test_docker.py")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
