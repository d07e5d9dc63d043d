"""When only the project's dependencies change, its editable install is refreshed in place, not rebuilt.

Real hatchling (served from loopback) builds the first editable install through uv; the next sync
rewrites METADATA and RECORD. The refreshed dist-info must be what a full rebuild gives, as
parsed core metadata, and `uv pip check` and importlib.metadata must see the new requirements.
Anything else changed (here: a new console script) means a full editable install again.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from tests.support.envcheck import dist_info_problems
from tests.support.venvs import installed, pip_check, run_uv, site_packages, uv_bin
from tests.support.wheels import record_hash
from tests.support.world import World

pytestmark = pytest.mark.slow

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "Refresh_Me"
version = "1.0"
dependencies = [{deps}]
{extras}
{scripts}
[tool.hatch.build.targets.wheel]
packages = ["refresh_me"]
"""


def write(root: Path, deps: list[str], extras: dict[str, list[str]] | None = None, scripts: str = "") -> Path:
    (root / "refresh_me").mkdir(parents=True, exist_ok=True)
    (root / "refresh_me" / "__init__.py").write_text("def main():\n    print('hi')\n")
    extra_table = ""
    if extras:
        extra_table = "[project.optional-dependencies]\n" + "".join(
            f"{name} = [{', '.join(json.dumps(r) for r in reqs)}]\n" for name, reqs in extras.items())
    (root / "pyproject.toml").write_text(PYPROJECT.format(
        deps=", ".join(json.dumps(d) for d in deps), extras=extra_table, scripts=scripts))
    return root


@pytest.fixture
def served(index):
    for name, version in (("alpha-lite", "1.0"), ("alpha-lite", "2.0"), ("beta-lite", "1.0"), ("gamma-lite", "1.0")):
        index.add_wheel(name, version)
    return index


@pytest.fixture
def world(tmp_path, served, real_wheels_index, venv_factory) -> World:
    """The CLI on a venv `target` against the served packages and the real hatchling wheels.

    `world.on(venv_factory(name))`: the same on another venv. Every run passes -v: the tests read what it says.
    """
    return World(tmp_path, served, venv_factory("target"), extra_index=real_wheels_index.url)


def site(python: Path) -> Path:
    return Path(site_packages(python)[0])


def dist_info(python: Path, name: str = "refresh-me") -> Path:
    found = [p for p in site(python).glob("*.dist-info") if canonicalize_name(p.name.split("-")[0]) == name]
    assert len(found) == 1, found
    return found[0]


def parsed(folder: Path) -> tuple[set[str], set[str], dict]:
    """Requires-Dist (as normalized requirement strings), Provides-Extra, and every other field."""
    meta = Metadata.from_email((folder / "METADATA").read_text(encoding="utf-8"), validate=False)
    requires = {str(r) for r in meta.requires_dist or []}
    extras = {str(e) for e in meta.provides_extra or []}
    others = {k: v for k, v in vars(meta).items() if k not in ("_raw", "requires_dist", "provides_extra")}
    return requires, extras, {**others, "raw": {k: v for k, v in meta._raw.items()
                                                  if k not in ("requires_dist", "provides_extra")}}


def rebuilt(tmp_path: Path, tree: Path, served, real_wheels_index, python_factory) -> Path:
    """The dist-info a full editable install of `tree` gives, in a venv of its own."""
    python = python_factory("rebuilt")
    run_uv(["pip", "install", "--python", str(python), "-e", str(tree),
            "--index-url", served.url, "--extra-index-url", real_wheels_index.url])
    return dist_info(python)


def test_a_dependency_change_rewrites_the_metadata_in_place_equal_to_a_rebuild(
        tmp_path, world, served, real_wheels_index, venv_factory):
    tree = write(tmp_path / "tree", ["alpha-lite>=1,<2"], {"fast": ["beta-lite"]})
    python = world.python
    world.run("sync", tree, "--editable", "-v")
    folder = dist_info(python)
    pth = sorted(site(python).glob("*.pth"))
    untouched = {p: p.stat().st_mtime_ns for p in [*pth, folder / "direct_url.json", folder / "WHEEL"]}

    write(tree, ["alpha-lite>=2", 'gamma-lite; python_version >= "3"'],
          {"fast": ["beta-lite"], "Slow_Mode": ['gamma-lite; sys_platform != "win32"']})
    proc = world.run("sync", tree, "--editable", "-v")

    assert "refreshed the editable install's metadata of refresh-me in place" in proc.stdout + proc.stderr
    assert {p: p.stat().st_mtime_ns for p in untouched} == untouched  # not reinstalled
    assert installed(python)["alpha-lite"] == "2.0"
    ours = parsed(dist_info(python))
    theirs = parsed(rebuilt(tmp_path, tree, served, real_wheels_index, venv_factory))
    assert ours[0] == theirs[0] and ours[1] == theirs[1]
    assert ours[2] == theirs[2]  # every other field as the backend wrote it
    ok, output = pip_check(python)
    assert ok, output
    seen = subprocess.run([str(python), "-c", "import importlib.metadata as m; print('\\n'.join(m.requires('refresh-me')))"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert any(line.startswith("alpha-lite>=2") for line in seen), seen
    assert any(line.startswith("gamma-lite") and "slow-mode" in line for line in seen), seen


def test_anything_else_changed_means_a_full_editable_install(
        tmp_path, world):
    tree = write(tmp_path / "tree", ["alpha-lite>=1,<2"])
    python = world.python
    world.run("sync", tree, "--editable", "-v")

    write(tree, ["alpha-lite>=2"], scripts='[project.scripts]\nrefresh-me = "refresh_me:main"\n')
    proc = world.run("sync", tree, "--editable", "-v")

    assert "in place" not in proc.stdout + proc.stderr
    assert (python.parent / "refresh-me").is_file()  # the new console script: only a real install makes it
    requires, _extras, _ = parsed(dist_info(python))
    assert requires == {"alpha-lite>=2"}
    ok, output = pip_check(python)
    assert ok, output


def test_a_fresh_environment_gets_the_project_from_its_kept_editable_wheel_equal_to_uv(
        tmp_path, world, served, real_wheels_index, venv_factory, incrinstall_cache, monkeypatch):
    # The Docker case: every spec change starts from a layer where the project is not installed.
    tree = write(tmp_path / "tree", ["alpha-lite>=1,<2"], {"fast": ["beta-lite"]})
    first = venv_factory("first")
    proc = world.on(first).run("sync", tree, "--editable", "-v")
    assert "editable" in proc.stdout
    kept = list((incrinstall_cache / "editables").rglob("*.whl"))
    assert len(kept) == 1, kept
    kept_stat = kept[0].stat().st_mtime_ns

    # A dependency changes; a new environment, as a rebuilt sync layer is: the kept wheel serves,
    # no backend runs (the wheel is not rebuilt), and the dist-info is what uv's own editable install gives.
    write(tree, ["alpha-lite>=2", "gamma-lite"], {"fast": ["beta-lite"]})
    second = venv_factory("second")
    # Every uv call is logged: the dependencies and the kept wheel go in one `uv pip install`.
    calls = tmp_path / "uv-calls.log"
    logging_uv = tmp_path / "logging-uv"
    logging_uv.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{uv_bin()}" "$@"\n')
    logging_uv.chmod(0o755)
    monkeypatch.setenv("INCRINSTALL_UV", str(logging_uv))
    proc = world.on(second).run("sync", tree, "--editable", "-v")
    monkeypatch.delenv("INCRINSTALL_UV")
    assert "from its kept wheel" in proc.stdout + proc.stderr
    installs = [line for line in calls.read_text().splitlines() if line.startswith("pip install")]
    assert len(installs) == 1, installs
    assert [p.stat().st_mtime_ns for p in (incrinstall_cache / "editables").rglob("*.whl")] == [kept_stat]
    ours_folder = dist_info(second)
    theirs_folder = rebuilt(tmp_path, tree, served, real_wheels_index, venv_factory)
    ours, theirs = parsed(ours_folder), parsed(theirs_folder)
    assert ours[0] == theirs[0] == {"alpha-lite>=2", "gamma-lite", 'beta-lite; extra == "fast"'}
    assert ours[1] == theirs[1] and ours[2] == theirs[2]
    assert json.loads((ours_folder / "direct_url.json").read_text()) == \
        json.loads((theirs_folder / "direct_url.json").read_text())
    assert dist_info_problems(str(site(second)), str(ours_folder)) == []
    assert {p.name: p.read_text() for p in site(second).glob("*.pth")} == \
        {p.name: p.read_text() for p in theirs_folder.parent.glob("*.pth")}
    ok, output = pip_check(second)
    assert ok, output
    # The install is editable for real: an edit of the source is seen without reinstalling.
    (tree / "refresh_me" / "__init__.py").write_text("VALUE = 42\n")
    out = subprocess.run([str(second), "-c", "import refresh_me; print(refresh_me.VALUE)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "42"
    # And the next sync in that environment sees it installed editable from this tree: nothing to do.
    proc = world.on(second).run("sync", tree, "--editable", "-v")
    assert "nothing to do" in proc.stdout, proc.stdout


HOOK_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "hooked"
version = "1.0"
dynamic = ["dependencies"]

[tool.hatch.build.targets.wheel]
packages = ["hooked"]

[tool.hatch.build.targets.wheel.hooks.custom]
path = "hatch_build.py"
"""

HOOK = """\
import json
import os
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

with open(os.environ["HOOK_RUN_LOG"], "a", encoding="utf-8") as log:
    log.write("loaded\\n")


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        build_data["dependencies"] = json.loads((Path(self.root) / "deps.json").read_text())
"""


def test_a_hook_projects_editable_install_is_the_wheel_spec_collection_built(
        tmp_path, world, venv_factory, monkeypatch):
    # The backend runs to collect the specs (hatchling runs build hooks only when it builds a
    # wheel); that wheel is the editable install: no second build, by uv or by incrinstall.
    tree = tmp_path / "tree"
    (tree / "hooked").mkdir(parents=True)
    (tree / "hooked" / "__init__.py").write_text("")
    (tree / "pyproject.toml").write_text(HOOK_PYPROJECT)
    (tree / "hatch_build.py").write_text(HOOK)
    (tree / "deps.json").write_text(json.dumps(["alpha-lite>=1,<2"]))
    log = tmp_path / "hook-runs.log"
    monkeypatch.setenv("HOOK_RUN_LOG", str(log))

    def runs() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    # How many backend processes spec collection alone starts, in a cache of its own.
    monkeypatch.setenv("INCRINSTALL_CACHE_DIR", str(tmp_path / "specs-only-cache"))
    specs_python = venv_factory("specs-only")
    world.on(specs_python).run("specs", tree, "-v")
    collecting = runs()
    assert collecting >= 1
    monkeypatch.setenv("INCRINSTALL_CACHE_DIR", str(tmp_path / "sync-cache"))

    python = world.python
    before = runs()
    proc = world.run("sync", tree, "--editable", "-v")
    assert runs() - before == collecting, "the install built the project again"
    assert "from the wheel its backend built while the specs were collected" in proc.stdout + proc.stderr
    assert installed(python) == {"alpha-lite": "1.0", "hooked": "1.0"}
    folder = dist_info(python, "hooked")
    assert json.loads((folder / "direct_url.json").read_text())["dir_info"] == {"editable": True}
    assert parsed(folder)[0] == {"alpha-lite<2,>=1"} or parsed(folder)[0] == {"alpha-lite>=1,<2"}

    # The hook's input changes: the hook runs again (it must), and that wheel is installed.
    (tree / "deps.json").write_text(json.dumps(["alpha-lite>=2", "beta-lite"]))
    before = runs()
    proc = world.run("sync", tree, "--editable", "-v")
    assert runs() - before <= collecting
    assert installed(python) == {"alpha-lite": "2.0", "beta-lite": "1.0", "hooked": "1.0"}
    ok, output = pip_check(python)
    assert ok, output


def _record_line(folder: Path, name: str) -> str:
    data = (folder / name).read_bytes()
    return f"{folder.name}/{name},{record_hash(data)},{len(data)}\n"


def test_a_refresh_killed_between_its_two_writes_is_completed_by_the_next_one(tmp_path):
    """Found by tests/slow/test_kill_trials.py: METADATA already new, RECORD still old, a temporary file left behind."""
    from incrinstall.install import editable
    from incrinstall.specs.model import ProjectMetadata

    folder = tmp_path / "refresh_me-1.0.dist-info"
    folder.mkdir()
    head = "Metadata-Version: 2.4\nName: refresh-me\nVersion: 1.0\n"
    (folder / "METADATA").write_text(head + "Requires-Dist: alpha-lite<2\n")
    (folder / "RECORD").write_text(_record_line(folder, "METADATA") + f"{folder.name}/RECORD,,\n")
    new = ProjectMetadata("refresh-me", "1.0", ("alpha-lite>=2",), (), "shape")
    # What the killed run did: METADATA replaced, then killed with RECORD's new content in a temporary file.
    (folder / "METADATA").write_text(head + "Requires-Dist: alpha-lite>=2\n")
    (folder / ".RECORD.4242.1.tmp").write_text("half")
    assert dist_info_problems(str(tmp_path), str(folder))  # RECORD's hash for METADATA is stale

    assert editable.refresh(str(folder), new)

    assert dist_info_problems(str(tmp_path), str(folder)) == []
    assert sorted(p.name for p in folder.iterdir()) == ["METADATA", "RECORD"]
    assert (folder / "METADATA").read_text() == head + "Requires-Dist: alpha-lite>=2\n"
    # Nothing left to do: a further refresh changes neither file.
    record = (folder / "RECORD").read_bytes()
    assert editable.refresh(str(folder), new)
    assert (folder / "RECORD").read_bytes() == record


def test_a_kept_wheel_is_not_reused_once_a_top_level_package_is_added(tmp_path, monkeypatch):
    # A backend that maps packages when it builds (setuptools' editable finder) would not see it.
    from incrinstall.backends import editables

    tree = write(tmp_path / "tree", ["alpha-lite"])
    key = editables.wheel_key(tree, name="refresh-me", version="1.0", shape="s", python_version="3.11.7")
    assert editables.wheel_key(tree, name="refresh-me", version="1.0", shape="s", python_version="3.11.2") == key
    (tree / "README.md").write_text("docs\n")  # a new file at the top: another tree for a finder-based backend
    assert editables.wheel_key(tree, name="refresh-me", version="1.0", shape="s", python_version="3.11.7") != key
    (tree / "README.md").unlink()
    (tree / "refresh_me" / "extra.py").write_text("")  # inside a package: the same wheel serves
    assert editables.wheel_key(tree, name="refresh-me", version="1.0", shape="s", python_version="3.11.7") == key


def test_a_hook_wheel_built_for_another_folder_with_the_same_specs_is_not_installed_here(
        tmp_path, world, monkeypatch):
    # The hook's answer is cached by content: a baseline's tree (main) and the checkout (work) with the same
    # spec files share it. Its editable wheel points at main, so the checkout's editable install must not be it.
    monkeypatch.setenv("HOOK_RUN_LOG", str(tmp_path / "hook-runs.log"))
    trees = {}
    for name in ("main", "work"):
        tree = tmp_path / name
        (tree / "hooked").mkdir(parents=True)
        (tree / "hooked" / "__init__.py").write_text(f"WHERE = {name!r}\n")
        (tree / "pyproject.toml").write_text(HOOK_PYPROJECT)
        (tree / "hatch_build.py").write_text(HOOK)
        (tree / "deps.json").write_text(json.dumps(["alpha-lite>=1,<2"]))
        trees[name] = tree
    python = world.python
    world.run("baseline", trees["main"], "-v")
    world.run("sync", trees["work"], "--editable", "-v")
    probe = subprocess.run([str(python), "-c", "import hooked; print(hooked.WHERE)"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert probe.stdout.strip() == "work", probe.stderr
