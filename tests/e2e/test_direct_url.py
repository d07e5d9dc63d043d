"""Direct URL requirements (`name @ https://...whl`, an sdist, `file://`) resolve, install, record and stay put.

The file is served by a second loopback server that is not an index the resolution is pointed
at: only the URL can find it. Its metadata decides its dependencies, its sha256 pins it in the
state, uv installs it from the URL, and a later sync accepts the installed copy without asking
anyone anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.trees import write_project
from tests.support.venvs import installed, pip_check, site_packages
from tests.support.wheels import build_sdist

pytestmark = pytest.mark.slow


def direct_url_of(python, name: str) -> str:
    for sp in site_packages(python):
        for info in Path(sp).glob(f"{name.replace('-', '_')}-*.dist-info"):
            return json.loads((info / "direct_url.json").read_text())["url"]
    raise AssertionError(f"{name} is not installed")


@pytest.fixture
def elsewhere(index_factory):
    """A server that holds the directly referenced files; the index the project uses does not list them."""
    other = index_factory()
    other.add_wheel("dlite", "1.0", requires_dist=["dep-lite>=1"])
    return other


@pytest.mark.parametrize("command", ["sync", "baseline"])  # incrinstall's resolver, and uv's fresh resolution
def test_a_direct_wheel_url_is_resolved_from_its_own_metadata_installed_from_the_url_and_recorded(
        index, elsewhere, tmp_path, run_cli, venv_factory, command):
    index.add_wheel("dep-lite", "1.0")
    index.add_wheel("dlite", "9.0")  # the index's own dlite must never be chosen
    url = elsewhere.file_url("dlite-1.0-py3-none-any.whl")
    tree = write_project(tmp_path / "tree", [f"dlite @ {url}"])
    python = venv_factory("target")

    proc = run_cli(command, tree, "--python", python, "--index-url", index.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(python) == {"dlite": "1.0", "dep-lite": "1.0"}
    assert direct_url_of(python, "dlite") == url
    lock = (python.parent.parent / ".incrinstall" / "pylock.toml").read_text()
    assert url in lock and "sha256" in lock
    ok, output = pip_check(python)
    assert ok, output

    # Unchanged specs: the installed copy is the URL's, so nothing is asked of either server.
    index.reset_log()
    elsewhere.reset_log()
    proc = run_cli("plan", tree, "--python", python, "--index-url", index.url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [a for a in json.loads(proc.stdout)["actions"] if a["action"] != "keep"] == []
    assert index.requests == [] and elsewhere.requests == []


def test_a_direct_sdist_file_url_is_read_and_installed(index, tmp_path, run_cli, venv_factory):
    index.add_wheel("dep-lite", "1.0")
    sdist = build_sdist(tmp_path / "sdists", "slite", "2.0", requires_dist=["dep-lite"])
    tree = write_project(tmp_path / "tree", [f"slite @ {sdist.as_uri()}"])
    python = venv_factory("target")

    proc = run_cli("plan", tree, "--python", python, "--index-url", index.url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"]} == {"slite": "2.0", "dep-lite": "1.0"}


def test_a_vcs_url_is_refused_with_exit_2_naming_the_line(index, tmp_path, run_cli, venv_factory):
    tree = write_project(tmp_path / "tree", ["vlite @ git+https://127.0.0.1:9/vlite.git"])
    python = venv_factory("target")
    for command in ("plan", "baseline"):
        proc = run_cli(command, tree, "--python", python, "--index-url", index.url)
        assert proc.returncode == 2, proc.stderr
        assert "pyproject.toml:5" in proc.stderr and "VCS" in proc.stderr and "Traceback" not in proc.stderr
    assert installed(python) == {}
