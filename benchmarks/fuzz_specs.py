"""Fuzz the spec readers (pyproject.toml, provider.yaml, requirements/constraints files) with many examples.

    python -m benchmarks.fuzz_specs                       # 10,000 examples per reader
    python -m benchmarks.fuzz_specs --examples 500 --reader provider --seed 7 --json out.json

The strategies and the property are tests/support/spec_strategies.py's, which tests/specs/test_fuzz_specs.py
runs with a small fixed number of examples. Per reader it prints how many examples ran, how many
parsed, how many were refused with SpecError (and how many of those named a line), and every crash:
the exception and the input that caused it (the shortest few of each kind). Exit 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.support import spec_strategies  # noqa: E402


def fuzz(reader: str, examples: int, random_seed: int, markers: dict[str, str]) -> dict:
    counts: Counter = Counter()
    crashes: dict[str, list] = {}

    @seed(random_seed)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(case=spec_strategies.READERS[reader]())
    def run(case):
        from incrinstall.common.errors import SpecError

        counts["examples"] += 1
        try:
            outcome = spec_strategies.check(case, markers)
        except AssertionError as exc:  # refused, but without naming a file of the case
            crashes.setdefault(f"AssertionError: {str(exc)[:160]}", []).append(repr(case))
            return
        except SpecError:  # cannot happen: check() catches it; kept apart for a clear report
            raise
        except Exception as exc:  # noqa: BLE001 - a crash is what this looks for
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}: {str(exc)[:120]}"
            crashes.setdefault(key, []).append(repr(case))
            return
        counts["parsed" if outcome == "parsed" else "refused"] += 1
        counts["refused_with_line"] += outcome == "refused at a line"

    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    return {"reader": reader, "examples": counts["examples"], "parsed": counts["parsed"],
            "refused": counts["refused"], "refused_with_line": counts["refused_with_line"],
            "crashed": sum(len(v) for v in crashes.values()), "seconds": round(seconds, 1),
            "crashes": {k: sorted(v, key=len)[:3] for k, v in crashes.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="examples per reader (default 10000)")
    parser.add_argument("--reader", choices=sorted(spec_strategies.READERS), action="append",
                        help="only this reader (repeatable; default: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    # No user or machine cache: the readers run with the hook seam, but keep any cache write away anyway.
    os.environ.setdefault("INCRINSTALL_CACHE_DIR", tempfile.mkdtemp(prefix="fuzz-cache-"))
    markers = spec_strategies.target_markers()
    results = []
    print(f"{'reader':<13} {'examples':>8} {'parsed':>7} {'refused':>7} {'(line)':>7} {'crashed':>7} {'s':>6}")
    for reader in args.reader or list(spec_strategies.READERS):
        r = fuzz(reader, args.examples, args.seed, markers)
        results.append(r)
        print(f"{reader:<13} {r['examples']:>8} {r['parsed']:>7} {r['refused']:>7} {r['refused_with_line']:>7} "
              f"{r['crashed']:>7} {r['seconds']:>6}")
    for r in results:
        for kind, cases in r["crashes"].items():
            print(f"\n{r['reader']}: {kind}")
            for case in cases:
                print(f"  {case[:600]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"seed": args.seed, "results": results}, indent=1) + "\n")
    return 1 if any(r["crashed"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
