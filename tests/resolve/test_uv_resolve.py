"""A baseline into an empty environment lets uv do the fresh resolution (incrinstall/resolve/uv_resolve.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from incrinstall.resolve.uv_resolve import parse_pylock
from tests.support.venvs import installed, pip_check

pytestmark = pytest.mark.slow

PYPROJECT = """\
[project]
name = "myproj"
version = "2.0"
dependencies = {deps}
"""


def project(root: Path, deps: list[str], provider_deps: list[str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(deps=json.dumps(deps)))
    if provider_deps is not None:
        (root / "providers" / "extra").mkdir(parents=True, exist_ok=True)
        (root / "providers" / "extra" / "provider.yaml").write_text(
            "package-name: myproj-providers-extra\nversions:\n  - 1.0.0\ndependencies:\n"
            + "".join(f"  - {d}\n" for d in provider_deps))
    return root


@pytest.mark.tree_packages({"myproj": "2.0", "myproj-providers-extra": "1.0.0"})  # what the baseline leaves out
def test_baseline_into_an_empty_venv_is_resolved_by_uv_and_never_fetches_the_tree_packages(
        index, tmp_path, run_cli, venv_factory):
    # plugin-x (on the index) requires the project and its in-tree provider: the tree satisfies both.
    index.add_wheel("plugin-x", "1.0", requires_dist=["myproj>=1.5", "myproj-providers-extra", "shared>=1"])
    index.add_wheel("shared", "1.0")
    index.add_wheel("shared", "1.1")
    index.add_wheel("myproj", "2.0", requires_dist=["unwanted"])
    index.add_wheel("myproj-providers-extra", "1.0.0", requires_dist=["unwanted"])
    index.add_wheel("unwanted", "1.0")
    python = venv_factory("target")
    tree = project(tmp_path / "tree", ["plugin-x"], provider_deps=["shared<1.1"])

    proc = run_cli("baseline", tree, "--python", python, "--index-url", index.url, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["index_requests"] == 0  # incrinstall itself asked nothing: uv resolved
    assert installed(python) == {"plugin-x": "1.0", "shared": "1.0"}
    paths = {path for _method, path in index.requests}
    assert not any("myproj" in p or "unwanted" in p for p in paths), sorted(paths)
    ok, output = pip_check(python)
    assert not ok and "myproj" in output  # only the requirement on the tree itself is open (not installed)

    # The state is a PEP 751 lock with uv's files and hashes, and a later sync is ours and a no-op.
    lock = (python.parent.parent / ".incrinstall" / "pylock.toml").read_text()
    assert "plugin_x-1.0-py3-none-any.whl" in lock and "sha256" in lock
    proc = run_cli("sync", tree, "--python", python, "--index-url", index.url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["index_requests"] == 0
    assert installed(python) == {"plugin-x": "1.0", "shared": "1.0"}


def test_unsatisfiable_baseline_exits_1_naming_the_root_requirements_and_installs_nothing(
        index, tmp_path, run_cli, venv_factory):
    index.add_wheel("aaa", "1.0", requires_dist=["bbb>=2"])
    index.add_wheel("bbb", "1.0")
    python = venv_factory("target")
    tree = project(tmp_path / "tree", ["aaa", "bbb<2"])

    proc = run_cli("baseline", tree, "--python", python, "--index-url", index.url)
    assert proc.returncode == 1
    assert "cannot be satisfied" in proc.stderr
    assert "pyproject.toml:4" in proc.stderr and "bbb" in proc.stderr
    assert installed(python) == {}


def test_unreachable_index_is_not_reported_as_a_conflict(tmp_path, run_cli, venv_factory):
    python = venv_factory("target")
    tree = project(tmp_path / "tree", ["aaa"])
    proc = run_cli("baseline", tree, "--python", python, "--index-url", "http://127.0.0.1:9/simple/")
    assert proc.returncode == 2
    assert "cannot be satisfied" not in proc.stderr
    assert installed(python) == {}


def test_parse_pylock_keeps_files_and_hashes_and_skips_the_tree():
    data = {"packages": [
        {"name": "Foo_Bar", "version": "1.0",
         "wheels": [{"url": "https://x/foo_bar-1.0-py3-none-any.whl", "hashes": {"sha256": "ab"}}]},
        {"name": "tiny", "version": "2.0", "sdist": {"url": "https://x/tiny-2.0.tar.gz", "hashes": {"sha256": "cd"}}},
        {"name": "myproj", "version": "0+incrinstall.tree", "archive": {"url": "file:///tmp/stand-in.whl"}},
    ]}
    locked = parse_pylock(data, skip={"myproj"})
    assert set(locked) == {"foo-bar", "tiny"}
    version, files = locked["foo-bar"]
    assert version == "1.0" and files[0].url.endswith(".whl") and files[0].hashes == {"sha256": "ab"}
    assert locked["tiny"][1][0].url.endswith(".tar.gz")


def test_a_stand_in_carries_the_tree_packages_own_requires_dist_with_its_markers(tmp_path):
    # uv's choices depend on the metadata it reads, markers included: on Airflow 3.3.2's ci-image set, stand-ins
    # whose markers had been evaluated and dropped made uv pick 8 of 787 versions other than uv's own pick.
    import zipfile

    from incrinstall.resolve.uv_resolve import _stand_in_wheel
    from incrinstall.specs.collect import collect
    from incrinstall.specs.model import Selection
    from tests.support.trees import marker_env, write_tree

    tree = write_tree(tmp_path / "tree", {"pyproject.toml": """\
        [project]
        name = "core"
        version = "3.0"
        dependencies = [
          'meta>=6.5; python_version < "3.12"',
          'meta>=7.0; python_version >= "3.12"',
          "plain",
        ]
        [project.optional-dependencies]
        all = ["core[speed]"]
        speed = ['fast; sys_platform == "linux" or sys_platform == "darwin"', "faster"]
        """})
    core = collect(tree, Selection(), marker_env("3.12")).local_packages[0]
    wheel = _stand_in_wheel(tmp_path, core)
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read("core-3.0.dist-info/METADATA").decode()
    assert [line for line in metadata.splitlines() if line.startswith(("Requires-Dist", "Provides-Extra"))] == [
        "Provides-Extra: all",
        "Provides-Extra: speed",
        'Requires-Dist: meta>=6.5; python_version < "3.12"',
        'Requires-Dist: meta>=7.0; python_version >= "3.12"',
        "Requires-Dist: plain",
        'Requires-Dist: core[speed]; extra == "all"',
        'Requires-Dist: fast; (sys_platform == "linux" or sys_platform == "darwin") and extra == "speed"',
        'Requires-Dist: faster; extra == "speed"',
    ]
