"""Fixtures shared by every test: isolation from the machine's config, a loopback index, venvs, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Make `tests.support` importable however pytest was started (plain `pytest` does not put the
# repo root on sys.path, and an installed package named `tests` must not shadow ours).
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.support import cli  # noqa: E402
from tests.support.envcheck import assert_environment_consistent  # noqa: E402
from tests.support.index_server import LoopbackIndex  # noqa: E402
from tests.support.real_wheels import ensure_real_wheels  # noqa: E402
from tests.support.venvs import created_venvs, make_venv  # noqa: E402

# Any HTTP(S) request that is not to loopback goes to this dead proxy and fails fast,
# so a test that forgets to point uv or incrinstall at a loopback index cannot reach PyPI.
GUARD_PROXY = "http://127.0.0.1:9"

_CLEARED = (
    "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV",
    "PIP_NO_INDEX", "PIP_TRUSTED_HOST",
    "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX", "UV_DEFAULT_INDEX", "UV_FIND_LINKS",
    "UV_CONSTRAINT", "UV_OVERRIDE", "UV_NO_INDEX", "UV_OFFLINE", "UV_PYTHON", "UV_SYSTEM_PYTHON",
    "UV_CONFIG_FILE", "UV_INDEX_STRATEGY", "UV_NO_CACHE", "UV_PROJECT_ENVIRONMENT",
    "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH",
    "INCRINSTALL_INDEX_URL", "INCRINSTALL_EXTRA_INDEX_URL", "INCRINSTALL_FIND_LINKS", "INCRINSTALL_OFFLINE",
    "INCRINSTALL_PYTHON", "INCRINSTALL_UV",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every test: its own uv and incrinstall caches, no pip/uv config from the machine, no network.

    Returns {"uv_cache": ..., "incrinstall_cache": ...}.
    """
    base = tmp_path_factory.mktemp("isolated")
    uv_cache = base / "uv-cache"
    inc_cache = base / "incrinstall-cache"
    uv_cache.mkdir()
    inc_cache.mkdir()
    for key in _CLEARED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("UV_CACHE_DIR", str(uv_cache))
    monkeypatch.setenv("INCRINSTALL_CACHE_DIR", str(inc_cache))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_NO_PROGRESS", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(key, GUARD_PROXY)
        monkeypatch.setenv(key.lower(), GUARD_PROXY)
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, "127.0.0.1,localhost,::1")
    return {"uv_cache": uv_cache, "incrinstall_cache": inc_cache}


_PASSED = pytest.StashKey[bool]()
# The real functions: the teardown check runs uv and the venv's python even where a test forbade subprocesses.
_SUBPROCESS = {"run": subprocess.run, "Popen": subprocess.Popen}
_CHECKED = {"venvs": 0, "seconds": 0.0}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


@pytest.fixture(autouse=True)
def environments_stay_consistent(request: pytest.FixtureRequest, isolated_env: dict[str, Path]):
    """At teardown of a test that passed: every venv it made with make_venv() passes assert_environment_consistent.

    A test that leaves an environment inconsistent on purpose says why with
    `@pytest.mark.inconsistent_env_ok("reason")`; one whose venv requires packages of a project tree
    that were deliberately not installed names them with `@pytest.mark.tree_packages({name: version})`.
    """
    first = len(created_venvs)
    yield
    made = list(dict.fromkeys(created_venvs[first:]))
    del created_venvs[first:]
    marker = request.node.get_closest_marker("inconsistent_env_ok")
    if marker is not None:
        if not (marker.args and str(marker.args[0]).strip()):
            pytest.fail("@pytest.mark.inconsistent_env_ok needs a reason string")
        return
    if not request.node.stash.get(_PASSED, False):
        return  # its own failure (or skip) says more than a second complaint about the environment
    tree = request.node.get_closest_marker("tree_packages")
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp:
        for attr, real in _SUBPROCESS.items():
            mp.setattr(subprocess, attr, real)
        for python in made:
            if python.exists():  # a venv the test deleted has nothing to check
                _CHECKED["venvs"] += 1
                assert_environment_consistent(python, tree_packages=tree.args[0] if tree else None)
    _CHECKED["seconds"] += time.perf_counter() - started


def pytest_terminal_summary(terminalreporter) -> None:
    if _CHECKED["venvs"]:
        terminalreporter.write_line(f"environment checks: {_CHECKED['venvs']} venvs in {_CHECKED['seconds']:.1f} s")


@pytest.fixture
def uv_cache(isolated_env: dict[str, Path]) -> Path:
    """This test's uv cache folder (already exported as UV_CACHE_DIR)."""
    return isolated_env["uv_cache"]


@pytest.fixture
def incrinstall_cache(isolated_env: dict[str, Path]) -> Path:
    """This test's incrinstall cache folder (already exported as INCRINSTALL_CACHE_DIR)."""
    return isolated_env["incrinstall_cache"]


@pytest.fixture
def index(tmp_path: Path):
    """A started LoopbackIndex over an empty tmp folder; add dists with index.add_wheel(...)."""
    with LoopbackIndex(tmp_path / "index-files") as idx:
        yield idx


@pytest.fixture
def index_factory(tmp_path: Path):
    """Make more (started) loopback indexes: index_factory(json=False, serve_metadata=False, ...)."""
    made: list[LoopbackIndex] = []

    def make(**options) -> LoopbackIndex:
        idx = LoopbackIndex(tmp_path / f"index-files-{len(made)}", **options).start()
        made.append(idx)
        return idx

    yield make
    for idx in made:
        idx.stop()


@pytest.fixture(scope="session")
def real_wheels_dir() -> Path:
    """The folder of real hatchling (+ deps) wheels, downloaded once by the setup step."""
    return ensure_real_wheels()


@pytest.fixture(scope="session")
def real_wheels_index(real_wheels_dir: Path):
    """A loopback index serving the real wheels; point UV_INDEX_URL at `.url` for isolated builds.

    Shared by the whole session: do not add, remove or yank files on it.
    """
    with LoopbackIndex(real_wheels_dir) as idx:
        yield idx


@pytest.fixture
def venv_factory(tmp_path: Path):
    """venv_factory(name="venv", python=None, seed=False) -> path of a fresh venv's python."""
    counter = {"n": 0}

    def make(name: str | None = None, python: str | None = None, *, seed: bool = False) -> Path:
        counter["n"] += 1
        path = tmp_path / (name or f"venv{counter['n']}")
        return make_venv(path, python, seed=seed)

    return make


@pytest.fixture
def run_cli():
    """run_cli(*args, env=None, cwd=None, input=None, timeout=600) -> CompletedProcess (text).

    Runs `python -m incrinstall ARGS` with the test's (isolated) environment plus `env` (tests/support/cli.py).
    """
    return cli.run_cli
