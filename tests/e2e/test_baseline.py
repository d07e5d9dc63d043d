"""`incrinstall baseline ARCHIVE`: a project's dependencies (never the project) from a tarball, zip, folder or URL.

Every test runs the real CLI against a loopback index with real uv into a fresh uv venv
(which has no pip), then reads the environment and the state file as they really are.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomlkit
from packaging import pylock

from tests.support.archives import tar_file, tar_link, tar_special, write_tar
from tests.support.loopback import Routes
from tests.support.venvs import installed, pip_check
from tests.support.world import World

pytestmark = pytest.mark.slow

# The index: the project's deps (aaa -> bbb, an extra's ccc), its own name (which must never
# be installed), and an unrelated package.
PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
dependencies = ["aaa>=1"]

[project.optional-dependencies]
extra-c = ["ccc"]
all = ["myproj[extra-c]"]
"""
EXPECTED_DEFAULT = {"aaa": "1.0", "bbb": "2.0"}
EXPECTED_ALL = {"aaa": "1.0", "bbb": "2.0", "ccc": "3.0"}


@pytest.fixture
def world(index, tmp_path, venv_factory) -> World:
    """A loopback index, a project tree `src/myproj-main` (the world's `main`), and a fresh venv."""
    index.add_wheel("aaa", "1.0", requires_dist=["bbb>=2"])
    index.add_wheel("bbb", "1.0")
    index.add_wheel("bbb", "2.0")
    index.add_wheel("ccc", "3.0")
    index.add_wheel("myproj", "0.1", requires_dist=["aaa>=1"])  # a baseline must not take the project from here
    index.add_wheel("unrelated", "1.0")
    made = World(tmp_path, index, venv_factory("target"))
    made.main = tmp_path / "src" / "myproj-main"
    (made.main / "myproj").mkdir(parents=True)
    (made.main / "myproj" / "__init__.py").write_text("")
    (made.main / "pyproject.toml").write_text(PYPROJECT)
    return made


def zipball(world: World, name: str = "main.zip") -> Path:
    """The main tree as a .zip, under `myproj-main/`."""
    path = world.tmp / name
    with zipfile.ZipFile(path, "w") as zf:
        for file in sorted(world.main.rglob("*")):
            if file.is_file():
                zf.write(file, "myproj-main/" + file.relative_to(world.main).as_posix())
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under root with (mtime_ns, size, inode): equal snapshots mean nothing was touched."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out


def assert_ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def assert_only_deps_installed(world: World, expected: dict[str, str]):
    assert installed(world.python) == expected
    ok, out = pip_check(world.python)
    assert ok, out


def test_baseline_from_tarball_installs_only_the_dependencies_and_records_the_state(world):
    archive = world.tarball()
    proc = world.baseline(archive, "--extra", "all", ok=False)
    assert_ok(proc)
    assert_only_deps_installed(world, EXPECTED_ALL)  # never myproj, although the index has it
    assert "+ aaa==1.0" in proc.stdout and "+ ccc==3.0" in proc.stdout

    lock = world.state()
    own = lock["tool"]["incrinstall"]
    assert own["baseline"]["source"] == str(archive)
    assert own["baseline"]["sha256"] == sha256_of(archive)
    assert own["selection"]["extras"] == ["all"]
    assert own["managed"] == sorted(EXPECTED_ALL)
    assert {p["name"]: p["version"] for p in lock["packages"]} == EXPECTED_ALL
    # The resolution records where each file came from and its hash, as PEP 751 asks.
    aaa = next(p for p in lock["packages"] if p["name"] == "aaa")
    assert aaa["wheels"][0]["url"] == world.index.file_url("aaa-1.0-py3-none-any.whl")
    assert aaa["wheels"][0]["hashes"]["sha256"] == sha256_of(world.index.root / "aaa-1.0-py3-none-any.whl")
    # The fingerprint is the one `specs` computes for the same tree, so a later sync can compare.
    specs = world.run("specs", world.main, "--json", "--extra", "all", ok=False)
    assert_ok(specs)
    assert own["baseline"]["fingerprint"] == own["fingerprint"] == json.loads(specs.stdout)["fingerprint"]


def test_state_file_is_a_pep_751_lock_file(world):
    world.baseline(world.tarball(), "--extra", "all")
    path = world.prefix / ".incrinstall" / "pylock.toml"
    assert pylock.is_valid_pylock_path(path)
    lock = pylock.Pylock.from_dict(world.state())
    assert {p.name: str(p.version) for p in lock.packages} == EXPECTED_ALL


def test_baseline_from_zip_with_good_sha256(world):
    archive = zipball(world)
    world.baseline(archive, "--sha256", sha256_of(archive))
    assert_only_deps_installed(world, EXPECTED_DEFAULT)
    assert world.state()["tool"]["incrinstall"]["baseline"]["sha256"] == sha256_of(archive)


def test_baseline_from_directory_reads_it_in_place_without_writing(world):
    before = snapshot(world.main.parent)
    proc = world.baseline(world.main, "--extra", "extra-c", ok=False)
    assert_ok(proc)
    assert_only_deps_installed(world, {**EXPECTED_DEFAULT, "ccc": "3.0"})
    assert snapshot(world.main.parent) == before
    own = world.state()["tool"]["incrinstall"]
    assert own["baseline"]["source"] == str(world.main)
    assert own["baseline"]["sha256"] == ""


def test_baseline_from_file_url(world):
    archive = world.tarball()
    world.baseline(archive.as_uri())
    assert_only_deps_installed(world, EXPECTED_DEFAULT)


def test_baseline_from_loopback_http_url_needs_allow_insecure_http(world):
    archive = world.tarball()
    served = world.index.root / "main.tar.gz"  # the index serves any file in its folder under /files/
    served.write_bytes(archive.read_bytes())
    url = world.index.files_url + "main.tar.gz"
    env_before = snapshot(world.prefix)

    refused = world.baseline(url, ok=False)
    assert refused.returncode == 2
    assert "--allow-insecure-http" in refused.stderr
    assert snapshot(world.prefix) == env_before

    proc = world.baseline(url, "--allow-insecure-http", "--sha256", sha256_of(archive), ok=False)
    assert_ok(proc)
    assert_only_deps_installed(world, EXPECTED_DEFAULT)
    assert world.index.count("/files/main.tar.gz") == 1
    baseline = world.state()["tool"]["incrinstall"]["baseline"]
    assert baseline["source"] == url
    assert baseline["sha256"] == sha256_of(archive)


@pytest.mark.parametrize("served", [True, False], ids=["http", "local-file"])
def test_baseline_with_bad_sha256_installs_nothing_and_leaves_the_environment_untouched(world, served):
    archive = world.tarball()
    if served:
        (world.index.root / "main.tar.gz").write_bytes(archive.read_bytes())
        source, extra = world.index.files_url + "main.tar.gz", ["--allow-insecure-http"]
    else:
        source, extra = archive, []
    before = snapshot(world.prefix)
    world.index.reset_log()

    proc = world.baseline(source, *extra, "--sha256", "0" * 64, ok=False)
    assert proc.returncode == 2
    assert "sha256 mismatch" in proc.stderr
    assert sha256_of(archive) in proc.stderr  # the actual digest, so the user can check it
    assert snapshot(world.prefix) == before
    assert installed(world.python) == {}
    assert world.index.count("/simple/") == 0 and world.index.count("/files/") == (1 if served else 0)


def _evil_tar(path: Path, kind: str) -> Path:
    bad = {
        "dotdot": tar_file("myproj-main/../../escaped.txt", b"bad"),
        "absolute": tar_file("/tmp/incrinstall-absolute-escape.txt", b"bad"),
        "symlink-outside": tar_link("myproj-main/link", "../../../etc"),
        "device": tar_special("myproj-main/dev", tarfile.CHRTYPE),
    }[kind]
    return write_tar(path, [tar_file("myproj-main/pyproject.toml", PYPROJECT.encode()), bad])


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink-outside", "device"])
def test_refused_archive_exits_2_and_leaves_the_environment_untouched(world, kind):
    archive = _evil_tar(world.tmp / f"{kind}.tar.gz", kind)
    before = snapshot(world.prefix)
    proc = world.baseline(archive, ok=False)
    assert proc.returncode == 2, proc.stderr
    assert "refusing" in proc.stderr and str(archive) in proc.stderr  # names the archive and the member
    assert snapshot(world.prefix) == before
    assert installed(world.python) == {}
    assert world.index.count("/simple/") == 0, "nothing was resolved"
    assert not (world.tmp / "escaped.txt").exists()


def test_oversized_archive_is_refused_with_max_size(world):
    archive = world.tarball()
    before = snapshot(world.prefix)
    proc = world.baseline(archive, "--max-size", "10", ok=False)
    assert proc.returncode == 2
    assert snapshot(world.prefix) == before


def test_baseline_json_summary_lists_what_it_installed(world):
    proc = world.baseline(world.tarball(), "--json", ok=False)
    assert_ok(proc)
    summary = json.loads(proc.stdout)
    assert sorted(summary["installed"]) == ["aaa==1.0", "bbb==2.0"]
    assert summary["removed"] == [] and summary["changed"] == []
    assert summary["noop"] is False


def test_state_file_round_trips_wheels_sdists_and_packages_without_a_known_file(tmp_path):
    from incrinstall.install import state

    saved = state.State(
        packages={
            "aaa": state.LockedPackage("aaa", "1.0", "http://127.0.0.1:1/files/aaa-1.0-py3-none-any.whl",
                                       {"sha256": "a" * 64}),
            "bbb": state.LockedPackage("bbb", "2.0", "http://127.0.0.1:1/files/bbb-2.0.tar.gz", {"sha256": "b" * 64}),
            "ccc": state.LockedPackage("ccc", "3.0"),  # installed by other means, kept by the resolution
        },
        managed={"aaa", "bbb"}, fingerprint="f" * 64, selection={"extras": ["all"]},
        baseline={"source": "/tmp/main.tar.gz", "sha256": "c" * 64}, project_dir="/src/proj", editable="f" * 64,
    )
    state.save(str(tmp_path), saved)
    assert state.load(str(tmp_path)) == saved
    doc = tomlkit.parse((tmp_path / ".incrinstall" / "pylock.toml").read_text()).unwrap()
    by_name = {p["name"]: p for p in doc["packages"]}
    assert "wheels" in by_name["aaa"] and "sdist" in by_name["bbb"] and "ccc" not in by_name
    pylock.Pylock.from_dict(doc)


def test_baseline_leaves_the_installed_requirements_parsed_for_the_next_delta_walk(world, incrinstall_cache):
    # uv resolves a baseline, so no Requires-Dist line is parsed by incrinstall's resolver; the
    # baseline parses what it installed, so the first sync's walk finds every line in the cache.
    world.baseline(world.tarball(), "--extra", "all")
    files = list((incrinstall_cache / "requires").glob("*.json"))
    assert len(files) == 1
    cached = json.loads(files[0].read_text())
    assert cached["bbb>=2"][:2] == [True, "bbb"]  # aaa's only line: applies, names bbb
    assert set(cached) == {"bbb>=2"}


HOOKED_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "myproj"
version = "0.1"
dynamic = ["dependencies"]

[tool.hatch.build.targets.wheel]
packages = ["myproj"]

[tool.hatch.build.targets.wheel.hooks.custom]
path = "hatch_build.py"
"""

SENTINEL_HOOK = """\
import os
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

open(os.environ["HOOK_SENTINEL"], "a").write("ran\\n")


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        build_data["dependencies"] = ["aaa>=1"]
"""


def test_a_hook_in_an_archive_whose_sha256_does_not_match_never_runs(world, real_wheels_index, monkeypatch):
    # hatch_build.py is code. An archive that fails its --sha256 is refused before it is unpacked, so its
    # hook cannot run; the same archive with the right digest does run it (so the sentinel can appear).
    (world.main / "pyproject.toml").write_text(HOOKED_PYPROJECT)
    (world.main / "hatch_build.py").write_text(SENTINEL_HOOK)
    sentinel = world.tmp / "hook-ran"
    monkeypatch.setenv("HOOK_SENTINEL", str(sentinel))
    archive = world.tarball()
    index_args = ["--extra-index-url", real_wheels_index.url]

    proc = world.baseline(archive, *index_args, "--sha256", "0" * 64, ok=False)
    assert proc.returncode == 2 and "sha256 mismatch" in proc.stderr
    assert not sentinel.exists()
    assert installed(world.python) == {}

    proc = world.baseline(archive, *index_args, "--sha256", sha256_of(archive), ok=False)
    assert_ok(proc)
    assert sentinel.exists()  # the control: with the right digest the hook runs (in the build environment)
    assert installed(world.python) == {"aaa": "1.0", "bbb": "2.0"}


def test_the_install_after_uv_resolved_asks_uvs_cache_only(world, tmp_path, venv_factory):
    # uv's compile has just revalidated every index page; the install that follows runs --offline,
    # so each page is asked for once per baseline, not twice. (A cold cache, where the wheel files
    # are not there yet, falls back to an online install: every other baseline test.)
    archive = world.tarball()
    world.baseline(archive, "--extra", "all")  # fills uv's cache with the wheels
    second = venv_factory("second")
    world.index.reset_log()
    proc = World(tmp_path / "second", world.index, second).baseline(archive, "--extra", "all", ok=False)
    assert_ok(proc)
    assert installed(second) == EXPECTED_ALL
    pages = [r.path for r in world.index.request_log if r.path.startswith("/simple/")]
    assert sorted(pages) == sorted(set(pages)), pages  # no page asked for twice
    assert not [r.path for r in world.index.request_log if r.path.endswith(".whl")]  # metadata files only


# -- what is not a source tree is refused, and the time includes fetching -----------------------------------------


@pytest.mark.parametrize("what", ["empty-folder", "wheel", "empty-argument", "tree-without-spec-files"])
def test_baseline_refuses_what_is_no_project_tree_with_exit_2(world, what):
    if what == "empty-folder":
        source = world.tmp / "empty"
        source.mkdir()
        expected = "no spec file in this tree"
    elif what == "wheel":
        source = world.index.root / "aaa-1.0-py3-none-any.whl"  # a real wheel: a zip that unpacks fine
        expected = "a wheel is a built distribution, not a source archive"
    elif what == "empty-argument":
        source = ""
        expected = "no archive given (an empty argument)"
    else:
        (world.tmp / "docs-only").mkdir()
        (world.tmp / "docs-only" / "README.md").write_text("# not a project\n")
        source = world.tmp / "docs-only.tar.gz"
        with tarfile.open(source, "w:gz") as tf:
            tf.add(world.tmp / "docs-only", arcname="docs-only")
        expected = "no spec file in this tree"
    before = snapshot(world.prefix)
    proc = world.run("baseline", source, ok=False, cwd=world.main)  # "" is not this folder, which is a project
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "0 changed" not in proc.stdout
    assert snapshot(world.prefix) == before
    assert world.index.count("/simple/") == 0


def test_baseline_summary_time_includes_fetching_the_archive(world):
    """A server that takes 1.5 s to answer: the summary's seconds must count them."""
    with Routes(delay=1.5) as server:
        url = server.serve("/main.tar.gz", world.tarball().read_bytes())
        proc = world.baseline(url, "--json", "--allow-insecure-http", ok=False)
    assert_ok(proc)
    assert json.loads(proc.stdout)["seconds"] >= 1.5
