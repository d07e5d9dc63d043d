"""`incrinstall sync`: after a baseline, install and remove exactly the packages that differ, nothing else.

Real CLI, real uv, a real loopback index, real venvs. Every test compares the environment
as it really is (read from the dist-info folders, not through incrinstall) before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomlkit

from tests.support import cli
from tests.support.index_server import LoopbackIndex
from tests.support.venvs import find_python, installed, pip_check, run_uv, site_packages, uv_bin, uv_pip_install
from tests.support.paths import REPO_ROOT
from tests.support.world import HATCH_PYPROJECT, World
from tests.support.world import write_project as support_write_project

pytestmark = pytest.mark.slow

AIRFLOW_LIKE = REPO_ROOT / "tests" / "data" / "airflow_like"

PYPROJECT = HATCH_PYPROJECT

BASE_DEPS = ["aaa==1.0", "ddd", "fff==1.0"]
BASE_ENV = {"aaa": "1.0", "bbb": "1.5", "ddd": "1.0", "eee": "1.0", "fff": "1.0"}


def fill_index(index: LoopbackIndex) -> None:
    index.add_wheel("aaa", "1.0", requires_dist=["bbb>=1"])
    index.add_wheel("aaa", "2.0", requires_dist=["bbb>=1", "ccc>=1"])
    index.add_wheel("bbb", "1.0")
    index.add_wheel("bbb", "1.5")
    index.add_wheel("ccc", "1.0")
    index.add_wheel("ddd", "1.0", requires_dist=["eee", "bbb"])
    index.add_wheel("eee", "1.0")
    index.add_wheel("fff", "1.0")
    index.add_wheel("fff", "2.0")
    index.add_wheel("ggg", "1.0", requires_dist=["hhh>=1"])
    index.add_wheel("hhh", "1.0")
    index.add_wheel("oldonly", "1.0")  # required only on Python < 3.11 (the target's markers decide)
    index.add_wheel("plugin", "1.0", requires_dist=["myproj>=0.1"])  # like an Airflow provider needing the core
    index.add_wheel("myproj", "0.1")  # the project itself: the tree provides it, never the index
    index.add_wheel("zzz", "1.0")  # installed by other means in the --exact tests
    index.add_wheel("pip", "99.0")  # stand-ins for a seeded venv's tools (a real seed needs the network)
    index.add_wheel("setuptools", "99.0")


def write_project(root: Path, deps: list[str]) -> Path:
    return support_write_project(root, deps, template=PYPROJECT, package="myproj")


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    fill_index(index)
    return World(tmp_path, index, venv_factory("target"), template=PYPROJECT, package="myproj")


def snapshot(python: Path) -> dict[str, tuple[int, int, int]]:
    """Every path in site-packages with (mtime_ns, size, inode)."""
    out = {}
    for root in site_packages(python):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                out[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def dist_info_ids(python: Path) -> dict[str, tuple[int, int]]:
    """{dist-info folder: (inode, mtime_ns)}: a reinstall replaces the folder, so its identity changes."""
    out = {}
    for root in site_packages(python):
        for entry in os.scandir(root):
            if entry.name.endswith(".dist-info"):
                st = entry.stat()
                out[entry.name] = (st.st_ino, st.st_mtime_ns)
    return out


def wheels_downloaded(index: LoopbackIndex) -> set[str]:
    return {path.rsplit("/", 1)[1].split("-")[0] for method, path in index.requests
            if path.startswith("/files/") and path.endswith(".whl")}


def assert_consistent(python: Path) -> None:
    ok, out = pip_check(python)
    assert ok, out


def apply_delta(before: dict[str, str], delta: dict[str, str | None]) -> dict[str, str]:
    after = dict(before)
    for name, version in delta.items():
        if version is None:
            del after[name]
        else:
            after[name] = version
    return after


# -- the delta -------------------------------------------------------------------------------------------------------

DELTAS = [
    pytest.param(["aaa==1.0", "ddd", "fff==2.0"], {"fff": "2.0"}, ["~ fff 1.0 -> 2.0"], id="bumped"),
    pytest.param(["aaa==2.0", "ddd", "fff==1.0"], {"aaa": "2.0", "ccc": "1.0"},
                 ["~ aaa 1.0 -> 2.0", "+ ccc==1.0"], id="bumped-with-new-dependency"),
    pytest.param([*BASE_DEPS, "bbb<1.5"], {"bbb": "1.0"}, ["~ bbb 1.5 -> 1.0"], id="downgraded"),
    pytest.param([*BASE_DEPS, "ggg"], {"ggg": "1.0", "hhh": "1.0"}, ["+ ggg==1.0", "+ hhh==1.0"], id="added"),
    # ddd's own dependency eee goes with it; bbb stays, aaa still needs it.
    pytest.param(["aaa==1.0", "fff==1.0"], {"ddd": None, "eee": None}, ["- ddd==1.0", "- eee==1.0"], id="removed"),
]


@pytest.mark.parametrize("deps, delta, lines", DELTAS)
def test_sync_installs_and_removes_exactly_the_packages_that_differ(world, deps, delta, lines):
    world.baseline(BASE_DEPS)
    before = installed(world.python)
    assert before == BASE_ENV
    ids_before = dist_info_ids(world.python)
    world.index.reset_log()

    proc = world.sync(deps)

    expected = apply_delta(before, delta)
    assert installed(world.python) == expected
    assert_consistent(world.python)
    for line in lines:
        assert line in proc.stdout.splitlines()
    # Untouched packages were not reinstalled, nor downloaded again.
    ids_after = dist_info_ids(world.python)
    unchanged = [name for name in ids_before if ids_after.get(name) == ids_before[name]]
    assert {n.split("-")[0] for n in unchanged} == {k for k, v in before.items() if delta.get(k, v) == v}
    assert wheels_downloaded(world.index) == {k for k, v in delta.items() if v is not None}
    assert world.managed() == sorted(expected)
    assert not (world.prefix / ".incrinstall" / "journal.json").exists()


def test_sync_after_sync_after_sync_follows_every_change(world):
    world.baseline(BASE_DEPS)
    world.sync([*BASE_DEPS, "ggg"])
    world.sync(["aaa==2.0", "ggg"])
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.5", "ccc": "1.0", "ggg": "1.0", "hhh": "1.0"}
    assert_consistent(world.python)
    world.sync(BASE_DEPS)
    # aaa is back at 1.0 and ccc, which only aaa 2.0 needed, is gone again.
    assert installed(world.python) == BASE_ENV
    assert_consistent(world.python)


def test_sync_with_unchanged_specs_after_baseline_changes_nothing(world):
    world.baseline(BASE_DEPS)
    before = snapshot(world.python)
    proc = world.sync(BASE_DEPS)
    assert "sync: 0 changed" in proc.stdout
    assert snapshot(world.python) == before


# -- the no-op fast path ---------------------------------------------------------------------------------------------


def test_noop_sync_makes_no_index_request_and_touches_no_file(world):
    world.baseline(BASE_DEPS)
    world.sync([*BASE_DEPS, "ggg"])
    before = snapshot(world.python)
    state_before = (world.prefix / ".incrinstall" / "pylock.toml").read_bytes()
    world.index.reset_log()

    proc = world.sync(env={"PYTHONPROFILEIMPORTTIME": "1"})

    assert world.index.requests == []
    assert snapshot(world.python) == before
    assert (world.prefix / ".incrinstall" / "pylock.toml").read_bytes() == state_before
    assert "nothing to do" in proc.stdout
    imported = cli.imported_by(proc)
    assert "incrinstall.fastpath" in imported
    assert not imported & {"resolvelib", "tomlkit", "incrinstall.resolve.resolver", "incrinstall.index.client",
                           "http.client", "pyproject_hooks"}
    # The same command line as the last sync is answered before it is even parsed.
    assert not imported & {"argparse", "incrinstall.cli", "incrinstall.pipeline", "dataclasses"}


def test_noop_with_a_command_line_never_seen_still_takes_the_fast_path_after_parsing(world):
    world.baseline(BASE_DEPS)
    world.sync(BASE_DEPS)
    world.index.reset_log()
    # Same meaning, other spelling: the invocation record does not match, the stamp still does.
    proc = cli.run_cli("sync", "--index-url", world.index.url, "--python", world.python, world.work,
                       env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0 and "nothing to do" in proc.stdout
    assert world.index.requests == []
    imported = cli.imported_by(proc)
    assert "incrinstall.cli" in imported and "resolvelib" not in imported


def test_noop_is_defeated_by_a_package_removed_behind_its_back(world):
    world.baseline(BASE_DEPS)
    world.sync(BASE_DEPS)
    uv_pip_install(world.python, "zzz", index_url=world.index.url)  # the environment changed
    run_uv(["pip", "uninstall", "--python", str(world.python), "eee"])
    proc = world.sync()
    assert "nothing to do" not in proc.stdout
    assert installed(world.python) == {**BASE_ENV, "zzz": "1.0"}  # eee is back, zzz is not ours
    assert_consistent(world.python)


def test_dry_run_changes_nothing(world):
    world.baseline(BASE_DEPS)
    world.sync(BASE_DEPS)
    state = world.prefix / ".incrinstall"
    before = snapshot(world.python)
    state_before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}

    proc = world.sync(["aaa==2.0", "fff==1.0"], "--dry-run")

    assert "aaa" in proc.stdout and "ddd" in proc.stdout  # it shows the plan
    assert snapshot(world.python) == before
    assert {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()} == state_before
    assert installed(world.python) == BASE_ENV


def test_json_summary_has_the_delta(world):
    world.baseline(BASE_DEPS)
    proc = world.sync(["aaa==2.0", "fff==1.0"], "--json")
    summary = json.loads(proc.stdout)
    assert summary["installed"] == ["ccc==1.0"]
    assert summary["changed"] == [{"name": "aaa", "from": "1.0", "to": "2.0"}]
    assert sorted(summary["removed"]) == ["ddd==1.0", "eee==1.0"]
    assert summary["unchanged"] == 2  # bbb, fff
    assert summary["noop"] is False
    assert isinstance(summary["seconds"], float) and summary["python"] == str(world.python)

    noop = json.loads(world.sync(None, "--json").stdout)
    assert noop["noop"] is True and noop["installed"] == noop["removed"] == noop["changed"] == []


def test_output_is_plain_when_not_a_tty_even_without_no_color(world, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    world.baseline(BASE_DEPS)
    procs = [world.sync(["aaa==2.0", "fff==1.0"]), world.sync(None), world.sync(None, "--dry-run")]
    for proc in procs:
        assert "\x1b" not in proc.stdout + proc.stderr
        assert "\r" not in proc.stdout + proc.stderr


def test_quiet_prints_nothing_on_success(world):
    world.baseline(BASE_DEPS, "--quiet")
    proc = world.sync(["aaa==2.0"], "--quiet")
    assert proc.stdout == "" and proc.stderr == ""
    assert installed(world.python)["aaa"] == "2.0"


RECORDING_UV = """\
import json, os, sys
args = sys.argv[1:]
call = {"args": args}
if "-r" in args:
    with open(args[args.index("-r") + 1]) as f:
        call["requirements"] = f.read().splitlines()
with open(os.environ["UV_CALLS"], "a") as f:
    f.write(json.dumps(call) + "\\n")
os.execv(os.environ["REAL_UV"], [os.environ["REAL_UV"], *args])
"""


def test_sync_applies_the_delta_with_one_pinned_hashed_install_and_one_uninstall(world, tmp_path):
    world.baseline(BASE_DEPS)
    recorder = tmp_path / "recording-uv"
    recorder.write_text(f"#!{sys.executable}\n{RECORDING_UV}")
    recorder.chmod(0o755)
    calls_file = tmp_path / "uv-calls.jsonl"
    world.sync(["aaa==2.0", "fff==2.0"],
               env={"INCRINSTALL_UV": str(recorder), "REAL_UV": uv_bin(), "UV_CALLS": str(calls_file)})

    calls = [json.loads(line) for line in calls_file.read_text().splitlines()]
    assert [c["args"][:2] for c in calls] == [["pip", "install"], ["pip", "uninstall"]]
    install, uninstall = calls
    assert "--no-deps" in install["args"] and "--require-hashes" in install["args"]
    pinned = {line.split(" ")[0]: line for line in install["requirements"]}
    assert set(pinned) == {"aaa==2.0", "ccc==1.0", "fff==2.0"}
    for spec, line in pinned.items():
        name, version = spec.split("==")
        digest = hashlib.sha256((world.index.root / f"{name}-{version}-py3-none-any.whl").read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in line
    assert sorted(uninstall["args"][4:]) == ["ddd", "eee"]
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.5", "ccc": "1.0", "fff": "2.0"}


def run_on_a_tty(args: list, env: dict[str, str]) -> str:
    """Run with stdout and stderr on a pseudo-terminal; return everything it printed."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(cli.cli_argv(*args), stdout=follower, stderr=follower, env=cli.cli_env(env))
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode()
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(world, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    world.baseline(BASE_DEPS)
    write_project(world.work, ["aaa==2.0", "fff==1.0"])
    args = ["sync", world.work, "--python", world.python, *world.index_args, "--dry-run"]
    assert "\x1b[" not in run_on_a_tty(args, {"NO_COLOR": "1"})
    coloured = run_on_a_tty(args[:-1], {})
    assert "\x1b[" in coloured and "aaa 1.0 -> 2.0" in coloured


def test_unsatisfiable_specs_exit_1_and_change_nothing(world):
    world.baseline(BASE_DEPS)
    before = snapshot(world.python)
    proc = world.sync(["aaa==2.0", "ccc>=5"], ok=False)
    assert proc.returncode == 1
    assert "ccc" in proc.stderr
    assert snapshot(world.python) == before
    assert not (world.prefix / ".incrinstall" / "journal.json").exists()


def test_failing_uv_exits_2_with_its_message_and_the_next_sync_completes_the_work(world, tmp_path):
    world.baseline(BASE_DEPS)
    failing = tmp_path / "failing-uv"
    failing.write_text("#!/bin/sh\necho 'error: no space left on device (simulated)' >&2\nexit 2\n")
    failing.chmod(0o755)
    proc = world.sync(["aaa==2.0", "fff==1.0"], ok=False, env={"INCRINSTALL_UV": str(failing)})
    assert proc.returncode == 2
    assert "installing with uv failed" in proc.stderr and "no space left on device" in proc.stderr
    assert installed(world.python) == BASE_ENV

    proc = world.sync()
    assert "interrupted sync" in proc.stderr
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.5", "ccc": "1.0", "fff": "1.0"}
    assert_consistent(world.python)
    assert not (world.prefix / ".incrinstall" / "journal.json").exists()


# -- the managed set and --exact ---------------------------------------------------------------------------------------


def test_sync_keeps_what_it_did_not_install_and_exact_removes_it_but_not_pip_or_setuptools(world):
    uv_pip_install(world.python, "pip", "setuptools", index_url=world.index.url)
    world.baseline(BASE_DEPS)
    uv_pip_install(world.python, "zzz", index_url=world.index.url)
    tools = {"pip": "99.0", "setuptools": "99.0"}

    world.sync(["aaa==1.0", "fff==1.0"])  # ddd dropped: ours, so removed; zzz is not ours
    assert installed(world.python) == {"aaa": "1.0", "bbb": "1.5", "fff": "1.0", "zzz": "1.0", **tools}

    proc = world.sync(None, "--exact")
    assert "- zzz==1.0" in proc.stdout
    assert installed(world.python) == {"aaa": "1.0", "bbb": "1.5", "fff": "1.0", **tools}
    assert_consistent(world.python)


def test_package_installed_by_other_means_stays_unmanaged_when_specs_stop_needing_it(world):
    world.baseline(BASE_DEPS)
    uv_pip_install(world.python, "ggg", "hhh", index_url=world.index.url)
    world.sync([*BASE_DEPS, "ggg"])  # already satisfied: nothing to install, nothing becomes ours
    assert "ggg" not in world.managed()
    assert_valid_pylock(world.prefix)  # ggg is in the resolution without a file we know of
    world.sync(BASE_DEPS)
    assert installed(world.python) == {**BASE_ENV, "ggg": "1.0", "hhh": "1.0"}


def assert_valid_pylock(prefix: Path) -> None:
    """The state file is a PEP 751 lock file that a standard reader accepts."""
    pylock = pytest.importorskip("packaging.pylock")
    path = prefix / ".incrinstall" / "pylock.toml"
    assert pylock.is_valid_pylock_path(path)
    pylock.Pylock.from_dict(tomlkit.parse(path.read_text()).unwrap())  # raises PylockValidationError


# -- --editable ------------------------------------------------------------------------------------------------------


@pytest.fixture
def editable_world(tmp_path, index, venv_factory, real_wheels_index) -> World:
    """Like `world`, but hatchling (the project's build backend) is served by a second index."""
    fill_index(index)
    return World(tmp_path, index, venv_factory("target"), template=PYPROJECT, package="myproj",
                 extra_index=real_wheels_index.url)


def direct_url(python: Path, name: str) -> dict | None:
    for root in site_packages(python):
        for entry in Path(root).glob(f"{name}-*.dist-info"):
            path = entry / "direct_url.json"
            return json.loads(path.read_text()) if path.exists() else None
    return None


def test_editable_installs_the_project_without_deps_once(editable_world):
    world = editable_world
    world.baseline(BASE_DEPS)
    proc = world.sync(BASE_DEPS, "--editable")
    assert "+ myproj (editable" in proc.stdout
    assert installed(world.python) == {**BASE_ENV, "myproj": "0.1"}
    info = direct_url(world.python, "myproj")
    assert info["dir_info"] == {"editable": True}
    assert Path(info["url"].removeprefix("file://")) == world.work
    assert_consistent(world.python)  # the project is installed: no exception for requirements on it
    ids = dist_info_ids(world.python)

    # Unchanged: the fast path says so.
    assert "nothing to do" in world.sync(None, "--editable").stdout
    # A changed environment (a dependency removed behind our back) is repaired, the project is not rebuilt.
    run_uv(["pip", "uninstall", "--python", str(world.python), "eee"])
    proc = world.sync(None, "--editable")
    assert "(editable" not in proc.stdout
    assert "myproj-0.1.dist-info" in dist_info_ids(world.python)
    assert dist_info_ids(world.python)["myproj-0.1.dist-info"] == ids["myproj-0.1.dist-info"]
    assert installed(world.python) == {**BASE_ENV, "myproj": "0.1"}

    # Changed specs: the project's metadata changes, so it is installed again, with its new requirements.
    proc = world.sync([*BASE_DEPS, "ggg"], "--editable")
    assert "+ ggg==1.0" in proc.stdout and "(editable" in proc.stdout
    assert installed(world.python) == {**BASE_ENV, "ggg": "1.0", "hhh": "1.0", "myproj": "0.1"}
    assert_consistent(world.python)


def test_editable_project_is_reinstalled_when_its_specs_changed_since_it_was_installed(editable_world):
    world = editable_world
    world.baseline(BASE_DEPS)
    world.sync(BASE_DEPS, "--editable")
    expected = {"aaa": "1.0", "bbb": "1.5", "fff": "1.0", "myproj": "0.1"}
    # A plain sync drops ddd, which the installed project's metadata names: it refreshes that metadata too.
    proc = world.sync(["aaa==1.0", "fff==1.0"])
    assert "(editable" in proc.stdout
    assert installed(world.python) == expected
    assert_consistent(world.python)
    # Now up to date: --editable does not rebuild it.
    ids = dist_info_ids(world.python)
    proc = world.sync(None, "--editable")
    assert "(editable" not in proc.stdout
    assert dist_info_ids(world.python) == ids
    # A change while only plain syncs ran still reaches the project with the next --editable one.
    world.sync(["aaa==1.0"])
    world.sync(None, "--editable")
    assert installed(world.python) == {"aaa": "1.0", "bbb": "1.5", "myproj": "0.1"}
    assert_consistent(world.python)


def test_requirement_on_the_project_is_left_to_the_tree_until_editable_installs_it(editable_world):
    world = editable_world
    world.baseline(["plugin"])
    assert installed(world.python) == {"plugin": "1.0"}  # not myproj from the index
    ok, report = pip_check(world.python)
    assert not ok and "myproj" in report  # the one allowed exception: the project itself is not installed
    world.sync(["plugin"], "--editable")
    assert installed(world.python) == {"plugin": "1.0", "myproj": "0.1"}
    assert direct_url(world.python, "myproj")["dir_info"] == {"editable": True}
    assert_consistent(world.python)


# -- the Airflow-like tree: hatch_build.py and provider.yaml --------------------------------------------------------

AIRFLOW_DEPS = {
    "flaskish-lite": [("2.2", ["werkzeugish-lite>=2"])],
    "werkzeugish-lite": [("2.0", [])],
    "sqlalchemyish-lite": [("1.4", []), ("2.0", [])],
    "sqlparse-lite": [("0.4.2", [])],
    "aws-sdk-lite": [("1.2", [])],
    "s3-transfer-lite": [("0.6", ["aws-sdk-lite>=1"])],
    "retry-lite": [("2.0", [])],
    "click-lite": [("8.0", [])],
    "gcloud-lite": [("3.0", [])],
    "proto-lite": [("4.0", [])],
    "tomli-lite": [("1.0", [])],
}
AIRFLOW_BASE = {"flaskish-lite": "2.2", "werkzeugish-lite": "2.0", "sqlalchemyish-lite": "1.4",
                "sqlparse-lite": "0.4.2", "aws-sdk-lite": "1.2", "s3-transfer-lite": "0.6"}


@pytest.fixture(scope="module")
def airflow_index(tmp_path_factory):
    """The tree's fictional dependencies; one per module, so the hook's build environment is made once."""
    idx = LoopbackIndex(tmp_path_factory.mktemp("airflow-deps")).start()
    for name, versions in AIRFLOW_DEPS.items():
        for version, requires in versions:
            idx.add_wheel(name, version, requires_dist=requires)
    yield idx
    idx.stop()


@pytest.fixture(scope="module")
def airflow_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("airflow-incrinstall-cache")


@pytest.fixture
def airflow(tmp_path, airflow_index, airflow_cache, real_wheels_index, venv_factory, monkeypatch):
    """A baseline of the Airflow-like tree (only the amazon provider) from a copy, and a working copy to change."""
    monkeypatch.setenv("INCRINSTALL_CACHE_DIR", str(airflow_cache))
    world = World(tmp_path, airflow_index, venv_factory("target"), template=PYPROJECT, package="myproj",
                  extra_index=real_wheels_index.url)
    main = tmp_path / "main"
    shutil.copytree(AIRFLOW_LIKE, main)
    hook = main / "hatch_build.py"
    hook.write_text(hook.read_text().replace('"sqlalchemyish-lite>=1.4"', '"sqlalchemyish-lite>=1.4,<2"'))
    shutil.copytree(main, world.work)
    main_before = {str(p): p.stat().st_mtime_ns for p in main.rglob("*")}
    world.run("baseline", main, "--provider", "amazon")
    # A folder is read in place: the hook ran in it, but nothing was written there.
    assert {str(p): p.stat().st_mtime_ns for p in main.rglob("*")} == main_before
    assert installed(world.python) == AIRFLOW_BASE  # never the project or its in-tree providers
    assert_consistent(world.python)
    return world


def test_sync_after_provider_yaml_change_adds_and_removes_its_dependencies(airflow):
    yaml = airflow.work / "providers" / "amazon" / "provider.yaml"
    yaml.write_text(yaml.read_text().replace("  - s3-transfer-lite\n", "  - retry-lite>=2\n"))
    airflow.index.reset_log()

    proc = airflow.run("sync", airflow.work, "--provider", "amazon")

    assert installed(airflow.python) == {**{k: v for k, v in AIRFLOW_BASE.items() if k != "s3-transfer-lite"},
                                         "retry-lite": "2.0"}
    assert_consistent(airflow.python)
    assert {"+ retry-lite==2.0", "- s3-transfer-lite==0.6"} <= set(proc.stdout.splitlines())
    # aws-sdk-lite stays: the provider still asks for it directly.
    airflow.index.reset_log()
    assert "nothing to do" in airflow.run("sync", airflow.work, "--provider", "amazon").stdout
    assert airflow.index.requests == []


def test_sync_after_hatch_build_change_follows_the_hook(airflow):
    hook = airflow.work / "hatch_build.py"
    text = hook.read_text()
    text = text.replace('"sqlalchemyish-lite>=1.4,<2"', '"sqlalchemyish-lite>=2"')
    text = text.replace('    "flaskish-lite>=2.2,<3",\n', '    "click-lite>=8",\n')
    hook.write_text(text)

    proc = airflow.run("sync", airflow.work, "--provider", "amazon")

    expected = {k: v for k, v in AIRFLOW_BASE.items() if k not in ("flaskish-lite", "werkzeugish-lite")}
    assert installed(airflow.python) == {**expected, "sqlalchemyish-lite": "2.0", "click-lite": "8.0"}
    assert_consistent(airflow.python)
    lines = set(proc.stdout.splitlines())
    assert {"~ sqlalchemyish-lite 1.4 -> 2.0", "+ click-lite==8.0", "- flaskish-lite==2.2",
            "- werkzeugish-lite==2.0"} <= lines


# -- targets: a system-like interpreter without pip, and a uv venv -----------------------------------------------------


def copy_system_python(dest: Path) -> tuple[Path, str]:
    """A private copy of a pyenv installation (not a venv), without pip; skips when there is none.

    Hard links for the standard library (never written to), real copies of site-packages (which the test changes).
    """
    for version in ("3.10", "3.12", "3.13", "3.11"):
        exe = find_python(version)
        root = Path(exe).parent.parent if exe else None
        if root is not None and (root / "lib" / f"python{version}" / "os.py").is_file() \
                and not (root / "pyvenv.cfg").exists() and os.access(root, os.R_OK):
            break
    else:
        pytest.skip("no pyenv-style Python installation (bin/ + lib/pythonX.Y/) to copy as a system interpreter")
    site = f"lib/python{version}/site-packages"

    def link_or_copy(src, dst):
        if site in Path(src).as_posix():
            return shutil.copy2(src, dst)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    ignore = shutil.ignore_patterns("test", "tests", "idlelib", "tkinter", "turtledemo", "__pycache__", "config-3*",
                                    "ensurepip", "pip", "pip-*", "pip3*", "_sandboxing*")
    shutil.copytree(root, dest, symlinks=True, ignore=ignore, copy_function=link_or_copy)
    python = dest / "bin" / f"python{version}"
    assert python.exists()
    return python, version


def test_system_interpreter_without_pip_gets_baseline_and_sync(tmp_path, index):
    fill_index(index)
    python, version = copy_system_python(tmp_path / "system-python")
    before = installed(python)
    assert "pip" not in before
    world = World(tmp_path, index, python, template=PYPROJECT, package="myproj")
    world.prefix = tmp_path / "system-python"
    # The target's markers decide, not those of the Python running incrinstall.
    deps = [*BASE_DEPS, 'oldonly; python_version < "3.11"']
    old = {"oldonly": "1.0"} if tuple(map(int, version.split("."))) < (3, 11) else {}

    world.baseline(deps)
    assert installed(python) == {**before, **BASE_ENV, **old}
    assert (world.prefix / ".incrinstall" / "pylock.toml").is_file()

    world.sync(["aaa==2.0", *deps[1:]])
    assert installed(python) == {**before, **BASE_ENV, **old, "aaa": "2.0", "ccc": "1.0"}
    assert_consistent(python)
    assert "nothing to do" in world.sync(None).stdout
    # The interpreter's own setuptools is kept even by --exact.
    assert "setuptools" in before
    world.sync(None, "--exact")
    assert installed(python) == {**before, **BASE_ENV, **old, "aaa": "2.0", "ccc": "1.0"}


def test_uv_venv_without_pip_is_a_target(world):
    assert installed(world.python) == {}  # a uv venv has no pip, nor anything else
    world.baseline(BASE_DEPS)
    world.sync(["aaa==2.0"])
    assert installed(world.python) == {"aaa": "2.0", "bbb": "1.5", "ccc": "1.0"}
    assert_consistent(world.python)


def test_externally_managed_interpreter_needs_break_system_packages(tmp_path, index):
    fill_index(index)
    python, version = copy_system_python(tmp_path / "system-python")
    (tmp_path / "system-python" / "lib" / f"python{version}" / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=this interpreter belongs to the distribution\n")
    before = installed(python)
    world = World(tmp_path, index, python, template=PYPROJECT, package="myproj")
    world.prefix = tmp_path / "system-python"

    refused = world.run("baseline", write_project(tmp_path / "main", BASE_DEPS), ok=False)
    assert refused.returncode == 2
    assert "externally" in refused.stderr.lower()
    assert installed(python) == before

    world.baseline(BASE_DEPS, "--break-system-packages")
    assert installed(python) == {**before, **BASE_ENV}
