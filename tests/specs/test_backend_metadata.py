"""specs.backend_metadata: the backend's answer is cached by everything it looked at, and only by that.

The trees here carry a tiny in-tree backend (backend-path, no build requirements), so no build
environment needs an index: each one logs every process that imports it, and the tests count them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from incrinstall.specs.backend_metadata import run_hook
from incrinstall.specs.collect import collect
from incrinstall.specs.model import Selection
from tests.support.trees import marker_env

MARKERS = marker_env(f"{sys.version_info.major}.{sys.version_info.minor}", patch="0")

PYPROJECT = """\
[build-system]
requires = []
build-backend = "probe"
backend-path = ["_backend"]
"""

# A backend like hatchling in an sdist: PKG-INFO present means "built from an sdist", and the answer differs.
# os.path.exists() raises no audit event: only the names in the folder can tell the two trees apart.
PKG_INFO_BACKEND = '''\
import os

def _log():
    with open(os.environ["PROBE_LOG"], "a") as f:
        f.write("ran\\n")

def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _log()
    dep = "from-sdist" if os.path.exists("PKG-INFO") else "from-checkout"
    d = os.path.join(metadata_directory, "probe-1.0.dist-info")
    os.makedirs(d)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\\nName: probe\\nVersion: 1.0\\nRequires-Dist: {dep}\\n")
    return "probe-1.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError
'''

# A version from git, as setuptools-scm or hatch-vcs compute it: `git describe`, no file of the tree read.
GIT_BACKEND = '''\
import os, subprocess

def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    with open(os.environ["PROBE_LOG"], "a") as f:
        f.write("ran\\n")
    tag = subprocess.run(["git", "describe", "--tags", "--abbrev=0"], capture_output=True, text=True,
                         check=True).stdout.strip()
    d = os.path.join(metadata_directory, "probe-1.0.dist-info")
    os.makedirs(d)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\\nName: probe\\nVersion: {tag.lstrip('v')}\\nRequires-Dist: six\\n")
    return "probe-1.0.dist-info"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError
'''


def probe_tree(root: Path, backend: str) -> Path:
    (root / "_backend").mkdir(parents=True)
    (root / "_backend" / "probe.py").write_text(backend)
    (root / "pyproject.toml").write_text(PYPROJECT)
    return root


@pytest.fixture
def runs(tmp_path, monkeypatch):
    log = tmp_path / "probe.log"
    monkeypatch.setenv("PROBE_LOG", str(log))
    return lambda: len(log.read_text().splitlines()) if log.exists() else 0


def requirements(tree: Path) -> list[str]:
    specset = collect(tree, Selection(), MARKERS, python=sys.executable)
    return [r.requirement for r in specset.requirements]


def test_a_tree_with_pkg_info_does_not_share_the_answer_of_one_without(tmp_path, runs):
    checkout = probe_tree(tmp_path / "checkout", PKG_INFO_BACKEND)  # as a git archive: no PKG-INFO
    sdist = tmp_path / "sdist"
    shutil.copytree(checkout, sdist)
    (sdist / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n")

    assert requirements(checkout) == ["from-checkout"]
    assert runs() == 1
    assert requirements(sdist) == ["from-sdist"]  # same pyproject.toml, same backend: not the cached answer
    assert runs() == 2
    # Each answer stays cached for its own tree: no backend runs again.
    assert requirements(checkout) == ["from-checkout"] and requirements(sdist) == ["from-sdist"]
    assert runs() == 2


def test_two_trees_that_alternate_each_keep_their_answer(tmp_path, runs):
    checkout = probe_tree(tmp_path / "checkout", PKG_INFO_BACKEND)
    sdist = tmp_path / "sdist"
    shutil.copytree(checkout, sdist)
    (sdist / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n")
    for _ in range(3):  # the hook cache itself (no spec cache in between): each tree's answer is found
        assert run_hook(checkout, MARKERS, "material").requires_dist == ["from-checkout"]
        assert run_hook(sdist, MARKERS, "material").requires_dist == ["from-sdist"]
    assert runs() == 2


def test_the_hook_cache_sees_a_probed_file_appear_in_the_same_tree(tmp_path, runs):
    tree = probe_tree(tmp_path / "tree", PKG_INFO_BACKEND)
    assert run_hook(tree, MARKERS, "material").requires_dist == ["from-checkout"]
    assert run_hook(tree, MARKERS, "material").requires_dist == ["from-checkout"]
    assert runs() == 1
    (tree / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: probe\nVersion: 1.0\n")
    assert run_hook(tree, MARKERS, "material").requires_dist == ["from-sdist"]
    assert runs() == 2
    (tree / "PKG-INFO").unlink()
    (tree / "__pycache__").mkdir()  # tool caches are not part of the key
    assert run_hook(tree, MARKERS, "material").requires_dist == ["from-checkout"]
    assert runs() == 2


def git(tree: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false",
                    *args], cwd=tree, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_version_from_git_follows_new_commits_and_tags(tmp_path, runs):
    tree = probe_tree(tmp_path / "repo", GIT_BACKEND)
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-q", "-m", "one")
    git(tree, "tag", "v1.0")

    def version() -> str:
        specset = collect(tree, Selection(), MARKERS, python=sys.executable)
        return specset.local_packages[0].version

    assert version() == "1.0"
    assert version() == "1.0"
    assert runs() == 1  # the second collection ran no backend
    git(tree, "commit", "-q", "--allow-empty", "-m", "two")
    git(tree, "tag", "v1.1")  # no file of the tree changed, only the repository
    assert version() == "1.1"
    assert runs() == 2
    git(tree, "tag", "v2.0", "HEAD~1")  # a tag elsewhere: the key moves (the backend may read any tag), same answer
    assert version() == "1.1"
    assert runs() == 3
    git(tree, "pack-refs", "--all")  # refs move into packed-refs
    git(tree, "checkout", "-q", "v1.0")
    assert version() == "1.0"


def test_requirements_a_backend_read_from_a_file_are_credited_to_its_line(tmp_path, runs):
    tree = probe_tree(tmp_path / "tree", textwrap.dedent('''\
        import os

        def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
            with open("requirements/base.txt") as f:
                deps = [line.split("#")[0].strip() for line in f if line.split("#")[0].strip()]
            d = os.path.join(metadata_directory, "probe-1.0.dist-info")
            os.makedirs(d)
            with open(os.path.join(d, "METADATA"), "w") as f:
                f.write("Metadata-Version: 2.1\\nName: probe\\nVersion: 1.0\\n")
                f.write("".join(f"Requires-Dist: {dep}\\n" for dep in deps + ["made" + "-up"]))
            return "probe-1.0.dist-info"
        '''))
    (tree / "requirements").mkdir()
    (tree / "requirements" / "base.txt").write_text("# pinned\nsix >= 1.16\n\nattrs  # any\n")
    specset = collect(tree, Selection(), MARKERS, python=sys.executable)
    assert [(r.requirement, r.source) for r in specset.requirements] == [
        ("six>=1.16", "requirements/base.txt:2"), ("attrs", "requirements/base.txt:4"),
        ("made-up", "pyproject.toml (probe)")]
    assert "requirements/base.txt" in specset.files  # an edit to it is a spec change (the no-op path sees it)
