"""`incrinstall recipe`: exactly the spec files, deterministic, and a sync on it equals a sync on the tree."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from incrinstall import recipe
from incrinstall.specs.model import Selection, SpecSet
from tests.support.recipe_shapes import HOOKED, listing
from tests.support.venvs import installed
from tests.support.paths import REPO_ROOT

AIRFLOW_LIKE = REPO_ROOT / "tests" / "data" / "airflow_like"
DEMO = REPO_ROOT / "examples" / "demo-project"


def test_select_dedupes_paths_and_leaves_license_and_vcs_files_out(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    for rel in ("hatch_build.py", "LICENSE", "NOTICE.txt", "3rd-party-licenses/LICENSE-x.txt", ".gitignore",
                "generated/deps.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    specset = SpecSet(project_dir=str(tmp_path), project_name="p", requirements=[], constraints=[],
                      files=["./hatch_build.py", "hatch_build.py", "pyproject.toml", "LICENSE", "NOTICE.txt",
                             "3rd-party-licenses/LICENSE-x.txt", ".gitignore", "generated/deps.json",
                             "https://example.invalid/constraints.txt"],
                      fingerprint="", selection=Selection())
    chosen = recipe.select(specset, tmp_path)
    assert chosen.files == ["generated/deps.json", "hatch_build.py", "pyproject.toml"]
    assert chosen.excluded == [".gitignore", "3rd-party-licenses/LICENSE-x.txt", "LICENSE", "NOTICE.txt"]
    assert chosen.skipped == ["https://example.invalid/constraints.txt"]


def test_files_the_metadata_names_are_kept_even_when_they_look_like_licenses(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\nreadme = "README.md"\nlicense = {file = "LICENSE"}\n')
    (tmp_path / "README.md").write_text("# p\n")
    (tmp_path / "LICENSE").write_text("MIT\n")
    specset = SpecSet(project_dir=str(tmp_path), project_name="p", requirements=[], constraints=[],
                      files=["pyproject.toml", "LICENSE"], fingerprint="", selection=Selection())
    assert recipe.select(specset, tmp_path).files == ["LICENSE", "README.md", "pyproject.toml"]


def test_a_file_the_user_names_in_spec_files_is_kept_even_when_it_looks_like_a_license(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n'
                                             '[tool.incrinstall]\nspec-files = ["LICENSE.txt"]\n')
    (tmp_path / "LICENSE.txt").write_text("read by setup.py\n")
    specset = SpecSet(project_dir=str(tmp_path), project_name="p", requirements=[], constraints=[],
                      files=["pyproject.toml", "LICENSE.txt"], fingerprint="", selection=Selection())
    chosen = recipe.select(specset, tmp_path)
    assert chosen.files == ["LICENSE.txt", "pyproject.toml"] and chosen.excluded == []


def test_a_spec_file_outside_the_project_is_an_error(tmp_path):
    (tmp_path / "proj").mkdir()
    specset = SpecSet(project_dir=str(tmp_path / "proj"), project_name=None, requirements=[], constraints=[],
                      files=["../reqs.txt"], fingerprint="", selection=Selection())
    with pytest.raises(recipe.SpecError, match="outside the project"):
        recipe.select(specset, tmp_path / "proj")


@pytest.fixture
def airflow_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "airflow-like"
    shutil.copytree(AIRFLOW_LIKE, tree)
    # hatchling opens both while it builds the editable wheel the hook runs in (its default license-files,
    # its exclusion patterns), as it did Airflow's.
    (tree / "LICENSE").write_text("Apache-2.0\n")
    (tree / ".gitignore").write_text("*.pyc\n")
    return tree


@pytest.mark.slow
def test_recipe_of_a_hook_project_holds_what_the_hook_read_and_is_deterministic(
        airflow_tree, run_cli, real_wheels_index, tmp_path):
    env = {"UV_INDEX_URL": real_wheels_index.url}
    out = tmp_path / "recipe"
    proc = run_cli("recipe", airflow_tree, "--out", out, "--extra", "all", "--python", sys.executable, "--json",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    written = json.loads(proc.stdout)
    assert {"generated/provider_dependencies.json", "airflow/__init__.py", "hatch_build.py", "pyproject.toml",
            "providers/amazon/provider.yaml"} <= set(written["files"])
    assert {"LICENSE", ".gitignore"} <= set(written["excluded"])
    assert not (out / "LICENSE").exists() and not (out / "airflow" / "models.py").exists()
    assert len(written["files"]) == len(set(written["files"]))
    first = listing(out)
    assert {mode & 0o777 for _, mode, _, _ in first} == {0o644, 0o755}
    assert {mtime for _, _, mtime, _ in first} == {recipe.DEFAULT_EPOCH}

    # A source edit, then the recipe again: identical, metadata included.
    models = airflow_tree / "airflow" / "models.py"
    models.write_text(models.read_text() + "\n# edited\n")
    proc = run_cli("recipe", airflow_tree, "--out", out, "--extra", "all", "--python", sys.executable, env=env)
    assert proc.returncode == 0, proc.stderr
    assert listing(out) == first
    # A spec edit changes it.
    deps = airflow_tree / "generated" / "provider_dependencies.json"
    deps.write_text(deps.read_text() + "\n")
    run_cli("recipe", airflow_tree, "--out", out, "--extra", "all", "--python", sys.executable, env=env)
    assert listing(out) != first


def test_recipe_refuses_a_folder_that_holds_something_else(run_cli, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    proc = run_cli("recipe", DEMO, "--out", out, "--python", sys.executable)
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_sync_on_the_recipe_equals_sync_on_the_full_tree(index, real_wheels_index, venv_factory, run_cli, tmp_path):
    for name, version, requires in (("webkit-lite", "2.0", ["http-core"]), ("http-core", "1.0", []),
                                    ("orm-lite", "1.4", []), ("cli-kit", "3.0", []), ("yaml-lite", "6.0", []),
                                    ("test-runner", "7.0", []), ("coverage-lite", "7.2", []),
                                    ("cloud-sdk-lite", "1.0", ["http-core"]), ("db-driver-lite", "2.1", [])):
        index.add_wheel(name, version, requires_dist=requires)
    tree = tmp_path / "tree"
    shutil.copytree(DEMO, tree)
    (tree / "demo_app").mkdir(exist_ok=True)
    (tree / "demo_app" / "__init__.py").write_text("VALUE = 42\n")
    (tree / "demo_app" / "core.py").write_text("X = 1\n")
    out = tmp_path / "app"
    common = ["--extra", "devel", "--index-url", index.url, "--extra-index-url", real_wheels_index.url]
    proc = run_cli("recipe", tree, "--out", out, "--python", sys.executable, *common)
    assert proc.returncode == 0, proc.stderr
    assert (out / "demo_app" / "__init__.py").read_bytes() == b""  # the placeholder
    assert not (out / "demo_app" / "core.py").exists()

    full, from_recipe = venv_factory("full"), venv_factory("recipe")
    for python, project in ((full, tree), (from_recipe, out)):
        proc = run_cli("sync", project, "--editable", "--python", python, *common)
        assert proc.returncode == 0, proc.stderr
    assert installed(full) == installed(from_recipe)
    assert "demo-app" in installed(from_recipe)
    # The sources copied over the recipe are what the editable install imports.
    shutil.copytree(tree, out, dirs_exist_ok=True)
    import subprocess

    value = subprocess.run([str(from_recipe), "-c", "import demo_app, demo_app.core; print(demo_app.VALUE)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert value.stdout.strip() == "42", value.stderr


# -- the recipe's bytes depend only on the spec files and the options (issue 21) -----------------------



def test_recipe_bytes_do_not_depend_on_what_the_cache_holds(index, real_wheels_index, run_cli, venv_factory,
                                                             tmp_path):
    """Cold cache, then a baseline and a `sync --editable` of the recipe sharing the cache at the same path
    (/app in README's Dockerfile), then the full tree back at that path: the same recipe, byte for byte."""
    from tests.support.trees import write_tree

    index.add_wheel("dep-lite", "1.0")
    common = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url]
    full = write_tree(tmp_path / "full", HOOKED)
    app = tmp_path / "app"  # the one path the planner's tree and the recipe's sync share
    out = tmp_path / "recipe"
    python = venv_factory()

    def recipe() -> tuple[dict, list]:
        proc = run_cli("recipe", app, "--out", out, "--python", python, "--json", *common)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout), listing(out)

    shutil.copytree(full, app)
    cold_json, cold = recipe()
    assert {"LICENSE", "NOTICE", ".gitignore"} <= set(cold_json["excluded"])  # the hook did open them
    assert "hooked/models.py" not in cold_json["files"]

    # The final stage: a baseline, then the recipe alone at /app, synced editable with the same cache.
    proc = run_cli("baseline", full, "--python", python, *common)
    assert proc.returncode == 0, proc.stderr
    shutil.rmtree(app)
    shutil.copytree(out, app)
    proc = run_cli("sync", app, "--editable", "--python", python, *common)
    assert proc.returncode == 0, proc.stderr

    # The next build's planner: the full tree at /app again, and the cache the sync left.
    shutil.rmtree(app)
    shutil.copytree(full, app)
    warm_json, warm = recipe()
    assert warm == cold
    assert warm_json == cold_json

    # A source-only edit changes nothing either.
    models = app / "hooked" / "models.py"
    models.write_text(models.read_text() + "Y = 2\n")
    assert recipe() == (cold_json, cold)


def test_a_recipe_folder_and_the_full_tree_at_one_path_never_share_a_collection(index, real_wheels_index, run_cli,
                                                                                  tmp_path):
    """What `specs` says of the full tree is the same whether or not its recipe was collected there first."""
    from tests.support.trees import write_tree

    common = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url, "--python", sys.executable]
    full = write_tree(tmp_path / "full", HOOKED)
    app = tmp_path / "app"
    shutil.copytree(full, app)
    fresh = run_cli("specs", app, "--json", *common)
    assert fresh.returncode == 0, fresh.stderr
    assert run_cli("recipe", app, "--out", tmp_path / "recipe", *common).returncode == 0
    shutil.rmtree(app)
    shutil.copytree(tmp_path / "recipe", app)
    in_recipe = run_cli("specs", app, "--json", *common)
    assert in_recipe.returncode == 0, in_recipe.stderr
    assert recipe.MANIFEST in json.loads(in_recipe.stdout)["files"]
    shutil.rmtree(app)
    shutil.copytree(full, app)
    again = run_cli("specs", app, "--json", *common)
    assert json.loads(again.stdout) == json.loads(fresh.stdout)


# -- where the editable install cannot come from a recipe ----------------------------------------------

REFUSED = {
    "hatch-sources-rename": {
        "pyproject.toml": """\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [project]
            name = "renamed"
            version = "1.0"
            [tool.hatch.build.targets.wheel]
            packages = ["lib/code"]
            sources = {"lib/code" = "renamed"}
            """,
        "lib/code/__init__.py": "",
    },
    "setuptools-package-dir-rename": {
        "pyproject.toml": """\
            [build-system]
            requires = ["setuptools>=64"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "mapped"
            version = "1.0"
            [tool.setuptools]
            packages = ["mapped"]
            package-dir = {"mapped" = "lib"}
            """,
        "lib/__init__.py": "",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(REFUSED))
def test_recipe_refuses_a_layout_a_pth_cannot_reach_and_names_the_fallback(shape, real_wheels_index, run_cli,
                                                                           tmp_path):
    from tests.support.trees import write_tree

    tree = write_tree(tmp_path / "tree", REFUSED[shape])
    out = tmp_path / "recipe"
    common = ["--index-url", real_wheels_index.url, "--python", sys.executable]
    proc = run_cli("recipe", tree, "--out", out, *common)
    assert proc.returncode == 2
    assert "cannot be made from a recipe" in proc.stderr
    assert "RUN incrinstall sync --editable" in proc.stderr and "--no-editable" in proc.stderr
    assert not out.exists()
    # The fallback's recipe: written, without roots; a sync --editable on it says why not instead of importing nothing.
    proc = run_cli("recipe", tree, "--out", out, "--no-editable", "--json", *common)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["roots"] is None


def _fallback_shape(name: str) -> tuple[dict[str, str], str]:
    if name == "setuptools-package-dir-rename":
        files = dict(REFUSED[name])
        files["pyproject.toml"] = files["pyproject.toml"].replace('version = "1.0"',
                                                                  'version = "1.0"\ndependencies = ["dep-lite"]')
        files["lib/__init__.py"] = 'VALUE = "from the real source"\n'
        return files, "mapped"
    # A hook project (the hook's answer is cached) whose files hatchling selects by `include`: its editable
    # wheel built in the recipe, before the sources came, puts nothing on sys.path.
    files = dict(HOOKED)
    files["pyproject.toml"] = files["pyproject.toml"].replace('packages = ["hooked"]', 'include = ["hooked"]')
    return files, "hooked"


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["setuptools-package-dir-rename", "hatchling-hook-include"])
def test_the_fallback_installs_the_project_after_the_sources(shape, index, real_wheels_index, run_cli, venv_factory,
                                                             tmp_path):
    """README's fallback: a --no-editable recipe for the dependencies, then `sync --editable` once the sources
    are copied over it (the manifest still there): the backend's own install, of the full tree."""
    from tests.support.trees import write_tree

    index.add_wheel("dep-lite", "1.0")
    files, module = _fallback_shape(shape)
    tree = write_tree(tmp_path / "tree", files)
    app = tmp_path / "app"
    python = venv_factory()
    common = ["--index-url", index.url, "--extra-index-url", real_wheels_index.url, "--python", python]
    assert run_cli("recipe", tree, "--out", app, "--no-editable", *common).returncode == 0
    proc = run_cli("sync", app, *common)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == {"dep-lite": "1.0"}
    shutil.copytree(tree, app, dirs_exist_ok=True)
    proc = run_cli("sync", app, "--editable", *common)
    assert proc.returncode == 0, proc.stderr
    import subprocess

    probe = subprocess.run([str(python), "-c", f"import {module}; print({module}.VALUE)"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert probe.stdout.strip() == "from the real source", probe.stderr


@pytest.mark.slow
def test_a_recipe_the_backend_cannot_build_from_is_refused_in_the_planner(real_wheels_index, run_cli, tmp_path):
    """setup.py reads a file that looks like a license (left out): `recipe` finds out, not the final stage's sync;
    naming it in [tool.incrinstall] spec-files is the way out."""
    from tests.support.trees import write_tree

    tree = write_tree(tmp_path / "tree", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n',
        "setup.py": 'from setuptools import setup\n'
                    'setup(name="lic", version="1.0", packages=["lic"], license=open("COPYING.txt").read())\n',
        "COPYING.txt": "MIT\n",
        "lic/__init__.py": "",
    })
    out = tmp_path / "recipe"
    common = ["--index-url", real_wheels_index.url, "--python", sys.executable]
    proc = run_cli("recipe", tree, "--out", out, *common)
    assert proc.returncode == 2
    assert "cannot build from the recipe alone" in proc.stderr and "COPYING.txt" in proc.stderr
    assert "[tool.incrinstall] spec-files" in proc.stderr
    assert not out.exists()
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '[tool.incrinstall]\nspec-files = ["COPYING.txt"]\n')
    proc = run_cli("recipe", tree, "--out", out, "--json", *common)
    assert proc.returncode == 0, proc.stderr
    assert "COPYING.txt" in json.loads(proc.stdout)["files"]
