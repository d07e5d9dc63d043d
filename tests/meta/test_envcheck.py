"""The environment invariant helper (tests/support/envcheck.py) and the teardown check built on it can fail.

Real venvs, real uv, real `uv pip check`; each test breaks an environment in one way and expects
the helper to name what is wrong.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent
from tests.support.venvs import site_packages, uv_pip_install
from tests.support.paths import REPO_ROOT


pytest_plugins = ["pytester"]


@pytest.fixture
def env(index, venv_factory) -> Path:
    """A venv with `aaa` (two files) and `plugin`, which requires `myproj>=0.1`, a tree package."""
    index.add_wheel("aaa", "1.0", files={"aaa/data.txt": "0123456789\n"})
    index.add_wheel("plugin", "1.0", requires_dist=["myproj>=0.1"])
    python = venv_factory()
    uv_pip_install(python, "--no-deps", "aaa==1.0", "plugin==1.0", index_url=index.url)
    return python


def site(python: Path) -> Path:
    return Path(site_packages(python)[0])


def record_state(python: Path, tree_packages: dict[str, str]) -> None:
    state = python.parent.parent / ".incrinstall"
    state.mkdir(exist_ok=True)
    (state / "pylock.json").write_text(json.dumps({"tool": {"incrinstall": {"tree-packages": tree_packages}}}))


@pytest.mark.inconsistent_env_ok("plugin's requirement on the tree package myproj is left unmet on purpose")
def test_a_complete_environment_passes_when_the_tree_provides_what_is_missing(env):
    assert_environment_consistent(env, tree_packages={"MyProj": "0.1"})


@pytest.mark.inconsistent_env_ok("plugin's requirement on the tree package myproj is left unmet on purpose")
def test_tree_packages_are_read_from_the_state_json_copy(env):
    record_state(env, {"myproj": "0.2"})
    assert_environment_consistent(env)


@pytest.mark.inconsistent_env_ok("the test breaks the environment on purpose")
@pytest.mark.parametrize("tree", [None, {"other": "1.0"}, {"myproj": "0.0.9"}], ids=["unknown", "not-provided", "too-old"])
def test_a_missing_requirement_fails_unless_the_tree_provides_a_version_it_admits(env, tree):
    with pytest.raises(AssertionError, match=r"requires `myproj>=0.1`, but it's not installed"):
        assert_environment_consistent(env, tree_packages=tree)


@pytest.mark.inconsistent_env_ok("the test breaks the environment on purpose")
def test_a_requirement_on_an_installed_package_at_the_wrong_version_fails_even_for_the_tree(env, index):
    index.add_wheel("myproj", "0.0.5")
    uv_pip_install(env, "--no-deps", "myproj==0.0.5", index_url=index.url)
    with pytest.raises(AssertionError, match=r"but `0.0.5` is installed"):
        assert_environment_consistent(env, tree_packages={"myproj": "0.1"})


@pytest.mark.inconsistent_env_ok("the test breaks the environment on purpose")
def test_a_missing_file_fails(env):
    (site(env) / "aaa" / "data.txt").unlink()
    with pytest.raises(AssertionError, match=r"aaa-1.0.dist-info: aaa/data.txt is missing"):
        assert_environment_consistent(env, tree_packages={"myproj": "0.1"})


@pytest.mark.inconsistent_env_ok("the test breaks the environment on purpose")
def test_a_file_with_other_content_of_the_same_size_fails(env):
    data = site(env) / "aaa" / "data.txt"
    assert_environment_consistent(env, tree_packages={"myproj": "0.1"})  # hashed once: the cache must not hide it
    data.unlink()  # uv may have hardlinked it from its cache: replace it, do not write through
    data.write_text("9876543210\n")
    with pytest.raises(AssertionError, match=r"aaa/data.txt has sha256=\S+, RECORD says"):
        assert_environment_consistent(env, tree_packages={"myproj": "0.1"})


@pytest.mark.inconsistent_env_ok("the test breaks the environment on purpose")
@pytest.mark.parametrize("lost", ["METADATA", "RECORD"])
def test_a_dist_info_without_metadata_or_record_fails(env, lost):
    (site(env) / "aaa-1.0.dist-info" / lost).unlink()
    with pytest.raises(AssertionError, match=rf"aaa-1.0.dist-info: no {lost}"):
        assert_environment_consistent(env, tree_packages={"myproj": "0.1"})


INNER_TEST = """\
import os
from pathlib import Path

import pytest

from tests.support.venvs import make_venv, site_packages


def broken(tmp_path):
    python = make_venv(tmp_path / "venv")
    info = Path(site_packages(python)[0]) / "gone-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\\nName: gone\\nVersion: 1.0\\n")
    (info / "RECORD").write_text("gone/__init__.py,,\\ngone-1.0.dist-info/RECORD,,\\n")
    return python


def test_breaks(tmp_path):
    broken(tmp_path)


@pytest.mark.inconsistent_env_ok("on purpose")
def test_breaks_and_says_so(tmp_path):
    broken(tmp_path)


@pytest.mark.inconsistent_env_ok("")
def test_breaks_without_a_reason(tmp_path):
    broken(tmp_path)


def test_breaks_and_fails(tmp_path):
    broken(tmp_path)
    assert False, "its own failure"


def test_breaks_then_deletes(tmp_path):
    import shutil
    shutil.rmtree(broken(tmp_path).parent.parent)
"""


def test_the_teardown_check_fails_a_test_that_leaves_a_broken_venv_unless_it_says_why(pytester):
    pytester.makeconftest(f"""
        import sys
        sys.path.insert(0, {str(REPO_ROOT)!r})
        from tests.conftest import environments_stay_consistent, isolated_env, pytest_runtest_makereport  # noqa
    """)
    pytester.makeini(textwrap.dedent("""\
        [pytest]
        markers = inconsistent_env_ok(reason): on purpose
    """))
    pytester.makepyfile(test_inner=INNER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("failed"), outcomes.get("errors")) == (4, 1, 2), result.stdout.str()
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_breaks *", "*gone-1.0.dist-info: gone/__init__.py is missing*",
    ])
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_breaks_without_a_reason*",
                                 "*inconsistent_env_ok needs a reason string*"])
