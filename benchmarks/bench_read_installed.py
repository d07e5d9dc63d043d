"""Time read_installed() and env_signature() on 700 and 1,000 fake-but-realistic *.dist-info folders.

Each folder looks like what a wheel install leaves behind: METADATA with 10-40 classifiers, 0-30
Requires-Dist lines (some folded), a long Markdown description in the body (2-200 KB; a tenth use the
old style where the description is a folded header), RECORD, WHEEL, INSTALLER, and direct_url.json
for a few.  Usage: python benchmarks/bench_read_installed.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from incrinstall.environment.installed import read_installed  # noqa: E402
from incrinstall.install.stamp import env_signature  # noqa: E402


def _metadata(rng: random.Random, name: str, version: str, others: list[str]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: The {name} package does {rng.choice(['a', 'many', 'few'])} things",
             f"Home-page: https://example.invalid/{name}", "Author: Someone", "Author-email: a@example.invalid",
             "License: MIT"]
    lines += [f"Classifier: Programming Language :: Python :: 3.{m}" for m in range(rng.randint(10, 40))]
    lines.append("Requires-Python: >=3.8")
    for i in range(rng.randint(0, 30)):
        dep = rng.choice(others)
        if i % 7 == 3:  # a folded header, as some old tools write them
            lines.append(f"Requires-Dist: {dep}>=1.{i};\n        python_version >= \"3.8\"")
        elif i % 5 == 0:
            lines.append(f'Requires-Dist: {dep}; extra == "test"')
        else:
            lines.append(f"Requires-Dist: {dep}>=0.{i}")
    paragraph = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
                 "labore et dolore magna aliqua. Requires-Dist: not-a-header\n")
    description = paragraph * (rng.randint(2_000, 200_000) // len(paragraph))
    if rng.random() < 0.1:  # old style: the description is a folded header before the blank line
        folded = description.replace("\n", "\n        |")
        return "\n".join(lines) + "\nDescription: " + folded + "\n\n"
    lines.append("Description-Content-Type: text/markdown")
    return "\n".join(lines) + "\n\n" + description


def make_site(root: Path, count: int, seed: int = 1) -> Path:
    rng = random.Random(seed)
    site = root / f"site-{count}"
    site.mkdir()
    names = [f"pkg-{i:04d}" for i in range(count)]
    for i, name in enumerate(names):
        version = f"{rng.randint(0, 30)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
        folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
        folder.mkdir()
        (folder / "METADATA").write_text(_metadata(rng, name, version, names), encoding="utf-8")
        (folder / "WHEEL").write_text(
            "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        (folder / "INSTALLER").write_text("uv\n")
        (folder / "RECORD").write_text("".join(f"{name}/m{j}.py,sha256=x,1\n" for j in range(rng.randint(3, 200))))
        if i % 50 == 0:
            url = {"url": f"file:///src/{name}", "dir_info": {"editable": True}}
            (folder / "direct_url.json").write_text(json.dumps(url))
        pkg = site / name.replace("-", "_")
        pkg.mkdir()
        (pkg / "__init__.py").write_text("")
    return site


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incrinstall-bench-") as tmp:
        for count in (700, 1000):
            site = make_site(Path(tmp), count)
            size = sum(f.stat().st_size for f in site.glob("*.dist-info/METADATA"))
            dists = read_installed([str(site)])
            assert len(dists) == count, len(dists)
            read = timed(lambda site=site: read_installed([str(site)]), args.runs)
            sig = timed(lambda site=site: env_signature([str(site)]), args.runs)
            print(f"{count:5d} dists ({size / 1e6:.0f} MB of METADATA): "
                  f"read_installed median {read * 1000:6.1f} ms, env_signature median {sig * 1000:5.2f} ms "
                  f"({args.runs} runs, warm page cache)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
