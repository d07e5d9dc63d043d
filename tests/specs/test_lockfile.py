"""specs/lockfile.py: which lock a tree installs from, and a lock in the spec fingerprint (a moved lock is a change)."""

from __future__ import annotations

import pytest

from incrinstall.common.errors import SpecError
from incrinstall.common.fingerprint import fingerprint
from incrinstall.specs import lockfile
from incrinstall.specs.collect import collect
from incrinstall.specs.model import Selection

MARKERS = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}
PYPROJECT = '[project]\nname = "app"\nversion = "0.1"\ndependencies = []\n'


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def test_uv_lock_first_then_pylock_toml_then_none(tree):
    assert lockfile.find(tree, Selection()) is None
    (tree / "pylock.toml").write_text("")
    assert lockfile.find(tree, Selection()).format == "pylock.toml"
    (tree / "uv.lock").write_text("")
    found = lockfile.find(tree, Selection())
    assert (found.rel, found.format) == ("uv.lock", "uv.lock")
    assert lockfile.find(tree, Selection(no_lock=True)) is None


def test_lock_option_takes_a_pylock_file_only(tree, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("ci") / "pylock.ci.toml"
    elsewhere.write_text("")
    found = lockfile.find(tree, Selection(lock_file=str(elsewhere)))
    assert (found.path, found.rel, found.given) == (elsewhere, str(elsewhere), True)
    (tree / "pylock.dev.toml").write_text("")
    monkeypatch.chdir(elsewhere.parent)
    assert lockfile.find(tree, Selection(lock_file="pylock.dev.toml")).rel == "pylock.dev.toml"  # the tree's first
    assert lockfile.find(tree, Selection(lock_file="pylock.ci.toml")).path == elsewhere  # then the working folder
    for given, said in (("uv.lock", "names a PEP 751 lock file"), ("pylock.none.toml", "lock file not found")):
        with pytest.raises(SpecError) as info:
            lockfile.find(tree, Selection(lock_file=given))
        assert info.value.where == given and said in info.value.message
    with pytest.raises(SpecError, match="contradict"):
        lockfile.find(tree, Selection(lock_file="pylock.dev.toml", no_lock=True))


def test_a_moved_lock_changes_the_fingerprint_the_noop_recomputes(tree):
    specset = lockfile.watched(collect(tree, Selection(), MARKERS), None, MARKERS)
    assert specset.files == ["pyproject.toml"] and specset.absent == ["uv.lock", "pylock.toml"]
    (tree / "uv.lock").write_text("version = 1\n")
    locked = lockfile.watched(collect(tree, Selection(), MARKERS), lockfile.find(tree, Selection()), MARKERS)
    assert locked.files == ["pyproject.toml", "uv.lock"] and locked.absent == []
    # The no-op path recomputes the fingerprint from the recorded files alone (install/stamp.py).
    assert fingerprint(tree, locked.files, Selection(), MARKERS) == locked.fingerprint != specset.fingerprint
    (tree / "uv.lock").write_text("version = 1\nrevision = 3\n")
    assert fingerprint(tree, locked.files, Selection(), MARKERS) != locked.fingerprint


def test_a_lock_that_appears_is_a_change_to_the_noop(tree):
    from incrinstall.install import stamp

    specset = lockfile.watched(collect(tree, Selection(), MARKERS), None, MARKERS)

    class Target:
        markers, executable, site_dirs = MARKERS, "/nowhere/python", ()

    made = stamp.make_stamp(project_dir=str(tree), options={"selection": {}}, specset=specset, interpreter=Target,
                            env_signature="sig")
    args = {"project_dir": str(tree), "options": {"selection": {}}, "selection": Selection(), "markers": MARKERS,
            "env_signature": "sig"}
    assert stamp.unchanged(made, **args)
    (tree / "pylock.toml").write_text("")
    assert not stamp.unchanged(made, **args)


def test_no_lock_watches_no_lock(tree):
    specset = collect(tree, Selection(no_lock=True), MARKERS)
    assert lockfile.watched(specset, None, MARKERS) is specset


def test_default_groups_as_uv_reads_them(tree):
    assert lockfile.uv_default_groups(tree) == ("dev",)
    (tree / "pyproject.toml").write_text(PYPROJECT + '\n[tool.uv]\ndefault-groups = ["ci", "docs"]\n')
    assert lockfile.uv_default_groups(tree) == ("ci", "docs")
    (tree / "pyproject.toml").write_text(PYPROJECT + '\n[tool.uv]\ndefault-groups = "all"\n')
    assert lockfile.uv_default_groups(tree) == "all"
    (tree / "pyproject.toml").write_text(PYPROJECT + '\n[tool.uv]\ndefault-groups = "dev"\n')
    with pytest.raises(SpecError) as info:
        lockfile.uv_default_groups(tree)
    assert info.value.where == "pyproject.toml:7"
