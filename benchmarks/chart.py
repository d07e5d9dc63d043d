"""Draw results.png from results.json: time per scenario and tool, and time against N.

Needs matplotlib (benchmarks/requirements.txt), which incrinstall itself does not depend on:
    python benchmarks/chart.py benchmarks/results.json benchmarks/results.png
"""

from __future__ import annotations

import json
import sys

TOOLS = [  # (id, label, colour)
    ("incrinstall", "incrinstall sync", "#1b9e77"),
    ("incr-baseline", "incrinstall baseline", "#66c2a5"),
    ("uv-editable", "hand-made: uv pip install -e .", "#d95f02"),
    ("uv-pyproject", "hand-made: uv pip install -r pyproject.toml", "#fc8d62"),
    ("uv-exact", "uv compile + install --exact", "#7570b3"),
    ("uv-fresh", "uv fresh install", "#e7298a"),
    ("pip", "pip install -e .", "#999999"),
]


def _median(row):
    return row["stats"]["median"] if row.get("stats") else None


def _bars(ax, suite, title):
    import numpy as np

    scenarios = list(suite["scenarios"])
    rows = {(r["scenario"], r["tool"]): r for r in suite["results"] if r.get("stats")}
    tools = [t for t in TOOLS if any((s, t[0]) in rows for s in scenarios)]
    width = 0.8 / max(1, len(tools))
    x = np.arange(len(scenarios))
    for i, (tid, label, colour) in enumerate(tools):
        heights, lows, highs = [], [], []
        for s in scenarios:
            row = rows.get((s, tid))
            if row is None:
                heights.append(np.nan)
                lows.append(0)
                highs.append(0)
                continue
            st = row["stats"]
            heights.append(st["median"])
            lows.append(st["median"] - st["min"])
            highs.append(st["max"] - st["median"])
        ax.bar(x + (i - (len(tools) - 1) / 2) * width, heights, width, label=label, color=colour,
               yerr=[lows, highs], error_kw={"elinewidth": 0.6, "capsize": 1.5})
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels(scenarios, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("wall time, s (median, min–max)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="both", alpha=0.3)


def _scaling(ax, suites):
    synthetic = [s for s in suites if s["kind"] == "synthetic"]
    styles = {"noop": "-", "bump": "--"}
    for scenario, style in styles.items():
        for tid, label, colour in TOOLS:
            points = []
            for suite in synthetic:
                row = next((r for r in suite["results"] if r["scenario"] == scenario and r["tool"] == tid
                            and r.get("stats")), None)
                if row is not None:
                    points.append((suite["n"], _median(row)))
            if len(points) >= 2:
                xs, ys = zip(*sorted(points))
                ax.plot(xs, ys, style, marker="o", color=colour, label=f"{label} ({scenario})", markersize=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (packages in the environment)")
    ax.set_ylabel("wall time, s (median)")
    ax.set_title("time against N: no-op (solid) and one-package bump (dashed)", fontsize=10)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)


def draw(results: dict, png: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = results["suites"]
    synthetic = sorted((s for s in suites if s["kind"] == "synthetic"), key=lambda s: s["n"])
    real = [s for s in suites if s["kind"] == "real"]
    panels = []
    if synthetic:
        panels.append((synthetic[0], f"synthetic, N={synthetic[0]['n']}: time per scenario and tool"))
        if len(synthetic) > 1:
            panels.append((synthetic[-1], f"synthetic, N={synthetic[-1]['n']}: time per scenario and tool"))
    for suite in real:
        panels.append((suite, f"real packages ({suite['name']})"))
    count = len(panels) + (1 if len(synthetic) > 1 else 0)
    cols = 1 if count == 1 else 2
    rows = max(1, (count + 1) // 2)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 5 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, (suite, title) in zip(flat, panels):
        _bars(ax, suite, title)
    used = len(panels)
    if len(synthetic) > 1:
        _scaling(flat[used], suites)
        used += 1
    for ax in flat[used:]:
        ax.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(png, dpi=110)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python benchmarks/chart.py RESULTS_JSON OUT_PNG", file=sys.stderr)
        return 2
    with open(args[0]) as fh:
        draw(json.load(fh), args[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
