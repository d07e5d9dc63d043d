"""A tree with a lock: incrinstall installs what the lock says, as `uv sync --frozen` does, and a moved lock as its delta.

The fixtures (tests/support/locked.py) are a project and a workspace locked by the uv the tests use,
against a loopback index. Every comparison is with uv's own install of the same lock and selection
into another venv; the request log of the index shows what each sync asked for.
"""

from __future__ import annotations

import hashlib
import sys
import json
import re
import shutil
import tarfile
from pathlib import Path

import pytest
import tomlkit

from tests.support.locked import (
    fill_index, uv_lock, uv_sync_frozen, wheel_tags, write_project, write_workspace,
)
from tests.support.venvs import find_python, installed, run_uv

pytestmark = pytest.mark.slow

WRITERS = {"project": write_project, "workspace": write_workspace}
# What version 2 of each tree changes in its lock, for a target on Linux (any Python).
LOCK_DIFF = {"alpha", "newdep", "dropme"}


@pytest.fixture
def lock_index(index):
    fill_index(index)
    return index


def sync(run_cli, tree: Path, python: Path, index, *args: str, ok: bool = True):
    proc = run_cli("sync", tree, "--python", python, "--index-url", index.url, *args)
    if ok:
        assert proc.returncode == 0, f"sync exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def uv_version() -> tuple[int, ...]:
    said = run_uv(["--version"]).stdout.split()[1]
    return tuple(int(part) for part in said.split(".")[:3] if part.isdigit())


def python_for(version: str) -> str:
    found = find_python(version)
    if found is None:
        pytest.skip(f"no Python {version} on this machine (the marker split needs one below 3.12 and one above)")
    return found


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


def files_requested(index) -> list[str]:
    return [path for _method, path in index.requests]


def state_of(python: Path) -> dict:
    return tomlkit.parse((python.parent.parent / ".incrinstall" / "pylock.toml").read_text()).unwrap()


# --- the lock's selection is uv's ------------------------------------------------------------------


PROJECT_SELECTIONS = [(), ("--extra", "fast"), ("--all-extras",), ("--group", "lint"), ("--no-default-groups",),
                      ("--no-default-groups", "--group", "lint")]
WORKSPACE_SELECTIONS = [(), ("--package", "cli"), ("--package", "core"), ("--all-packages",),
                        ("--all-packages", "--extra", "fast"), ("--package", "cli", "--extra", "native"),
                        ("--group", "ci"), ("--no-default-groups",)]


@pytest.mark.parametrize(("shape", "selection"), [("project", s) for s in PROJECT_SELECTIONS]
                         + [("workspace", s) for s in WORKSPACE_SELECTIONS],
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_sync_installs_what_uv_sync_frozen_installs(tmp_path, lock_index, run_cli, venv_factory, shape, selection):
    if shape == "workspace" and "--package" in selection and "cli" in selection and uv_version() == (0, 12, 1):
        pytest.xfail("uv 0.12.1 took the root's groups for a --package without groups of its own "
                     "(astral-sh/uv#20917); 0.12.6 and 0.13 do not, and neither does incrinstall")
    tree = WRITERS[shape](tmp_path / shape)
    uv_lock(tree, lock_index)
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    lock_index.reset_log()
    proc = sync(run_cli, tree, ours, lock_index, *selection, "--json")
    assert json.loads(proc.stdout)["index_requests"] == 0
    assert all(path.startswith("/files/") for path in files_requested(lock_index))  # no index page: the lock's files
    uv_sync_frozen(tree, theirs, *selection)
    assert installed(ours) == installed(theirs)
    if "native" in installed(theirs):  # the same one of its wheels
        assert wheel_tags(ours)["native"] == wheel_tags(theirs)["native"]


@pytest.mark.parametrize("version", ["3.11", "3.12"])
@pytest.mark.parametrize("shape", ["project", "workspace"])
def test_marker_split_package_follows_the_target_interpreter(tmp_path, lock_index, run_cli, venv_factory,
                                                              version, shape):
    python = python_for(version)
    tree = WRITERS[shape](tmp_path / shape)
    uv_lock(tree, lock_index)
    ours, theirs = venv_factory("ours", python), venv_factory("theirs", python)
    sync(run_cli, tree, ours, lock_index, *(("--all-packages",) if shape == "workspace" else ()))
    uv_sync_frozen(tree, theirs, *(("--all-packages",) if shape == "workspace" else ()))
    assert installed(ours)["split"] == ("1.0" if version == "3.11" else "2.0")
    assert installed(ours) == installed(theirs)
    assert "winonly" not in installed(ours)


# --- a moved lock is synced as its delta -----------------------------------------------------------


@pytest.mark.parametrize("version", ["3.11", "3.12"])
@pytest.mark.parametrize("shape", ["project", "workspace"])
def test_moved_lock_changes_exactly_the_lock_diff(tmp_path, lock_index, run_cli, venv_factory, version, shape):
    python = python_for(version)
    selection = ("--all-packages",) if shape == "workspace" else ()
    tree = WRITERS[shape](tmp_path / shape)
    uv_lock(tree, lock_index)
    ours, uv_before = venv_factory("ours", python), venv_factory("uv-before", python)
    sync(run_cli, tree, ours, lock_index, *selection)
    uv_sync_frozen(tree, uv_before, *selection)
    before = installed(ours)
    assert before == installed(uv_before)

    WRITERS[shape](tree, version=2)  # the branch bumps alpha (which brings newdep) and drops dropme
    uv_lock(tree, lock_index)
    folders = {p.name: p.stat().st_ino for p in Path(ours.parent.parent).glob("lib/python*/site-packages/*.dist-info")}
    lock_index.reset_log()
    proc = sync(run_cli, tree, ours, lock_index, *selection, "--json")
    requested = sorted(files_requested(lock_index))
    uv_after = venv_factory("uv-after", python)
    uv_sync_frozen(tree, uv_after, *selection)

    after = installed(ours)
    assert after == installed(uv_after)
    assert changed(before, after) == changed(installed(uv_before), installed(uv_after)) == LOCK_DIFF
    # Nothing was asked of the index but the files of what the lock changed: no page, no other file.
    assert requested == ["/files/alpha-1.1-py3-none-any.whl", "/files/newdep-1.0-py3-none-any.whl"]
    assert json.loads(proc.stdout)["index_requests"] == 0
    # What the lock kept was not touched.
    now = {p.name: p.stat().st_ino for p in Path(ours.parent.parent).glob("lib/python*/site-packages/*.dist-info")}
    assert {n for n in folders if n in now and now[n] == folders[n]} == \
        {n for n in folders if not n.startswith(("alpha-", "dropme-"))}


def test_lock_file_of_the_same_version_changed_is_reinstalled(tmp_path, lock_index, run_cli, venv_factory):
    """The lock now names another wheel of native 1.0 for this target: that file is installed (uv sync keeps any)."""
    tree = write_project(tmp_path / "app")
    lock = uv_lock(tree, lock_index)
    ours = venv_factory("ours")
    sync(run_cli, tree, ours, lock_index)
    assert wheel_tags(ours)["native"] != "py3-none-any"  # the interpreter's own wheel was the best
    # Only the pure wheel left in the lock (as when a platform's wheel is withdrawn and the lock refreshed).
    text = lock.read_text()
    lock.write_text(re.sub(r'\n    \{ url = "[^"]*native-1\.0-cp3\d+-cp3\d+-manylinux[^"]*"[^\n]*', "", text))
    assert lock.read_text() != text
    lock_index.reset_log()
    plan = run_cli("plan", tree, "--python", ours, "--index-url", lock_index.url, "--frozen")
    assert re.search(r"~ reinstall +native +1\.0 .*native-1\.0-py3-none-any\.whl", plan.stdout), plan.stdout
    proc = sync(run_cli, tree, ours, lock_index, "--frozen")
    assert "~ native 1.0" in proc.stdout
    assert wheel_tags(ours)["native"] == "py3-none-any"
    assert files_requested(lock_index) == ["/files/native-1.0-py3-none-any.whl"]  # the plan asked for nothing
    recorded = {p["name"]: p for p in state_of(ours)["packages"]}
    assert recorded["native"]["wheels"][0]["url"].endswith("native-1.0-py3-none-any.whl")
    theirs = venv_factory("theirs")
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == installed(theirs) and wheel_tags(ours)["native"] == wheel_tags(theirs)["native"]


# --- freshness, as uv sync --locked / --frozen ------------------------------------------------------


def test_stale_lock_is_an_error_naming_it_and_nothing_changes(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    uv_lock(tree, lock_index)
    write_project(tree, version=2)  # the specs moved on; the lock did not
    ours = venv_factory("ours")
    for command in ("plan", "sync"):
        proc = run_cli(command, tree, "--python", ours, "--index-url", lock_index.url)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.startswith("error: uv.lock: the lock does not match the project's specs"), proc.stderr
        assert "uv lock" in proc.stderr and "--frozen" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert installed(ours) == {}


def test_frozen_installs_the_lock_as_it_is(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    uv_lock(tree, lock_index)
    write_project(tree, version=2)
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, tree, ours, lock_index, "--frozen")
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == installed(theirs)
    assert installed(ours)["alpha"] == "1.0"  # the lock's, not the specs' 1.1


def test_no_lock_resolves_the_specs_instead(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    uv_lock(tree, lock_index)
    lock_index.add_wheel("beta", "3.0")  # published after the lock was made
    ours, locked = venv_factory("ours"), venv_factory("locked")
    sync(run_cli, tree, ours, lock_index, "--no-lock")
    sync(run_cli, tree, locked, lock_index)
    assert installed(ours)["beta"] == "3.0" and installed(locked)["beta"] == "2.0"
    assert "pytesty" not in installed(ours)  # without a lock no group is installed unasked (as before)
    assert "pytesty" in installed(locked)  # with one, uv's default group (dev) is


# --- the no-op and the lock -----------------------------------------------------------------------


def test_unchanged_lock_is_a_noop_and_a_new_lock_is_not(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    ours = venv_factory("ours")
    sync(run_cli, tree, ours, lock_index)  # no lock yet: resolved, no group
    assert "pytesty" not in installed(ours)
    assert "nothing to do" in sync(run_cli, tree, ours, lock_index).stdout
    uv_lock(tree, lock_index)  # a lock appears: it is the truth now
    proc = sync(run_cli, tree, ours, lock_index)
    assert "nothing to do" not in proc.stdout
    assert "pytesty" in installed(ours)
    assert "nothing to do" in sync(run_cli, tree, ours, lock_index).stdout
    write_project(tree, version=2)
    uv_lock(tree, lock_index)  # the lock moves: no longer a no-op
    proc = sync(run_cli, tree, ours, lock_index)
    assert "nothing to do" not in proc.stdout and installed(ours)["alpha"] == "1.1"


# --- pylock.toml (PEP 751) --------------------------------------------------------------------------


def write_pylock(path: Path, index) -> Path:
    """A PEP 751 lock of the project's packages, with extras, groups and a marker split, from the served wheels."""
    def entry(name: str, version: str, marker: str | None = None, tag: str = "py3-none-any") -> str:
        filename = f"{name}-{version}-{tag}.whl"
        digest = hashlib.sha256((index.root / filename).read_bytes()).hexdigest()
        said = f'marker = "{marker}"\n' if marker else ""
        return (f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\n{said}index = "{index.url}"\n'
                f'wheels = [{{ url = "{index.file_url(filename)}", hashes = {{ sha256 = "{digest}" }} }}]\n')

    text = ('lock-version = "1.0"\ncreated-by = "tests"\nrequires-python = ">=3.10"\nextras = ["fast", "docs"]\n'
            'dependency-groups = ["dev", "lint"]\ndefault-groups = ["dev"]\n')
    text += entry("alpha", "1.0") + entry("beta", "2.0") + entry("native", "1.0")
    text += entry("split", "1.0", "python_full_version < '3.12'") + entry("split", "2.0", "python_full_version >= '3.12'")
    text += entry("winonly", "1.0", "sys_platform == 'win32'")
    text += entry("gamma", "1.0", "'fast' in extras") + entry("delta", "1.0", "'fast' in extras")
    text += entry("sphinxy", "1.0", "'docs' in extras")
    text += entry("pytesty", "8.0", "'dev' in dependency_groups") + entry("linty", "1.0", "'lint' in dependency_groups")
    path.write_text(text)
    return path


def uv_pip_install_pylock(python: Path, lock: Path, *selection: str) -> None:
    run_uv(["pip", "install", "--no-config", "--python", str(python), "-r", str(lock), *selection])


@pytest.mark.parametrize("version", ["3.11", "3.12"])
@pytest.mark.parametrize("selection", [(), ("--extra", "fast"), ("--extra", "docs", "--extra", "fast"),
                                       ("--group", "lint")], ids=lambda s: " ".join(s) or "default")
def test_pylock_installs_what_uv_installs_from_it(tmp_path, lock_index, run_cli, venv_factory, selection, version):
    python = python_for(version)
    tree = write_project(tmp_path / "app")
    lock = write_pylock(tree / "pylock.toml", lock_index)
    ours, theirs = venv_factory("ours", python), venv_factory("theirs", python)
    lock_index.reset_log()
    sync(run_cli, tree, ours, lock_index, *selection)
    assert all(path.startswith("/files/") for path in files_requested(lock_index))
    uv_pip_install_pylock(theirs, lock, *selection)
    assert installed(ours) == installed(theirs)
    assert installed(ours)["split"] == ("1.0" if version == "3.11" else "2.0")
    assert state_of(ours)["tool"]["incrinstall"]["lock"] == {
        "file": "pylock.toml", "format": "pylock.toml", "sha256": hashlib.sha256(lock.read_bytes()).hexdigest()}


def test_lock_option_names_a_pylock_elsewhere(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    uv_lock(tree, lock_index)  # the root's uv.lock is not the one asked for
    lock = write_pylock(tmp_path / "pylock.ci.toml", lock_index)
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, tree, ours, lock_index, "--lock", lock, "--extra", "docs")
    uv_pip_install_pylock(theirs, lock, "--extra", "docs")
    assert installed(ours) == installed(theirs)
    assert "sphinxy" in installed(ours)
    bad = run_cli("sync", tree, "--python", ours, "--lock", tree / "uv.lock")
    assert bad.returncode == 2 and "--lock names a PEP 751 lock file" in bad.stderr


# --- baseline from an archive that holds a lock; the recipe keeps it ---------------------------------


def tarball(tree: Path, path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        tf.add(tree, arcname="app-main")
    return path


def test_baseline_installs_the_lock_and_a_sync_of_the_moved_lock_is_its_delta(tmp_path, lock_index, run_cli,
                                                                               venv_factory):
    main = write_project(tmp_path / "main")
    main_lock = uv_lock(main, lock_index)
    work = tmp_path / "work"
    shutil.copytree(main, work)
    write_project(work, version=2)
    uv_lock(work, lock_index)
    ours, uv_main = venv_factory("ours"), venv_factory("uv-main")
    proc = run_cli("baseline", tarball(main, tmp_path / "main.tar.gz"), "--python", ours, "--index-url", lock_index.url,
                   "--extra", "fast")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    uv_sync_frozen(main, uv_main, "--extra", "fast")
    assert installed(ours) == installed(uv_main)
    own = state_of(ours)["tool"]["incrinstall"]
    digest = hashlib.sha256(main_lock.read_bytes()).hexdigest()
    assert own["baseline"]["lock-sha256"] == digest and own["lock"]["sha256"] == digest

    lock_index.reset_log()
    sync(run_cli, work, ours, lock_index, "--extra", "fast")
    uv_work = venv_factory("uv-work")
    uv_sync_frozen(work, uv_work, "--extra", "fast")
    assert installed(ours) == installed(uv_work)
    assert changed(installed(uv_main), installed(ours)) == LOCK_DIFF
    assert all(path.startswith("/files/") for path in files_requested(lock_index))


def test_recipe_keeps_the_lock_and_syncs_the_same(tmp_path, lock_index, run_cli, venv_factory):
    tree = write_project(tmp_path / "app")
    uv_lock(tree, lock_index)
    out = tmp_path / "recipe"
    proc = run_cli("recipe", tree, "--out", out, "--no-editable", "--json")  # the sync below is not --editable
    assert proc.returncode == 0, proc.stderr
    assert "uv.lock" in json.loads(proc.stdout)["files"]
    assert (out / "uv.lock").read_bytes() == (tree / "uv.lock").read_bytes()
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, out, ours, lock_index)
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == installed(theirs)
    no_lock = run_cli("recipe", tree, "--out", tmp_path / "recipe2", "--no-lock", "--no-editable", "--json")
    assert "uv.lock" not in json.loads(no_lock.stdout)["files"]


# --- the project itself, editable, beside the lock's packages -----------------------------------------------


def test_editable_project_rides_along_and_follows_the_moved_lock(tmp_path, lock_index, real_wheels_index, run_cli,
                                                                  venv_factory):
    """--editable installs the tree's own project as before (built by hatchling, served by a second index)."""
    tree = write_project(tmp_path / "app")
    text = (tree / "pyproject.toml").read_text()
    (tree / "pyproject.toml").write_text(text + '\n[build-system]\nrequires = ["hatchling"]\n'
                                                'build-backend = "hatchling.build"\n')
    (tree / "app").mkdir()
    (tree / "app" / "__init__.py").write_text("")
    uv_lock(tree, lock_index)
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    extra = ("--extra-index-url", real_wheels_index.url, "--editable")
    proc = sync(run_cli, tree, ours, lock_index, *extra)
    assert "+ app (editable" in proc.stdout
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == {**installed(theirs), "app": "0.1"}
    write_project(tree, version=2)
    (tree / "pyproject.toml").write_text((tree / "pyproject.toml").read_text() + '\n[build-system]\nrequires = '
                                         '["hatchling"]\nbuild-backend = "hatchling.build"\n')
    uv_lock(tree, lock_index)
    sync(run_cli, tree, ours, lock_index, *extra)
    theirs = venv_factory("theirs-2")
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == {**installed(theirs), "app": "0.1"}
    metadata = next(Path(ours.parent.parent).glob("lib/python*/site-packages/app-0.1.dist-info")) / "METADATA"
    assert "Requires-Dist: alpha==1.1" in metadata.read_text()  # the project's own metadata followed its specs


# --- sources other than the index ---------------------------------------------------------------------------


def test_path_url_and_find_links_sources_install_what_uv_sync_installs(tmp_path, lock_index, run_cli, venv_factory):
    """A wheel in the tree (`path`), one named by URL (`url`), and one from a local folder of wheels (find-links)."""
    from tests.support import wheels

    tree = tmp_path / "app"
    (tree / "vendor").mkdir(parents=True)
    wheels.build_wheel(tree / "vendor", "vendored", "1.0", requires_dist=["beta"])
    links = tmp_path / "links"
    wheels.build_wheel(links, "linked", "3.0")
    url = lock_index.file_url("linty-1.0-py3-none-any.whl")
    (tree / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.10"\n'
        'dependencies = ["vendored", "linty", "linked"]\n\n'
        '[tool.uv.sources]\nvendored = { path = "vendor/vendored-1.0-py3-none-any.whl" }\n'
        f'linty = {{ url = "{url}" }}\n')
    run_uv(["lock", "--index-url", lock_index.url, "--find-links", str(links), "--python", sys.executable], cwd=tree)
    text = (tree / "uv.lock").read_text()
    assert 'source = { path = "vendor/' in text and "source = { url = " in text and f'registry = "{links}' in text \
        or 'registry = "../links"' in text, text
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, tree, ours, lock_index, "--find-links", links)
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == installed(theirs) == {"vendored": "1.0", "beta": "2.0", "linty": "1.0", "linked": "3.0"}
    # uv records no hash for a find-links wheel: it is installed from its file all the same, no index needed.
    frozen = venv_factory("frozen")
    sync(run_cli, tree, frozen, lock_index, "--frozen")
    assert installed(frozen) == installed(theirs)


# --- a requirements file of pins is not a lock ---------------------------------------------------------------


def test_pinned_requirements_with_hashes_work_as_before_and_are_refused_beside_a_lock(tmp_path, lock_index, run_cli,
                                                                                       venv_factory):
    """pip-compile's output (`==` pins, `--hash` lines) given with -r is resolved as before; a lock would ignore it."""
    tree = tmp_path / "app"
    tree.mkdir()
    (tree / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1"\ndependencies = []\n')
    (tree / "requirements.in").write_text("alpha==1.0\ngamma[speed]\n")
    run_uv(["pip", "compile", "--no-config", "requirements.in", "--generate-hashes", "--index-url", lock_index.url,
            "-o", "requirements.txt", "--python", sys.executable], cwd=tree)
    assert "--hash=sha256:" in (tree / "requirements.txt").read_text()
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, tree, ours, lock_index, "-r", tree / "requirements.txt")
    run_uv(["pip", "install", "--no-config", "--python", str(theirs), "-r", str(tree / "requirements.txt"),
            "--index-url", lock_index.url])
    assert installed(ours) == installed(theirs) == {"alpha": "1.0", "beta": "2.0", "gamma": "1.0", "delta": "1.0"}
    uv_lock(tree, lock_index)
    refused = run_cli("sync", tree, "--python", ours, "--index-url", lock_index.url, "-r", tree / "requirements.txt")
    assert refused.returncode == 2 and refused.stderr.startswith("error: -r: ") and "--no-lock" in refused.stderr
    sync(run_cli, tree, ours, lock_index, "-r", tree / "requirements.txt", "--no-lock")
    assert installed(ours) == installed(theirs)


def test_project_settings_only_a_resolver_needs_are_uvs_business_with_a_lock(tmp_path, lock_index, run_cli,
                                                                            venv_factory):
    """[tool.uv] override-dependencies went into the lock: with it, nothing is refused; without it, refused as before."""
    tree = write_project(tmp_path / "app")
    text = (tree / "pyproject.toml").read_text()
    (tree / "pyproject.toml").write_text(text + '\n[tool.uv]\noverride-dependencies = ["beta==1.0"]\n')
    uv_lock(tree, lock_index)
    ours, theirs = venv_factory("ours"), venv_factory("theirs")
    sync(run_cli, tree, ours, lock_index)
    uv_sync_frozen(tree, theirs)
    assert installed(ours) == installed(theirs) and installed(ours)["beta"] == "1.0"
    refused = run_cli("plan", tree, "--python", ours, "--index-url", lock_index.url, "--no-lock")
    line = (tree / "pyproject.toml").read_text().splitlines().index('override-dependencies = ["beta==1.0"]') + 1
    assert refused.returncode == 2 and f"pyproject.toml:{line}: [tool.uv] override-dependencies" in refused.stderr
