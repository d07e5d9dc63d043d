"""Build the two suites: synthetic projects at N packages on a loopback index, and Airflow 2.10's core on the real index.

`synthetic_suite()` and `real_suite()` lay out the scratch folders and the project; `prepare()`
makes every tool's starting environment, the truth for each scenario and a primed uv cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import synthetic
from benchmarks.harness import (Suite, Tool, applies, compile_truth, make_venv, prime_wheels, remove_tree,
                                run, save_snapshot, save_uv_builds, subprocess_env)
from benchmarks.tools import incr_sync
from incrinstall.benchkit import copy_tree

# Apache Airflow 2.10.5's core runtime requirements (its wheel's Requires-Dist without extras),
# minus the pre-installed providers (they require apache-airflow itself).
AIRFLOW_2_10_CORE = [
    "alembic>=1.13.1, <2.0", "argcomplete>=1.10", "asgiref>=2.3.0", "attrs>=22.1.0", "blinker>=1.6.2",
    "colorlog>=6.8.2", "configupdater>=3.1.1", "connexion[flask]>=2.14.2,<3.0", "cron-descriptor>=1.2.24",
    "croniter>=2.0.2", "cryptography>=41.0.0", "deprecated>=1.2.13", "dill>=0.2.2",
    'eval-type-backport>=0.2.0;python_version<"3.10"', "flask-caching>=2.0.0", "flask-session>=0.4.0,<0.6",
    "flask-wtf>=1.1.0", "flask>=2.2.1,<2.3", "fsspec>=2023.10.0", 'google-re2>=1.0;python_version<"3.12"',
    'google-re2>=1.1;python_version>="3.12"', "gunicorn>=20.1.0", "httpx>=0.25.0",
    'importlib_metadata>=6.5;python_version<"3.12"',
    'importlib_resources>=5.2,!=6.2.0,!=6.3.0,!=6.3.1;python_version<"3.9"', "itsdangerous>=2.0",
    "jinja2>=3.0.0", "jsonschema>=4.18.0", "lazy-object-proxy>=1.2.0", "linkify-it-py>=2.0.0",
    "lockfile>=0.12.2", "markdown-it-py>=2.1.0", "markupsafe>=1.1.1", "marshmallow-oneofschema>=2.0.1",
    "mdit-py-plugins>=0.3.0", "methodtools>=0.4.7", "opentelemetry-api>=1.24.0",
    "opentelemetry-exporter-otlp>=1.24.0", "packaging>=23.0", "pathspec>=0.9.0",
    'pendulum>=2.1.2,<4.0;python_version<"3.12"', 'pendulum>=3.0.0,<4.0;python_version>="3.12"',
    "pluggy>=1.5.0", "psutil>=5.8.0", "pygments>=2.0.1", "pyjwt>=2.0.0", "python-daemon>=3.0.0",
    "python-dateutil>=2.7.0", "python-nvd3>=0.15.0", "python-slugify>=5.0", "requests>=2.27.0,<3",
    "requests-toolbelt>=0.4.0", "rfc3339-validator>=0.1.4", "rich-argparse>=1.0.0", "rich>=12.4.4",
    "setproctitle>=1.3.3", "sqlalchemy>=1.4.36,<2.0", "sqlalchemy-jsonfield>=1.0", "tabulate>=0.7.5",
    "tenacity>=8.0.0,!=8.2.0", "termcolor>=1.1.0", "universal-pathlib>=0.2.2,!=0.2.4", "werkzeug>=2.0,<3",
]
REAL_SCENARIOS = ("noop", "bump", "add", "remove")
REAL_TEXT = {
    "noop": "nothing changed",
    "bump": "rich>=12.4.4,<14 becomes rich>=14 (1 package upgraded)",
    "add": "kubernetes>=29 added (with its transitive dependencies)",
    "remove": "connexion[flask] removed (connexion and the packages only it needed become orphans)",
}
REAL_PROJECT = "airflow-core-deps"


def _write_tarball(tree: Path, dest: Path, top: str) -> None:
    """A GitHub-style source archive of `tree`: one top-level folder."""
    with tarfile.open(dest, "w:gz") as tf:
        tf.add(tree, arcname=top)


def _new_suite(name: str, work: Path, uv_cache: Path, *, uv: str, python: str, index_url: str,
               scenarios: list[str], apply, selection: list[str], extras_suffix: str, project_name: str,
               files: dict[str, str], keep_network_config: bool = False, **kw) -> Suite:
    # Every run starts incrinstall's cache empty (uv's cache stays: it holds the downloaded wheels,
    # and what it built from the project is reset to the state after the setup before every run).
    for stale in ("project", "template", "truth", "incrinstall-cache", "snapshots", "envs"):
        remove_tree(work / stale)
    work.mkdir(parents=True, exist_ok=True)
    suite = Suite(name=name, work=work, project=work / "project", template=work / "template", index_url=index_url,
                  uv=uv, python=python, env=subprocess_env(work, uv_cache, keep_network_config=keep_network_config),
                  scenarios=scenarios, apply=apply, selection=selection, extras_suffix=extras_suffix,
                  project_name=project_name, **kw)
    synthetic.write_tree(files, suite.template)
    copy_tree(suite.template, suite.project)
    _write_tarball(suite.template, work / "baseline.tar.gz", f"{project_name}-main")
    return suite


def synthetic_suite(n: int, *, work_root: Path, uv_cache: Path, uv: str, python: str, scenarios: list[str],
                    seed: int, report: Callable[[str], None]):
    """(suite, index): the universe's wheels (and the real hatchling wheels) on a loopback index."""
    from benchmarks.static_index import StaticIndex
    from tests.support.real_wheels import ensure_real_wheels

    universe = synthetic.make_universe(n, seed)
    started = time.perf_counter()
    folder = synthetic.build_index_folder(universe, work_root / "indexes" / f"n{n}-seed{seed}",
                                          real_wheels=ensure_real_wheels())
    index = StaticIndex(folder).start().warm()
    report(f"N={n}: {len(universe.packages)} packages on {index.url} ({time.perf_counter() - started:.1f} s)")

    def apply(scenario: str, tree: Path) -> list[str]:
        return synthetic.apply_scenario(universe, scenario, tree)

    suite = _new_suite(f"N={n}", work_root / f"n{n}", uv_cache, uv=uv, python=python, index_url=index.url,
                       scenarios=scenarios, apply=apply, selection=["--extra", synthetic.EXTRA],
                       extras_suffix=f"[{synthetic.EXTRA}]", project_name=synthetic.PROJECT_NAME,
                       files=synthetic.project_files(universe), index=index, n=n)
    suite.universe = universe
    return suite, index


def real_project_files(scenario: str = "noop") -> dict[str, str]:
    deps = ["rich>=12.4.4,<14" if d == "rich>=12.4.4" else d for d in AIRFLOW_2_10_CORE]
    if scenario == "bump":
        deps = ["rich>=14" if d == "rich>=12.4.4,<14" else d for d in deps]
    elif scenario == "add":
        deps = deps + ["kubernetes>=29"]
    elif scenario == "remove":
        deps = [d for d in deps if not d.startswith("connexion")]
    body = "".join(f"    {json.dumps(d)},\n" for d in deps)  # a JSON string is a TOML basic string
    return {
        "pyproject.toml": (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{REAL_PROJECT}"\nversion = "1.0.0"\nrequires-python = ">=3.9"\n'
            f"dependencies = [\n{body}]\n\n"
            '[tool.hatch.build.targets.wheel]\npackages = ["airflow_core_deps"]\n'),
        "airflow_core_deps/__init__.py": '"""Apache Airflow 2.10 core dependencies, as a project."""\n',
    }


def real_index_url(explicit: str | None) -> str:
    """The index the machine is configured for: --real-index-url, $UV_INDEX_URL, $PIP_INDEX_URL, pip config, PyPI."""
    if explicit:
        return explicit
    for key in ("UV_INDEX_URL", "PIP_INDEX_URL"):
        if os.environ.get(key):
            return os.environ[key]
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                              capture_output=True, text=True, timeout=30)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return "https://pypi.org/simple/"


def real_suite(*, work_root: Path, uv_cache: Path, uv: str, python: str, index_url: str,
               report: Callable[[str], None]) -> tuple[Suite | None, str | None]:
    """(suite, None), or (None, why it is skipped) when the index cannot be reached."""
    def apply(scenario: str, tree: Path) -> list[str]:
        base = real_project_files("noop")
        changed = {rel: text for rel, text in real_project_files(scenario).items() if base.get(rel) != text}
        for rel, text in changed.items():
            (tree / rel).write_text(text, encoding="utf-8")
        return sorted(changed)

    suite = _new_suite("Airflow 2.10 core", work_root / "real", uv_cache, uv=uv, python=python,
                       index_url=index_url, scenarios=list(REAL_SCENARIOS), apply=apply, selection=[],
                       extras_suffix="", project_name=REAL_PROJECT, files=real_project_files(),
                       keep_network_config=True)
    try:
        proc = subprocess.run([uv, "pip", "compile", "--no-header", "--python", python, "--index-url", index_url,
                               "-"], input="rich\n", env=suite.env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None, f"the index {index_url} did not answer within 120 s"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"the index {index_url} cannot be reached: {tail[0]}"
    return suite, None


def prepare(suite: Suite, tools: list[Tool], report: Callable[[str], None]) -> None:
    """Every tool's starting environment, the truth for each scenario, and a primed uv cache (all untimed)."""
    needed = {t.snapshot for t in tools if any(applies(t, s) for s in suite.scenarios)}
    started = time.perf_counter()
    for scenario in suite.scenarios:
        if scenario != "baseline":
            suite.truth[scenario] = compile_truth(suite, scenario, report)
    if "noop" not in suite.truth:
        suite.truth["noop"] = compile_truth(suite, "noop", report)
    if suite.universe is not None:
        for scenario, pins in suite.truth.items():
            expected = synthetic.expected_set(suite.universe, scenario)
            if pins != expected:
                diff = sorted(set(pins.items()) ^ set(expected.items()))[:6]
                suite.truth_notes.append(f"{scenario}: uv pip compile differs from the generator's oracle: {diff}")
    suite.setup_seconds["truth"] = time.perf_counter() - started
    incr = suite.incr()
    idx = suite.index_args()

    def timed_setup(label: str, fn) -> None:
        t0 = time.perf_counter()
        fn()
        suite.setup_seconds[label] = time.perf_counter() - t0
        report(f"  prepared {label} ({suite.setup_seconds[label]:.1f} s)")

    if needed & {"uv-base", "uv-editable", "uv-exact"}:
        def uv_base():
            py = make_venv(suite, "uv-base")
            run([suite.uv, "pip", "install", "--python", py, "-r", str(suite.project / "pyproject.toml"),
                 *suite.selection, *idx], suite, what="uv baseline")
            save_snapshot(suite, "uv-base")
            run([suite.uv, "pip", "compile", "--quiet", "--python", py, str(suite.project / "pyproject.toml"),
                 *suite.selection, "-o", str(suite.work / "base-compiled.txt"), *idx], suite,
                what="uv pip compile (base)")
            if "uv-editable" in needed:  # the same environment, then the project installed editable
                run([suite.uv, "pip", "install", "--python", py, "-e", f"{suite.project}{suite.extras_suffix}", *idx],
                    suite, what="uv editable baseline")
                save_snapshot(suite, "uv-editable")
        timed_setup("uv baselines", uv_base)
    if "pip" in needed:
        def pip_env():
            py = make_venv(suite, "pip", with_pip=True)
            run([suite.uv, "pip", "install", "--python", py, "-e", f"{suite.project}{suite.extras_suffix}", *idx],
                suite, what="pip baseline")
            save_snapshot(suite, "pip")
        timed_setup("pip", pip_env)
    if "empty" in needed:
        def empty():
            make_venv(suite, "empty")
            save_snapshot(suite, "empty")
        timed_setup("empty", empty)
    archive = str(suite.work / "baseline.tar.gz")
    if needed & {"incr", "incr-nostamp"}:
        def incr_env():
            py = make_venv(suite, "incr")
            run([*incr, "baseline", archive, "--python", py, *idx, *suite.selection], suite, what="incrinstall baseline")
            save_snapshot(suite, "incr-nostamp")
            # The very command the runs time: incrinstall's no-op record is per invocation.
            run(incr_sync(suite, py)[0].argv, suite, what="incrinstall sync (no-op stamp)")
            save_snapshot(suite, "incr")
        timed_setup("incrinstall baselines", incr_env)
    remove_tree(suite.snaps / "incrinstall-cache")
    suite.incr_cache.mkdir(parents=True, exist_ok=True)
    copy_tree(suite.incr_cache, suite.snaps / "incrinstall-cache")
    prime_wheels(suite, report)
    save_uv_builds(suite)

