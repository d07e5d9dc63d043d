"""Turn measured results into results.json entries, RESULTS.md tables and the headline ratios against issue 5's targets."""

from __future__ import annotations

from pathlib import Path

from incrinstall.benchkit import format_seconds, ratio

# The targets of issue 5, checked against every synthetic suite.
TARGETS = [
    # (id, text, scenario, alternative, kind, bound, applies to N)
    ("noop-abs-100", "no-op under 0.05 s median at N=100", "noop", None, "abs", 0.05, 100),
    ("noop-abs-2000", "no-op under 0.06 s median at N=2,000", "noop", None, "abs", 0.06, 2000),
    ("noop-vs-handmade", "no-op at least 15x faster than the hand-made no-op", "noop", "uv-editable", "speedup", 15, None),
    ("bump-100", "bump at least 3x faster than the hand-made approach at N=100", "bump", "uv-editable", "speedup", 3, 100),
    ("bump-2000", "bump at least 5x faster than the hand-made approach at N=2,000", "bump", "uv-editable", "speedup", 5, 2000),
    ("baseline", "baseline no slower than 1.2x a full uv install", "baseline", "uv-fresh", "ratio-max", 1.2, None),
]

TOOL_LABELS = {
    "incrinstall": "incrinstall sync",
    "incrinstall-first": "incrinstall sync (first after baseline)",
    "incr-baseline": "incrinstall baseline",
    "uv-editable": "hand-made: uv pip install -e .",
    "uv-pyproject": "hand-made: uv pip install -r pyproject.toml",
    "uv-exact": "uv pip compile + install --exact",
    "uv-exact:install": "… of which install --exact",
    "uv-fresh": "uv fresh install (new venv)",
    "pip": "pip install -e . (reference)",
}
OURS = {"baseline": "incr-baseline"}


def suite_json(suite, tools, results, *, kind: str, scenario_text: dict[str, str]) -> dict:
    rows = [r.to_json() for r in results]
    # The install step of uv-exact on its own: what --exact costs once the compiled file exists.
    for row in list(rows):
        if row["tool"] == "uv-exact" and "install" in row["steps"]:
            rows.append({**row, "tool": "uv-exact:install", "stats": row["steps"]["install"], "steps": {},
                         "seconds": None})
    commands = {}
    for tool in tools:
        try:
            commands[tool.id] = [s.shown for s in tool.steps(suite, "$VENV/bin/python")]
        except OSError:
            commands[tool.id] = []
    return {
        "name": suite.name, "kind": kind, "n": suite.n, "index": suite.index_url if kind == "real" else "loopback",
        "scenarios": {s: scenario_text.get(s, "") for s in suite.scenarios},
        "results": rows,
        "ratios": ratios(rows),
        "commands": commands,
        "truth_sizes": {s: len(p) for s, p in suite.truth.items()},
        "truth_delta": {s: _delta_text(suite.truth.get("noop", {}), p) for s, p in suite.truth.items() if s != "noop"},
        "truth_notes": suite.truth_notes,
        "setup_seconds": {k: round(v, 2) for k, v in suite.setup_seconds.items()},
    }


def _delta_text(base: dict, after: dict) -> str:
    from incrinstall.benchkit import env_diff

    installed, removed, changed = env_diff(base, after)
    return f"+{len(installed)} −{len(removed)} ~{len(changed)}"


def _find(rows: list[dict], scenario: str, tool: str) -> dict | None:
    return next((r for r in rows if r["scenario"] == scenario and r["tool"] == tool and r.get("stats")), None)


def ratios(rows: list[dict]) -> list[dict]:
    """incrinstall's median divided by every alternative's, per scenario (the numbers to quote)."""
    out = []
    for row in rows:
        ours_id = OURS.get(row["scenario"], "incrinstall")
        if row["tool"] in (ours_id, "incrinstall-first", "incrinstall") or not row.get("stats"):
            continue
        ours = _find(rows, row["scenario"], ours_id)
        if ours is None:
            continue
        r = ratio(ours["stats"]["median"], row["stats"]["median"])
        out.append({"scenario": row["scenario"], "vs": row["tool"], "ratio": r,
                    "speedup": (1 / r) if r else None})
    return out


def check_targets(suite: dict) -> list[dict]:
    rows = suite["results"]
    out = []
    for tid, text, scenario, alt, kind, bound, only_n in TARGETS:
        if suite["kind"] != "synthetic" or (only_n is not None and suite["n"] != only_n):
            continue
        ours = _find(rows, scenario, OURS.get(scenario, "incrinstall"))
        if ours is None:
            continue
        value = ours["stats"]["median"]
        if kind == "abs":
            met, shown = value < bound, format_seconds(value)
        else:
            other = _find(rows, scenario, alt)
            if other is None:
                continue
            r = ratio(value, other["stats"]["median"])
            if kind == "speedup":
                met, shown = (r is not None and 1 / r >= bound), f"{1 / r:.1f}x faster" if r else "-"
            else:
                met, shown = (r is not None and r <= bound), f"{r:.2f}x the time" if r else "-"
        out.append({"target": tid, "text": text, "n": suite["n"], "measured": shown, "met": met})
    return out


def _cell_time(row: dict) -> str:
    s = row.get("stats")
    if not s:
        return "failed" if row.get("error") else "-"
    return f"{format_seconds(s['median'])} ({format_seconds(s['min'])}–{format_seconds(s['max'])})"


def _cell_correct(row: dict) -> str:
    if row["tool"] == "uv-exact:install":
        return ""
    vs = row.get("vs_fresh_resolve") or {}
    parts = []
    if vs:
        if not any(vs.values()):
            parts.append("= fresh")
        else:
            if vs.get("extraneous"):
                parts.append(f"{len(vs['extraneous'])} left behind")
            if vs.get("missing"):
                parts.append(f"{len(vs['missing'])} missing")
            if vs.get("wrong_version"):
                parts.append(f"{len(vs['wrong_version'])} other version")
    if row.get("check_ok") is not None:
        parts.append("check ok" if row["check_ok"] else "check FAILS")
    return ", ".join(parts)


def suite_table(suite: dict) -> list[str]:
    rows = suite["results"]
    by_ratio = {(r["scenario"], r["vs"]): r for r in suite["ratios"]}
    lines = ["| scenario | tool | median (min–max) | runs | index requests | bytes | + / − / ~ | after the change | incrinstall ÷ this |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario in suite["scenarios"]:
        for row in [r for r in rows if r["scenario"] == scenario]:
            runs = row["stats"]["runs"] if row.get("stats") else 0
            req = row.get("index_requests")
            if req is None and row.get("index_requests_self_reported") is not None:
                req = f"{row['index_requests_self_reported']} (own count)"
            req = "" if row["tool"] == "uv-exact:install" else ("-" if req is None else req)
            size = row.get("bytes")
            size = "" if row["tool"] == "uv-exact:install" or size is None else _kb(size)
            delta = "" if row["tool"] == "uv-exact:install" else \
                f"{len(row['installed'])} / {len(row['removed'])} / {len(row['changed'])}"
            rr = by_ratio.get((scenario, row["tool"]))
            rtext = "" if rr is None or rr["ratio"] is None else f"**{rr['ratio']:.2f}** ({rr['speedup']:.1f}x)"
            if rtext and row.get("vs_fresh_resolve") and (row["vs_fresh_resolve"].get("missing")
                                                          or row["vs_fresh_resolve"].get("extraneous")):
                rtext += " †"
            lines.append(f"| {scenario} | {TOOL_LABELS.get(row['tool'], row['tool'])} | {_cell_time(row)} | {runs} | "
                         f"{req} | {size} | {delta} | {_cell_correct(row)} | {rtext} |")
    return lines


def _kb(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"


def headline_text(results: dict) -> str:
    lines = ["key ratios (incrinstall median ÷ alternative median; below 1 = incrinstall faster):"]
    for suite in results["suites"]:
        for r in suite["ratios"]:
            if r["vs"] in ("uv-editable", "uv-fresh", "uv-exact") and r["ratio"] is not None:
                lines.append(f"  {suite['name']:>18} {r['scenario']:<13} vs {r['vs']:<12} {r['ratio']:.3f} "
                             f"({r['speedup']:.1f}x)")
        for t in check_targets(suite):
            lines.append(f"  target {'MET ' if t['met'] else 'MISSED'} {t['text']} (N={t['n']}): {t['measured']}")
    return "\n".join(lines)


def write_markdown(results: dict, path: Path) -> None:
    path.write_text(render_markdown(results))


METHOD = """\
Each row is one tool on one scenario. Every timed run starts from a fresh copy of that tool's
prepared environment and of the unchanged project tree, then the scenario's edit is applied and
the tool runs (only the tool's commands are timed). All tools share one uv cache, primed before
the first timed run with every wheel any scenario needs, and the same index; no tool compiles
bytecode (uv does not by default; pip gets `--no-compile`). Rounds are interleaved: in each
round every tool runs once, so drift on the machine hits all of them alike.

Starting environments: incrinstall starts from `incrinstall baseline` of the base tree (as a
`.tar.gz` archive) followed by one `incrinstall sync` of the unchanged tree, as in a Docker
image whose earlier layer ran them; "first after baseline" starts right after `baseline`, with
no no-op stamp yet. The hand-made approach starts from the base tree installed by uv (`-e .`
for the editable variant, `-r pyproject.toml` otherwise); `uv --exact` starts from the same
environment and the base tree's compiled requirements file; the fresh install from an empty
venv; pip from the editable hand-made environment with pip in it.

Columns: *index requests* and *bytes* are counted at the loopback index for the whole run
(incrinstall's own requests and those of the uv it drives); for the real-packages suite only
incrinstall's own count is known. *+ / − / ~*: packages installed, removed, and changed version
by the first run. *After the change* compares the environment with a fresh `uv pip compile` of
the changed specs (in a folder uv had never built, so no cached metadata): "= fresh" means the
same packages at the same versions; "left behind" counts packages the new specs no longer need
(orphans); "other version" counts packages kept at a version the fresh resolve would not pick
(still satisfying every requirement, when `uv pip check` is ok). The project itself and
pip/setuptools are not counted. *incrinstall ÷ this*: incrinstall's median divided by this
tool's median, measured side by side (below 1: incrinstall is faster; in brackets, how many
times faster); † marks a tool whose result differs from the fresh resolve (packages missing or left
behind), so its time is not that of a correct install.

uv caches what it builds from a source tree (here: the project's metadata, computed by
hatch_build.py) keyed on the ctime of pyproject.toml, setup.py and setup.cfg. A change to
hatch_build.py or provider.yaml alone is therefore not seen by the uv commands that read the
project's metadata from that cache (`-r pyproject.toml`, `uv pip compile`, and so the fresh
install too) until pyproject.toml changes; `uv pip install -e .` rebuilds the editable every
time and sees it. The benchmark reproduces a developer's machine: uv's build cache is as the
baseline setup left it at the start of every run, and scenarios that leave pyproject.toml
alone are measured before those that edit it (restoring pyproject.toml would give it a new
ctime).
"""


def render_markdown(results: dict) -> str:
    m = results["machine"]
    v = results["versions"]
    st = results["settings"]
    out = ["# Benchmarks: incrinstall against the alternatives", "",
           f"Produced by `{results['command']}` on {results['started']} in {results.get('seconds', 0):.0f} s "
           "(see benchmarks/run.py for the options). Raw numbers: [results.json](results.json); "
           "chart: [results.png](results.png).", "",
           f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']} RAM, {m['os']}, filesystem {m['filesystem']}.  ",
           f"Versions: incrinstall {v['incrinstall']}, uv {v['uv']}, pip {v['pip']}, Python {v['python']}.  ",
           f"Settings: {st['runs']} timed runs per tool and scenario (pip: {st['pip_runs']}, and only up to "
           f"N={st['pip_max_n']}; the baseline scenario at N=2,000: {st.get('baseline_runs_at_2000')}; real-packages "
           f"suite: {st['real_runs']}), generator seed {st['seed']}, bytecode "
           f"{st['bytecode']}.  ",
           f"Load average (1, 5, 15 min) at the start: {results.get('load_average_at_start')}, at the end: "
           f"{results.get('load_average_at_end')} (other work on the machine adds noise to every tool alike).", ""]
    out += ["![time per scenario and tool, and time against N](results.png)", ""]
    out += ["## Targets of issue 5", "", "| target | N | measured | |", "|---|---|---|---|"]
    for suite in results["suites"]:
        for t in check_targets(suite):
            out.append(f"| {t['text']} | {t['n']} | {t['measured']} | {'met' if t['met'] else '**missed**'} |")
    out += [""]
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.is_file():
        out += [analysis.read_text().strip(), ""]
    out += ["## Method", "", METHOD]
    for suite in results["suites"]:
        title = f"Synthetic suite, {suite['name']}" if suite["kind"] == "synthetic" else \
            f"Real packages: {suite['name']} (from {suite['index']})"
        out += [f"## {title}", ""]
        deltas = suite.get("truth_delta", {})
        out += [f"- **{s}**: {text}" + (f" (fresh resolve vs base: {deltas[s]})" if s in deltas else "")
                for s, text in suite["scenarios"].items()]
        sizes = ", ".join(f"{s} {n}" for s, n in suite["truth_sizes"].items())
        out += ["", f"Packages in a fresh resolve per scenario: {sizes}.", ""]
        out += suite_table(suite)
        errors = [r for r in suite["results"] if r.get("error")]
        for r in errors:
            out.append(f"\n- {r['tool']} on {r['scenario']} failed: `{r['error'].splitlines()[0]}`")
        for note in suite.get("truth_notes", []):
            out.append(f"\n- note: {note}")
        out.append("")
    for skipped in results.get("skipped", []):
        out += [f"## {skipped['suite']}: skipped", "", skipped["why"], ""]
    out += ["## Exact commands", "", "Placeholders: `$PROJECT` the project tree, `$VENV` the environment, `$INDEX` "
            "the index URL, `$ARCHIVE` the base tree as a .tar.gz, `$WORK` a scratch folder.", ""]
    seen = set()
    for suite in results["suites"]:
        for tool, cmds in suite["commands"].items():
            for cmd in cmds:
                key = (tool, cmd)
                if key in seen:
                    continue
                seen.add(key)
                out.append(f"- {TOOL_LABELS.get(tool, tool)} ({suite['name']}): `{cmd}`")
    out.append("")
    return "\n".join(out)
