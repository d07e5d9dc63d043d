"""Several indexes: incrinstall's own index client and uv take a package from the same index.

Two real loopback indexes both serve `shared`: the private one (given as --extra-index-url, so
it has priority, as in uv) 1.0, the public one (--index-url) 9.0. With uv's default
`first-index`, `shared` must come from the private index in the plan, in the sync (uv installs
the pin) and in a baseline (uv resolves), and the public index must never be asked for it:
that is what stops dependency confusion.
"""

from __future__ import annotations

import json

import pytest

from tests.support.trees import write_project
from tests.support.venvs import installed

pytestmark = pytest.mark.slow  # real venvs filled by uv


@pytest.fixture
def two_indexes(index_factory):
    private = index_factory()
    public = index_factory()
    private.add_wheel("shared", "1.0")
    public.add_wheel("shared", "9.0")
    public.add_wheel("other", "1.0")
    return private, public


def _index_args(private, public) -> list[str]:
    return ["--index-url", public.url, "--extra-index-url", private.url]


def _plan(run_cli, project, python, *args) -> dict[str, str]:
    proc = run_cli("plan", project, "--python", python, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"] if a["action"] == "install"}


def _sync(run_cli, project, python, *args) -> None:
    proc = run_cli("sync", project, "--python", python, *args)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def test_first_index_is_the_default_for_plan_and_sync_and_the_public_index_is_never_asked(
        two_indexes, venv_factory, run_cli, tmp_path):
    private, public = two_indexes
    project = write_project(tmp_path / "proj", ["shared", "other"])
    python = venv_factory()
    args = _index_args(private, public)
    assert _plan(run_cli, project, python, *args) == {"shared": "1.0", "other": "1.0"}
    _sync(run_cli, project, python, *args)
    got = installed(python)
    assert got["shared"] == "1.0" and got["other"] == "1.0"
    asked_public = {path for _method, path in public.requests}
    assert not any(p.startswith("/simple/shared") or p.startswith("/files/shared") for p in asked_public), asked_public


def test_baseline_resolved_by_uv_takes_the_first_index_too(two_indexes, venv_factory, run_cli, tmp_path):
    private, public = two_indexes
    project = write_project(tmp_path / "proj", ["shared", "other"])
    python = venv_factory()
    proc = run_cli("baseline", project, "--python", python, *_index_args(private, public))
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["shared"] == "1.0"
    assert not any(p.startswith("/simple/shared") for _m, p in public.requests)


def test_unsafe_best_match_takes_the_best_version_of_any_index_in_plan_and_sync(
        two_indexes, venv_factory, run_cli, tmp_path):
    private, public = two_indexes
    project = write_project(tmp_path / "proj", ["shared"])
    python = venv_factory()
    args = [*_index_args(private, public), "--index-strategy", "unsafe-best-match"]
    assert _plan(run_cli, project, python, *args) == {"shared": "9.0"}
    _sync(run_cli, project, python, *args)
    assert installed(python)["shared"] == "9.0"


def test_unsafe_first_match_falls_through_to_a_later_index_when_the_first_has_no_fitting_version(
        two_indexes, venv_factory, run_cli, tmp_path):
    private, public = two_indexes
    private.add_wheel("shared", "0.5")
    project = write_project(tmp_path / "proj", ["shared>=2"])
    python = venv_factory()
    # first-index: the private index knows `shared`, has nothing >= 2, and the public one is not asked.
    proc = run_cli("plan", project, "--python", python, *_index_args(private, public))
    assert proc.returncode == 1, proc.stderr
    assert "shared" in proc.stderr
    args = [*_index_args(private, public), "--index-strategy", "unsafe-first-match"]
    assert _plan(run_cli, project, python, *args) == {"shared": "9.0"}
    _sync(run_cli, project, python, *args)
    assert installed(python)["shared"] == "9.0"


def test_uv_index_strategy_from_the_environment_reaches_both(two_indexes, venv_factory, run_cli, tmp_path):
    private, public = two_indexes
    project = write_project(tmp_path / "proj", ["shared"])
    python = venv_factory()
    env = {"UV_INDEX_STRATEGY": "unsafe-best-match", "UV_INDEX_URL": public.url, "UV_EXTRA_INDEX_URL": private.url}
    proc = run_cli("plan", project, "--python", python, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"]} == {"shared": "9.0"}
    proc = run_cli("sync", project, "--python", python, env=env)
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["shared"] == "9.0"
