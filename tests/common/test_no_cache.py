"""No cache left behind: INCRINSTALL_NO_CACHE and the container-layer rule of incrinstall/common/paths.py.

The Docker test (tests/slow/test_docker.py) checks real images; these check the rule itself and a
real sync with real uv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from incrinstall.common import paths
from tests.support.venvs import installed
from tests.support.paths import REPO_ROOT



def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_no_cache_1_gives_one_temporary_cache_removed_at_exit():
    code = ("import json; from incrinstall.common import paths; "
            "print(json.dumps([paths.cache_root(), paths.uv_cache_override(), paths.ephemeral_root()]))")
    env = {**os.environ, "INCRINSTALL_NO_CACHE": "1", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    inc, uv, root = json.loads(proc.stdout)
    assert inc == os.path.join(root, "incrinstall") and uv == os.path.join(root, "uv")
    assert inc != os.environ["INCRINSTALL_CACHE_DIR"]  # the explicit folder is overridden
    assert not os.path.exists(root)


def test_auto_rule_temporary_only_on_an_overlay_root_without_a_mount(monkeypatch):
    monkeypatch.delenv("INCRINSTALL_NO_CACHE", raising=False)
    layer = {"/": "overlay", "/proc": "proc"}
    assert paths.no_cache_reason("/root/.cache/uv", layer) is not None
    assert paths.no_cache_reason("/root/.cache/uv", {**layer, "/root/.cache/uv": "ext4"}) is None  # cache mount
    assert paths.no_cache_reason("/root/.cache/uv/sub", {**layer, "/root/.cache": "tmpfs"}) is None
    assert paths.no_cache_reason("/root/.cache/uv", {"/": "ext4"}) is None  # not a container layer
    monkeypatch.setenv("INCRINSTALL_NO_CACHE", "0")
    assert paths.no_cache_reason("/root/.cache/uv", layer) is None


def test_explicit_cache_folders_are_kept_unless_no_cache_is_forced(monkeypatch, tmp_path):
    monkeypatch.setenv("INCRINSTALL_CACHE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("INCRINSTALL_NO_CACHE", "auto")
    assert paths.cache_root() == str(tmp_path / "mine")
    assert paths.uv_cache_override() is None  # UV_CACHE_DIR is set by the conftest


@pytest.mark.slow
def test_sync_with_no_cache_leaves_both_cache_folders_empty(index, venv_factory, run_cli, tmp_path, uv_cache,
                                                            incrinstall_cache):
    index.add_wheel("alpha", "1.0", requires_dist=["beta"])
    index.add_wheel("beta", "1.0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\ndependencies = ["alpha"]\n')
    python = venv_factory()
    before = (_files(uv_cache), _files(incrinstall_cache))  # making the venv touched uv's cache
    proc = run_cli("sync", project, "--python", python, "--index-url", index.url,
                   env={"INCRINSTALL_NO_CACHE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert installed(python).keys() >= {"alpha", "beta"}
    assert (_files(uv_cache), _files(incrinstall_cache)) == before
    # Without the setting, the same sync in a fresh venv fills them: the check above can fail.
    other = venv_factory()
    before = (_files(uv_cache), _files(incrinstall_cache))
    proc = run_cli("sync", project, "--python", other, "--index-url", index.url,
                   env={"INCRINSTALL_NO_CACHE": "0"})
    assert proc.returncode == 0, proc.stderr
    after = (_files(uv_cache), _files(incrinstall_cache))
    assert set(after[0]) > set(before[0]) and set(after[1]) > set(before[1])
