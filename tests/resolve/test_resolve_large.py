"""A large open part (hundreds of packages to decide, as a CI set from an old environment) goes to uv.

uv resolves it, preferring what is installed; a small delta stays with incrinstall's own
resolver, which asks the index about nothing that is already satisfied.
"""

from __future__ import annotations

import json

import pytest

from tests.support.trees import write_project

from incrinstall.resolve.strategy import LARGE_OPEN_PART
from tests.support.venvs import installed, pip_check, uv_pip_install

pytestmark = pytest.mark.slow

KEPT = [f"kept{i}" for i in range(5)]
NEW = [f"new{i}" for i in range(LARGE_OPEN_PART + 5)]


@pytest.fixture
def served(index):
    for name in KEPT:
        index.add_wheel(name, "1.0")
        index.add_wheel(name, "2.0")  # newer, but the installed 1.0 still fits: it must stay
    for name in NEW:
        index.add_wheel(name, "1.0")
    index.add_wheel("hub", "1.0", requires_dist=NEW)
    return index


def test_a_large_open_part_is_resolved_by_uv_keeping_what_is_installed(served, tmp_path, run_cli, venv_factory):
    python = venv_factory("target")
    uv_pip_install(python, *[f"{n}==1.0" for n in KEPT], index_url=served.url)
    tree = write_project(tmp_path / "tree", [*KEPT, "hub"])

    proc = run_cli("plan", tree, "--python", python, "--index-url", served.url, "--json", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "handing the resolution to uv" in proc.stderr
    actions = {a["name"]: (a["action"], a["to"]) for a in json.loads(proc.stdout)["actions"]}
    assert {n: actions[n] for n in KEPT} == {n: ("keep", "1.0") for n in KEPT}
    assert {n for n, (action, _to) in actions.items() if action == "install"} == {"hub", *NEW}

    proc = run_cli("sync", tree, "--python", python, "--index-url", served.url)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == {**{n: "1.0" for n in KEPT}, **{n: "1.0" for n in NEW}, "hub": "1.0"}
    ok, output = pip_check(python)
    assert ok, output


def test_a_small_open_part_stays_with_our_resolver_and_asks_only_about_it(served, tmp_path, run_cli, venv_factory):
    python = venv_factory("target")
    uv_pip_install(python, *[f"{n}==1.0" for n in KEPT], index_url=served.url)
    tree = write_project(tmp_path / "tree", [*KEPT, "new0"])
    served.reset_log()

    proc = run_cli("plan", tree, "--python", python, "--index-url", served.url, "--json", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "handing the resolution to uv" not in proc.stderr
    assert {path for _m, path in served.requests if "/simple/" in path} == {"/simple/new0/"}
