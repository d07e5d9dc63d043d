"""The approaches compared, each as the commands it runs from its prepared starting environment.

  incrinstall        `incrinstall sync` on an environment made by `incrinstall baseline` and synced once
  incrinstall-first  the first `incrinstall sync` right after `baseline` (no no-op stamp yet); no-op only
  incr-baseline      `incrinstall baseline ARCHIVE` into an empty venv; "baseline" scenario only
  uv-editable        hand-made: baseline installed by uv, then `uv pip install -e .[all]`
  uv-pyproject       hand-made without the editable build: `uv pip install -r pyproject.toml --extra all`
  uv-exact           `uv pip compile` (over the previously compiled file) + `uv pip install --exact`
  uv-fresh           a full install with uv into a new, empty venv
  pip                `pip install --no-compile -e .[all]` on the hand-made baseline (reference)

Commands shown in RESULTS.md use $PROJECT, $VENV, $INDEX, $ARCHIVE and $WORK placeholders.
"""

from __future__ import annotations

import shutil

from benchmarks.harness import Step, Suite, Tool
from tests.support.synthetic import SCENARIOS


def _sel_shown(suite: Suite) -> str:
    return (" " + " ".join(suite.selection)) if suite.selection else ""


def incr_sync(suite: Suite, py: str) -> list[Step]:
    argv = [*suite.incr(), "sync", str(suite.project), "--python", py, *suite.index_args(), *suite.selection,
            "--json"]
    return [Step("sync", argv, f"incrinstall sync $PROJECT --python $VENV/bin/python --index-url $INDEX"
                               f"{_sel_shown(suite)}")]


def incr_baseline(suite: Suite, py: str) -> list[Step]:
    argv = [*suite.incr(), "baseline", str(suite.work / "baseline.tar.gz"), "--python", py, *suite.index_args(),
            *suite.selection, "--json"]
    return [Step("baseline", argv, f"incrinstall baseline $ARCHIVE --python $VENV/bin/python --index-url $INDEX"
                                   f"{_sel_shown(suite)}")]


def uv_editable(suite: Suite, py: str) -> list[Step]:
    argv = [suite.uv, "pip", "install", "--python", py, "-e", f"{suite.project}{suite.extras_suffix}",
            *suite.index_args()]
    return [Step("install", argv, f"uv pip install --python $VENV/bin/python -e '$PROJECT{suite.extras_suffix}' "
                                  f"--index-url $INDEX")]


def uv_pyproject(suite: Suite, py: str) -> list[Step]:
    argv = [suite.uv, "pip", "install", "--python", py, "-r", str(suite.project / "pyproject.toml"),
            *suite.selection, *suite.index_args()]
    return [Step("install", argv, f"uv pip install --python $VENV/bin/python -r $PROJECT/pyproject.toml"
                                  f"{_sel_shown(suite)} --index-url $INDEX")]


def uv_exact(suite: Suite, py: str) -> list[Step]:
    # Like a project that keeps its compiled requirements file: start from the base tree's one.
    compiled = suite.work / "compiled.txt"
    shutil.copyfile(suite.work / "base-compiled.txt", compiled)
    compile_argv = [suite.uv, "pip", "compile", "--quiet", "--python", py, str(suite.project / "pyproject.toml"),
                    *suite.selection, "-o", str(compiled), *suite.index_args()]
    install_argv = [suite.uv, "pip", "install", "--python", py, "--exact", "-r", str(compiled), *suite.index_args()]
    return [
        Step("compile", compile_argv, f"uv pip compile --python $VENV/bin/python $PROJECT/pyproject.toml"
                                      f"{_sel_shown(suite)} -o $WORK/compiled.txt --index-url $INDEX"),
        Step("install", install_argv, "uv pip install --python $VENV/bin/python --exact -r $WORK/compiled.txt "
                                      "--index-url $INDEX"),
    ]


def pip_editable(suite: Suite, py: str) -> list[Step]:
    argv = [py, "-m", "pip", "install", "--quiet", "--no-compile", "-e", f"{suite.project}{suite.extras_suffix}",
            *suite.index_args()]
    return [Step("install", argv, f"$VENV/bin/python -m pip install --no-compile -e '$PROJECT{suite.extras_suffix}' "
                                  f"--index-url $INDEX")]


def all_tools(pip_runs: int | None) -> list[Tool]:
    return [
        Tool("incrinstall", "incrinstall sync", "incr", incr_sync, uses_incrinstall_cache=True),
        Tool("incrinstall-first", "incrinstall sync, first after baseline", "incr-nostamp", incr_sync,
             scenarios=("noop",), uses_incrinstall_cache=True),
        Tool("incr-baseline", "incrinstall baseline (into an empty venv)", "empty", incr_baseline,
             scenarios=("baseline",), uses_incrinstall_cache=True),
        Tool("uv-editable", "hand-made: uv pip install -e .", "uv-editable", uv_editable),
        Tool("uv-pyproject", "hand-made: uv pip install -r pyproject.toml", "uv-base", uv_pyproject),
        Tool("uv-exact", "uv pip compile + uv pip install --exact", "uv-base", uv_exact),
        Tool("uv-fresh", "uv full install into a new venv", "empty", uv_pyproject,
             scenarios=("baseline", *SCENARIOS)),
        Tool("pip", "pip install --no-compile -e .", "pip", pip_editable, runs=pip_runs),
    ]
