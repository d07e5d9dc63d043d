"""incrinstall.backends (backend, hooks, build_env) and incrinstall.specs.backend_metadata: backend hooks in isolated build
envs, hook results cached by the files read."""

from __future__ import annotations

import glob
import os
import shutil
import sys
import tarfile
import textwrap
import time
from email.parser import HeaderParser
from pathlib import Path

import pytest

import incrinstall.backends.backend as build
from incrinstall.backends import build_env as envs
from incrinstall.backends import hooks
from incrinstall.common.errors import HookError, SpecError
from incrinstall.common.config import IndexConfig
from incrinstall.common.uv import REAL_UV, failure
from incrinstall.specs.backend_metadata import HookResult, parse_metadata, run_hook
from tests.support.cli import imported_after
from tests.support.venvs import site_packages, uv_pip_install
from tests.support.paths import AIRFLOW_LIKE

FIXTURE = AIRFLOW_LIKE
MARKERS = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}", "sys_platform": sys.platform}


@pytest.fixture
def airflow_tree(tmp_path: Path, monkeypatch) -> Path:
    tree = tmp_path / "airflow-like"
    shutil.copytree(FIXTURE, tree)
    # Every backend process that loads the hook says so: the tests count those lines (HOOK_LOG).
    monkeypatch.setenv("HOOK_RUN_LOG", str(tmp_path / "hook-runs.log"))
    hook = tree / "hatch_build.py"
    hook.write_text(hook.read_text() + HOOK_LOG)
    return tree


HOOK_LOG = """
import os as _os

if _os.environ.get("HOOK_RUN_LOG"):
    with open(_os.environ["HOOK_RUN_LOG"], "a", encoding="utf-8") as _log:
        _log.write("loaded\\n")
"""


def hook_runs(tree: Path) -> int:
    """How many backend processes have loaded the tree's hatch_build.py so far."""
    log = tree.parent / "hook-runs.log"
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


@pytest.fixture
def build_index(real_wheels_index, monkeypatch):
    """uv's default index (what build envs use when no IndexConfig is given) = the loopback real-wheels index."""
    monkeypatch.setenv("UV_INDEX_URL", real_wheels_index.url)
    return real_wheels_index


def material(tree: Path) -> str:
    """What the specs collector hands run_hook: pyproject.toml + hatch_build.py content (+ markers)."""
    return (tree / "pyproject.toml").read_text() + "\0" + (tree / "hatch_build.py").read_text()


def uv_editable_metadata(tree: Path, venv_factory, index_url: str) -> str:
    """METADATA of the project installed editable by uv's own PEP 660 frontend (independent of incrinstall)."""
    python = venv_factory()
    uv_pip_install(python, "--no-deps", "-e", str(tree), index_url=index_url)
    [meta] = [m for sp in site_packages(python) for m in glob.glob(os.path.join(sp, "apache_airflow_lite-*.dist-info",
                                                                                  "METADATA"))]
    return Path(meta).read_text(encoding="utf-8")


def tiny_backend_project(root: Path, *, with_prepare: bool = True) -> Path:
    """A project with an in-tree PEP 517 backend (backend-path) that needs nothing installed.

    Its build reads data/deps.txt; it also writes a scratch file and reads a file outside the tree.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = []
        build-backend = "tinybackend"
        backend-path = ["_backend"]

        [project]
        name = "tiny"
        version = "1.0"
        dynamic = ["dependencies"]
        """))
    (root / "data").mkdir()
    (root / "data" / "deps.txt").write_text("alpha>=1\nbeta; extra == 'x'\n")
    (root / "unrelated.txt").write_text("nobody reads me\n")
    (root / "_backend").mkdir()
    prepare = textwrap.dedent("""\
        def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
            d = os.path.join(metadata_directory, "tiny-1.0.dist-info")
            os.makedirs(d)
            with open(os.path.join(d, "METADATA"), "w") as f:
                f.write(_metadata())
            return "tiny-1.0.dist-info"
        """) if with_prepare else ""
    (root / "_backend" / "tinybackend.py").write_text(textwrap.dedent("""\
        import os, sys, zipfile

        def _metadata():
            with open(os.path.join("data", "deps.txt")) as f:
                deps = [line.strip() for line in f if line.strip()]
            with open("scratch.txt", "w") as f:  # opened for writing: never a spec file
                f.write("x")
            open(sys.executable, "rb").close()  # outside the tree: never recorded
            lines = ["Metadata-Version: 2.1", "Name: tiny", "Version: 1.0", "Provides-Extra: x"]
            return "\\n".join(lines + ["Requires-Dist: " + d for d in deps]) + "\\n"

        def _wheel(wheel_directory, name):
            path = os.path.join(wheel_directory, name)
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("tiny-1.0.dist-info/METADATA", _metadata())
            return name

        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            return _wheel(wheel_directory, "tiny-1.0-py3-none-any.whl")

        def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
            print("building tiny editable")
            return _wheel(wheel_directory, "tiny-1.0-0.editable-py3-none-any.whl")
        """) + prepare)
    return root


# -- run_backend_hook, without any build env ----------------------------------------------------------------------


def test_hook_records_only_files_read_under_the_tree(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    out = tmp_path / "out"
    out.mkdir()
    run = hooks.run_backend_hook(tree, "build_editable", env_python=sys.executable, backend="tinybackend",
                                 backend_path=["_backend"], args=[str(out)], record_files=True)
    assert run.result == "tiny-1.0-0.editable-py3-none-any.whl"
    assert (out / run.result).is_file()
    assert "building tiny editable" in run.output
    # the backend module itself (imported from the tree), and the data file it read; not scratch.txt
    # (written), not the interpreter (outside), not unrelated.txt (never opened), no bytecode.
    assert run.opened_files == ["_backend/tinybackend.py", "data/deps.txt"]
    assert not list(tree.rglob("__pycache__")), "the hook runner must not write bytecode into the tree"


def test_bytecode_read_from_the_tree_is_recorded_as_its_source(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    import py_compile

    src = tree / "_backend" / "tinybackend.py"
    py_compile.compile(str(src), cfile=str(tree / "_backend" / "__pycache__" /
                                           f"tinybackend.{sys.implementation.cache_tag}.pyc"), doraise=True)
    run = hooks.run_backend_hook(tree, "build_wheel", env_python=sys.executable, backend="tinybackend",
                                 backend_path=["_backend"], args=[str(tmp_path)], record_files=True)
    assert run.opened_files == ["_backend/tinybackend.py", "data/deps.txt"]


def test_missing_optional_hook_is_reported_as_not_provided(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny", with_prepare=False)
    with pytest.raises(hooks.HookNotProvided):
        hooks.run_backend_hook(tree, "prepare_metadata_for_build_wheel", env_python=sys.executable,
                               backend="tinybackend", backend_path=["_backend"], args=[str(tmp_path)])


def test_backend_failure_names_the_tree_file_and_line_with_output_tail(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    backend = tree / "_backend" / "tinybackend.py"
    backend.write_text(backend.read_text() + textwrap.dedent("""\

        def build_sdist(sdist_directory, config_settings=None):
            for i in range(100):
                print(f"progress line {i}")
            raise RuntimeError("cannot find the frobnicator")
        """))
    raise_line = backend.read_text().splitlines().index('    raise RuntimeError("cannot find the frobnicator")') + 1
    with pytest.raises(HookError) as err:
        hooks.run_backend_hook(tree, "build_sdist", env_python=sys.executable, backend="tinybackend",
                               backend_path=["_backend"], args=[str(tmp_path)])
    e = err.value
    assert e.where == f"_backend/tinybackend.py:{raise_line}"
    assert "cannot find the frobnicator" in e.message
    assert "RuntimeError: cannot find the frobnicator" in e.detail
    assert len(e.detail.splitlines()) <= hooks.OUTPUT_TAIL_LINES
    assert "progress line 99" in e.detail and "progress line 10\n" not in e.detail


def test_unimportable_backend_is_a_hook_error_naming_pyproject(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    with pytest.raises(HookError) as err:
        hooks.run_backend_hook(tree, "build_wheel", env_python=sys.executable, backend="no_such_backend_xyz",
                               args=[str(tmp_path)])
    assert err.value.where == "pyproject.toml"
    assert "cannot import the build backend no_such_backend_xyz" in err.value.message
    assert "No module named 'no_such_backend_xyz'" in err.value.message


def test_backend_that_cannot_build_an_sdist_is_reported_as_not_provided(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    backend = tree / "_backend" / "tinybackend.py"
    backend.write_text(backend.read_text() + textwrap.dedent("""\

        class UnsupportedOperation(Exception):
            pass

        def build_sdist(sdist_directory, config_settings=None):
            raise UnsupportedOperation("wheels only")
        """))
    with pytest.raises(hooks.HookNotProvided) as err:
        hooks.run_backend_hook(tree, "build_sdist", env_python=sys.executable, backend="tinybackend",
                               backend_path=["_backend"], args=[str(tmp_path)])
    assert err.value.where == "pyproject.toml" and "build_sdist" in err.value.message


@pytest.mark.parametrize("entry", ["../elsewhere", "/abs/backend"], ids=["outside", "absolute"])
def test_backend_path_outside_the_tree_is_refused_naming_pyproject(tmp_path, incrinstall_cache, entry):
    tree = tiny_backend_project(tmp_path / "tiny")
    (tmp_path / "elsewhere").mkdir()
    shutil.move(tree / "_backend" / "tinybackend.py", tmp_path / "elsewhere" / "tinybackend.py")
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('backend-path = ["_backend"]', f'backend-path = ["{entry}"]'))
    with pytest.raises(SpecError) as err:
        build.editable_metadata(tree, python=sys.executable, index=None)
    assert err.value.where == "pyproject.toml"
    assert "[build-system].backend-path" in err.value.message and entry in err.value.message
    assert not (incrinstall_cache / "build-envs").exists(), "refused before any build environment is made"


def test_backend_path_must_be_a_list_of_strings(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('backend-path = ["_backend"]', 'backend-path = "_backend"'))
    with pytest.raises(SpecError) as err:
        build.read_build_system(tree, legacy_ok=False)
    assert err.value.where == "pyproject.toml" and "backend-path" in err.value.message


def test_build_env_scripts_come_first_on_path_inside_a_hook(tmp_path, monkeypatch):
    # As pypa/build does: a hook that runs `python` or a tool from its requires gets the build env's.
    tree = tiny_backend_project(tmp_path / "tiny")
    backend = tree / "_backend" / "tinybackend.py"
    backend.write_text(backend.read_text().replace(
        'def build_editable(wheel_directory, config_settings=None, metadata_directory=None):\n',
        'def build_editable(wheel_directory, config_settings=None, metadata_directory=None):\n'
        '    with open(os.environ["HOOK_PATH_OUT"], "w") as f:\n'
        '        f.write(os.environ["PATH"])\n'))
    seen = tmp_path / "path.txt"
    monkeypatch.setenv("HOOK_PATH_OUT", str(seen))
    build.editable_metadata(tree, python=sys.executable, index=None, build=True)
    env = envs.build_env([], python=sys.executable, index=None)
    entries = seen.read_text().split(os.pathsep)
    assert entries[0] == str(envs.env_python(env).parent)
    assert entries[1:] == os.environ["PATH"].split(os.pathsep), "the rest of PATH is kept, in order"


def test_importing_the_build_stage_does_not_import_pyproject_hooks():
    # Its import cost belongs to hook runs only: a cached hook result must not pay for it.
    loaded = imported_after("incrinstall.backends.backend", "incrinstall.backends.hooks",
                            "incrinstall.specs.backend_metadata")
    assert "incrinstall.specs.backend_metadata" in loaded and "pyproject_hooks" not in loaded


# -- build environments ---------------------------------------------------------------------------------------------


class RecordingUv:
    """A UvRunner that records every call and hands it to `then` (the real uv, or a refusal)."""

    def __init__(self, then=None):
        self.calls: list[list[str]] = []
        self.then = then

    def run(self, args, *, cwd=None, env=None, what="uv"):
        self.calls.append(list(args))
        if self.then is None:
            raise AssertionError(f"uv must not run here: {args}")
        return self.then.run(args, cwd=cwd, env=env, what=what)


def test_build_env_without_requires_is_a_plain_venv_and_is_reused(tmp_path, incrinstall_cache):
    env = envs.build_env([], python=sys.executable, index=None)
    assert env.parent == incrinstall_cache / "build-envs"
    assert (env / envs.COMPLETE_MARKER).is_file()
    assert envs.env_python(env).exists()

    no_uv = RecordingUv()
    assert envs.build_env([], python=sys.executable, index=None, uv=no_uv) == env
    assert no_uv.calls == [], "a complete build env runs no uv"
    assert [p.name for p in env.parent.iterdir()] == [env.name], "no temp folders left behind"


def test_build_env_with_requires_is_reused_until_requires_change(build_index, incrinstall_cache):
    env = envs.build_env(["hatchling"], python=sys.executable, index=None)
    assert list((env / "lib").glob("python*/site-packages/hatchling/__init__.py"))
    requests = build_index.count()
    made = sorted(p.name for p in (incrinstall_cache / "build-envs").iterdir())

    uv = RecordingUv(then=REAL_UV)
    assert envs.build_env(["hatchling"], python=sys.executable, index=None, uv=uv) == env
    assert uv.calls == [] and build_index.count() == requests
    assert sorted(p.name for p in (incrinstall_cache / "build-envs").iterdir()) == made

    other = envs.build_env(["hatchling", "editables"], python=sys.executable, index=None, uv=uv)
    assert other != env and [args[:2] for args in uv.calls] == [["venv", "--quiet"], ["pip", "install"]], \
        "different requires make a different env, through the runner it was given"


def test_a_uv_failure_making_a_build_env_is_a_hook_error_with_uvs_words(incrinstall_cache):
    said = "error: No interpreter found for Python 3.99 in virtual environments\n"

    class FailingUv:
        def run(self, args, *, cwd=None, env=None, what="uv"):
            raise failure(what, 2, ["uv", *args], said)

    with pytest.raises(HookError) as err:
        envs.build_env(["anything"], python=sys.executable, index=None, uv=FailingUv())
    assert err.value.where == "pyproject.toml" and "anything" in err.value.message
    assert err.value.detail == said.strip()
    assert not [p for p in (incrinstall_cache / "build-envs").iterdir()], "nothing half-made is kept"


def test_build_env_failure_is_a_hook_error_naming_pyproject(build_index, incrinstall_cache):
    with pytest.raises(HookError) as err:
        envs.build_env(["no-such-backend-xyz"], python=sys.executable, index=IndexConfig(index_url=build_index.url))
    assert err.value.where == "pyproject.toml"
    assert "no-such-backend-xyz" in err.value.message + (err.value.detail or "")
    assert not [p for p in (incrinstall_cache / "build-envs").iterdir()], "nothing half-made is kept"


# -- editable / sdist metadata ------------------------------------------------------------------------------------------


def test_editable_metadata_with_in_tree_backend(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    answer = build.editable_metadata(tree, python=sys.executable, index=None)
    assert parse_metadata(answer.text) == (["alpha>=1", "beta; extra == 'x'"], ["x"])
    assert answer.hook == "prepare_metadata_for_build_wheel"  # it has no prepare_metadata_for_build_editable
    assert "data/deps.txt" in answer.opened_files and "unrelated.txt" not in answer.opened_files
    assert "_backend" in answer.listed_dirs  # importing the backend from backend-path lists its folder


def test_editable_metadata_without_a_metadata_hook_builds(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny", with_prepare=False)
    kept = tmp_path / "kept"
    answer = build.editable_metadata(tree, python=sys.executable, index=None, keep_wheel=kept)
    assert answer.hook == "build_editable"
    assert parse_metadata(answer.text) == (["alpha>=1", "beta; extra == 'x'"], ["x"])
    assert [p.name for p in kept.iterdir()] == ["tiny-1.0-0.editable-py3-none-any.whl"]


def test_a_hook_that_lists_a_folder_or_runs_git_says_so(tmp_path):
    tree = tiny_backend_project(tmp_path / "tiny")
    backend = tree / "_backend" / "tinybackend.py"
    backend.write_text(backend.read_text().replace(
        "def _metadata():\n",
        "def _metadata():\n"
        "    import glob, subprocess\n"
        "    os.path.exists('PKG-INFO')\n"
        "    glob.glob('conf/*.txt')\n"
        "    os.listdir('data')\n"
        "    subprocess.run(['git', '--version'], capture_output=True)\n"))
    out = tmp_path / "out"
    out.mkdir()
    run = hooks.run_backend_hook(tree, "prepare_metadata_for_build_wheel", env_python=sys.executable,
                                 backend="tinybackend", backend_path=["_backend"], args=[str(out)], record_files=True)
    # conf/ does not exist: a probe of a missing folder counts too. os.path.exists is no audit event.
    assert {"conf", "data", "_backend"} <= set(run.listed_dirs)
    assert run.vcs == ["git"]


def _sdist(tree: Path, dest: Path) -> Path:
    path = dest / "tiny-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(tree, arcname="tiny-1.0")
    return path


@pytest.mark.parametrize("with_prepare", [True, False], ids=["prepare_metadata", "build_wheel_fallback"])
def test_sdist_metadata(tmp_path, with_prepare):
    sdist = _sdist(tiny_backend_project(tmp_path / "tiny", with_prepare=with_prepare), tmp_path)
    text = build.sdist_metadata(sdist, python=sys.executable, index=None)
    assert HeaderParser().parsestr(text).get_all("Requires-Dist") == ["alpha>=1", "beta; extra == 'x'"]


# -- run_hook on the Airflow-like tree with real hatchling --------------------------------------------------------------


@pytest.mark.inconsistent_env_ok("installs the tree editable with --no-deps only to read the METADATA uv writes; "
                                 "its dependencies are absent on purpose")
@pytest.mark.slow
def test_hook_result_equals_metadata_of_real_editable_install(airflow_tree, build_index, venv_factory):
    result = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    real = uv_editable_metadata(airflow_tree, venv_factory, build_index.url)
    requires, extras = parse_metadata(real)
    assert sorted(result.requires_dist) == sorted(requires)
    assert sorted(result.provides_extra) == sorted(extras)
    # the hook's output is really there (it is not in pyproject.toml): a provider dep from the generated JSON
    assert "aws-sdk-lite>=1.2; extra == 'amazon'" in result.requires_dist
    assert "sqlparse-lite>=0.4.2" in result.requires_dist  # pre-installed provider -> core dependency
    assert not any("oldcloud" in r for r in result.requires_dist)  # suspended provider
    assert result.files == ["airflow/__init__.py", "generated/provider_dependencies.json", "hatch_build.py",
                            "pyproject.toml"]
    assert result.metadata_file == "hatch_build.py"
    assert Path(result.metadata_path).read_text() == build.editable_metadata(
        airflow_tree, python=sys.executable, index=None, build=True).text


@pytest.mark.slow
def test_warm_cache_runs_nothing(airflow_tree, build_index, monkeypatch, incrinstall_cache):
    first = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    runs, requests = hook_runs(airflow_tree), build_index.count()
    envs = sorted(p.name for p in (incrinstall_cache / "build-envs").iterdir())

    import subprocess

    def no_subprocess(*a, **k):
        raise AssertionError("a warm cache must not start any process")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    monkeypatch.setattr(subprocess, "Popen", no_subprocess)
    start = time.perf_counter()
    second = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    elapsed = time.perf_counter() - start
    assert second == first
    assert hook_runs(airflow_tree) == runs and build_index.count() == requests
    assert sorted(p.name for p in (incrinstall_cache / "build-envs").iterdir()) == envs
    assert elapsed < 0.3


@pytest.mark.slow
def test_changing_a_file_the_hook_read_reruns_it(airflow_tree, build_index):
    run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    runs = hook_runs(airflow_tree)
    deps = airflow_tree / "generated" / "provider_dependencies.json"
    deps.write_text(deps.read_text().replace('"s3-transfer-lite"', '"s3-transfer-lite", "retry-lite>=2"'))
    result = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    assert hook_runs(airflow_tree) > runs
    assert "retry-lite>=2; extra == 'amazon'" in result.requires_dist

    # Back to the old content: the result for that content is still cached.
    runs = hook_runs(airflow_tree)
    deps.write_text(deps.read_text().replace(', "retry-lite>=2"', ""))
    again = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    assert hook_runs(airflow_tree) == runs
    assert not any(r.startswith("retry-lite") for r in again.requires_dist)


@pytest.mark.slow
def test_changing_an_unrelated_source_file_does_not_rerun(airflow_tree, build_index):
    first = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    runs = hook_runs(airflow_tree)
    (airflow_tree / "airflow" / "models.py").write_text("def answer():\n    return 43\n")  # never read
    (airflow_tree / "providers" / "amazon" / "hooks.py").write_text("X = 1\n")  # a folder it never looked at
    assert run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True) == first
    assert hook_runs(airflow_tree) == runs
    # A new name beside a file it read may be one it probed (os.path.exists is no audit event): it runs again.
    (airflow_tree / "airflow" / "new_module.py").write_text("X = 1\n")
    run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    assert hook_runs(airflow_tree) > runs


@pytest.mark.slow
def test_other_markers_or_material_miss_the_cache(airflow_tree, build_index):
    run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    runs = hook_runs(airflow_tree)
    run_hook(airflow_tree, {**MARKERS, "sys_platform": "other"}, material(airflow_tree), build=True)
    assert hook_runs(airflow_tree) > runs


@pytest.mark.slow
def test_failing_hook_gives_hook_error_with_its_output(airflow_tree, build_index):
    hook = airflow_tree / "hatch_build.py"
    text = hook.read_text().replace(
        "        editable = version == \"editable\"\n",
        "        editable = version == \"editable\"\n"
        "        print('computing provider extras')\n"
        "        raise ValueError('provider amazon has no deps')\n",
    )
    hook.write_text(text)
    line = text.splitlines().index("        raise ValueError('provider amazon has no deps')") + 1
    with pytest.raises(HookError) as err:
        run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    assert err.value.where == f"hatch_build.py:{line}"
    assert "provider amazon has no deps" in err.value.message
    assert "computing provider extras" in err.value.detail
    assert "ValueError: provider amazon has no deps" in err.value.detail


@pytest.mark.slow
def test_hook_result_survives_a_fresh_process_view_of_the_cache(airflow_tree, build_index):
    """The cache lives on disk: a HookResult read back equals the one computed."""
    first = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    from incrinstall.specs import backend_metadata as hatch

    again = hatch._load_cached(hatch._material_id(material(airflow_tree), MARKERS), airflow_tree.resolve())
    assert isinstance(again, HookResult) and again == first


def _other_python() -> tuple[str, str] | None:
    from tests.support.venvs import find_python

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    for version in ("3.12", "3.11", "3.13", "3.10"):
        if version != here:
            exe = find_python(version)
            if exe and not os.path.realpath(exe).startswith(os.path.realpath(sys.prefix)):
                return version, exe
    return None


@pytest.mark.slow
def test_hook_runs_under_the_target_interpreter(airflow_tree, build_index):
    """Airflow's hook drops providers excluded for the running Python: the target's version must decide."""
    other = _other_python()
    if other is None:
        pytest.skip("needs a second Python version (3.10-3.13) on this machine")
    version, exe = other
    deps = airflow_tree / "generated" / "provider_dependencies.json"
    deps.write_text(deps.read_text().replace('"3.8"', f'"{version}"'))

    there = run_hook(airflow_tree, {**MARKERS, "python_version": version}, material(airflow_tree), python=exe, build=True)
    here = run_hook(airflow_tree, MARKERS, material(airflow_tree), build=True)
    assert "google" not in there.provides_extra
    assert "google" in here.provides_extra


def test_get_requires_answer_is_kept_until_a_file_it_read_changes(tmp_path, incrinstall_cache):
    # A backend whose get_requires_for_build_editable reads a file and logs every call.
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = []
        build-backend = "logged"
        backend-path = ["_backend"]

        [project]
        name = "logged"
        version = "1.0"
        """))
    (root / "extra-requires.txt").write_text("")
    (root / "_backend").mkdir()
    log = tmp_path / "calls.log"
    (root / "_backend" / "logged.py").write_text(textwrap.dedent(f"""\
        def get_requires_for_build_editable(config_settings=None):
            with open({str(log)!r}, "a") as f:
                f.write("get_requires\\n")
            with open("extra-requires.txt") as f:
                return [line.strip() for line in f if line.strip() and not line.startswith("#")]
        """))

    def calls() -> int:
        return len(log.read_text().splitlines()) if log.exists() else 0

    system = build.read_build_system(root, legacy_ok=False)
    env = build.prepared_env(root.resolve(), system, "get_requires_for_build_editable", python=sys.executable,
                             index=None)
    assert calls() == 1
    assert build.prepared_env(root.resolve(), system, "get_requires_for_build_editable", python=sys.executable,
                              index=None) == env
    assert calls() == 1  # answered from the kept answer: no backend process
    (root / "extra-requires.txt").write_text("# still nothing\n")  # a file the hook read changed
    build.prepared_env(root.resolve(), system, "get_requires_for_build_editable", python=sys.executable, index=None)
    assert calls() == 2
    # pyproject.toml counts by its shape: a dependency bump keeps the answer, a version change does not.
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text + 'dependencies = ["alpha>=2"]\n')
    build.prepared_env(root.resolve(), system, "get_requires_for_build_editable", python=sys.executable, index=None)
    assert calls() == 2
    (root / "pyproject.toml").write_text(text.replace('version = "1.0"', 'version = "1.1"'))
    build.prepared_env(root.resolve(), system, "get_requires_for_build_editable", python=sys.executable, index=None)
    assert calls() == 3
