"""`incrinstall recipe --dockerfile` and `--check DOCKERFILE`: the specs stage is computed, checked, and enough.

The install step of README's Dockerfile runs `recipe /specs --out .` on what the specs stage provides (the
spec files, and empty placeholders), never on the full tree: that recipe must be the full tree's, byte for
byte, and `--check` must fail when the stage no longer provides what the specs read (Airflow's providers moved).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from incrinstall import recipe_dockerfile
from incrinstall.common import recipe_manifest
from tests.support.paths import REPO_ROOT
from tests.support.recipe_shapes import HOOKED, SHAPES, listing
from tests.support.trees import write_tree

DEMO = REPO_ROOT / "examples" / "demo-project"
README_DOCKERFILE = REPO_ROOT / "examples" / "Dockerfile"


def _dockerfile(folder: Path, stage: str) -> Path:
    path = folder / "Dockerfile"
    path.write_text(f"ARG BASE_IMAGE=python:3.12-slim\nFROM ${{BASE_IMAGE}} AS tool\nRUN true\n\n{stage}\n"
                    "FROM ${BASE_IMAGE}\nCOPY . .\n")
    return path


def _materialize(tree: Path, dockerfile: Path, into: Path) -> Path:
    """What the specs stage puts under /specs: its copied files from `tree`, its empty files, its manifest."""
    provided = recipe_dockerfile.read_stage(dockerfile, tree)
    if provided.manifest is not None:
        into.mkdir(parents=True, exist_ok=True)
        (into / recipe_manifest.NAME).write_text(provided.manifest.to_line() + "\n")  # as `echo` writes it
    for rel in provided.files:
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tree / rel, into / rel)
    for rel in provided.empty:
        (into / rel).parent.mkdir(parents=True, exist_ok=True)
        (into / rel).write_bytes(b"")
    return into


def test_the_block_copies_each_folder_once_and_makes_the_placeholders_empty():
    text = recipe_dockerfile.block(["pyproject.toml", "providers/b/provider.yaml", "providers/a/provider.yaml",
                                    "hatch_build.py", "odd name/x.txt"], ["pkg/__init__.py", "top.py"])
    assert text == ("FROM ${BASE_IMAGE} AS specs\n"
                    "WORKDIR /specs\n"
                    "COPY hatch_build.py pyproject.toml ./\n"
                    'COPY ["odd name/x.txt", "odd name/"]\n'
                    "COPY providers/a/provider.yaml providers/a/\n"
                    "COPY providers/b/provider.yaml providers/b/\n"
                    "RUN mkdir -p pkg && touch pkg/__init__.py top.py\n")


def test_the_stage_writes_the_placeholders_and_import_roots_and_check_sees_them_go_stale(tmp_path):
    """The roots come from the backend's wheel of the full tree, which the stage lacks: the stage carries them."""
    tree = write_tree(tmp_path / "tree", {"pyproject.toml": ""})
    text = recipe_dockerfile.block(["pyproject.toml"], ["pkg/__init__.py"], ["src", "."])
    assert text.endswith("""RUN mkdir -p pkg && touch pkg/__init__.py \\\n"""
                         """    && echo '{"placeholders": ["pkg/__init__.py"], "roots": ["src", "."], "schema": 2}' """
                         "> .incrinstall-recipe.json\n")
    dockerfile = _dockerfile(tmp_path, text)
    provided = recipe_dockerfile.read_stage(dockerfile, tree)
    assert provided.manifest == recipe_manifest.Manifest((), ("pkg/__init__.py",), ("src", "."))
    assert recipe_dockerfile.check(["pyproject.toml"], ["pkg/__init__.py"], dockerfile, tree, roots=["src", "."]).ok
    moved = recipe_dockerfile.check(["pyproject.toml"], ["pkg/__init__.py"], dockerfile, tree, roots=["."])
    assert not moved.ok and moved.stale_manifest is not None and "['.']" in moved.stale_manifest
    bare = _dockerfile(tmp_path, recipe_dockerfile.block(["pyproject.toml"], ["pkg/__init__.py"]))
    assert recipe_dockerfile.read_stage(bare, tree).manifest is None
    unwritten = recipe_dockerfile.check(["pyproject.toml"], ["pkg/__init__.py"], bare, tree, roots=["."])
    assert not unwritten.ok and "writes no .incrinstall-recipe.json" in (unwritten.stale_manifest or "")


def test_check_reads_files_folders_globs_parents_and_touch(tmp_path):
    tree = write_tree(tmp_path / "tree", {
        "pyproject.toml": "", "providers/a/provider.yaml": "", "providers/b/provider.yaml": "",
        "providers/b/hook.py": "", "generated/deps.json": "", "generated/more/x.json": "", "README.md": ""})
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM base AS other\nCOPY README.md ./\n"
        "FROM base AS specs\nWORKDIR /specs\n"
        "COPY --chmod=644 pyproject.toml \\\n"
        "    # a comment line inside the instruction\n"
        "    ./\n"
        "COPY --parents providers/*/provider.yaml ./\n"
        "COPY generated/ generated/\n"
        "COPY --from=other /specs/README.md ./\n"
        "RUN mkdir -p pkg && touch pkg/__init__.py\n"
        "FROM base\nCOPY . .\n")
    provided = recipe_dockerfile.read_stage(dockerfile, tree)
    assert provided.files == {"pyproject.toml", "providers/a/provider.yaml", "providers/b/provider.yaml",
                              "generated/deps.json", "generated/more/x.json"}
    assert provided.empty == {"pkg/__init__.py"}
    # Without --parents a glob keeps only the file names: both provider.yaml land on one path.
    dockerfile.write_text("FROM base AS specs\nWORKDIR /specs\nCOPY providers/*/provider.yaml providers/\n")
    assert recipe_dockerfile.read_stage(dockerfile, tree).files == {"providers/provider.yaml"}


def test_check_of_a_dockerfile_without_the_stage_names_the_file(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM base\nCOPY . .\n")
    with pytest.raises(recipe_dockerfile.SpecError, match="no stage named 'specs'") as caught:
        recipe_dockerfile.read_stage(dockerfile, tmp_path)
    assert caught.value.where == str(dockerfile)


@pytest.mark.slow
def test_check_fails_when_a_provider_moved_and_prints_the_stage_to_use(run_cli, real_wheels_index, tmp_path):
    tree = tmp_path / "project"
    shutil.copytree(DEMO, tree)
    env = {"UV_INDEX_URL": real_wheels_index.url}
    proc = run_cli("recipe", tree, "--dockerfile", "--extra", "devel", "--python", sys.executable, env=env)
    assert proc.returncode == 0, proc.stderr
    stage = proc.stdout
    assert "COPY providers/db/provider.yaml providers/db/\n" in stage
    assert ("RUN mkdir -p demo_app && touch demo_app/__init__.py \\\n"
            """    && echo '{"placeholders": ["demo_app/__init__.py"], "roots": ["."], "schema": 2}' """
            "> .incrinstall-recipe.json\n") in stage
    dockerfile = _dockerfile(tmp_path, stage)
    proc = run_cli("recipe", tree, "--check", dockerfile, "--extra", "devel", "--python", sys.executable, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # The providers move (what broke Airflow's hand-written list): the stage no longer covers the specs.
    (tree / "providers" / "db").rename(tree / "providers" / "database")
    proc = run_cli("recipe", tree, "--check", dockerfile, "--extra", "devel", "--python", sys.executable,
                   "--json", env=env)
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert found["missing"] == ["providers/database/provider.yaml"]
    assert "COPY providers/database/provider.yaml providers/database/\n" in found["dockerfile"]
    proc = run_cli("recipe", tree, "--check", dockerfile, "--extra", "devel", "--python", sys.executable, env=env)
    assert proc.returncode == 1
    assert f"{dockerfile}: stage 'specs' does not copy providers/database/provider.yaml" in proc.stdout
    assert "COPY providers/database/provider.yaml providers/database/" in proc.stdout


@pytest.mark.slow
def test_the_readme_dockerfile_stage_is_current_for_the_example(run_cli, real_wheels_index):
    """What README tells CI to run, on README's own Dockerfile and the example it is written for."""
    proc = run_cli("recipe", DEMO, "--check", README_DOCKERFILE, "--extra", "devel", "--python", sys.executable,
                   env={"UV_INDEX_URL": real_wheels_index.url})
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["demo", "hook", *SHAPES])
def test_the_recipe_of_the_specs_stage_is_the_recipe_of_the_full_tree(shape, run_cli, index, real_wheels_index,
                                                                      tmp_path):
    """The install step's recipe (of /specs: listed files, empty placeholders) equals the full tree's, byte for
    byte, for every backend the recipe flow supports."""
    extra: list[str] = []
    if shape == "demo":
        tree = tmp_path / "tree"
        shutil.copytree(DEMO, tree)
        extra = ["--extra", "devel"]
    else:
        tree = write_tree(tmp_path / "tree", HOOKED if shape == "hook" else SHAPES[shape].files)
    index.add_wheel("dep-lite", "1.0")
    extra += ["--index-url", index.url, "--extra-index-url", real_wheels_index.url]
    env: dict[str, str] = {}
    proc = run_cli("recipe", tree, "--dockerfile", *extra, "--python", sys.executable, env=env)
    assert proc.returncode == 0, proc.stderr
    specs = _materialize(tree, _dockerfile(tmp_path, proc.stdout), tmp_path / "specs")
    if shape == "hook":  # the sources and what the recipe leaves out stay out of the stage
        assert not (specs / "hooked" / "models.py").exists() and not (specs / "LICENSE").exists()

    full, staged = tmp_path / "from-full", tmp_path / "from-specs"
    for source, out in ((tree, full), (specs, staged)):
        proc = run_cli("recipe", source, "--out", out, *extra, "--python", sys.executable, env=env)
        assert proc.returncode == 0, proc.stderr
    assert listing(staged) == listing(full)


def test_a_recipe_written_into_the_working_directory_keeps_that_folder(run_cli, real_wheels_index, tmp_path):
    """`recipe /specs --out .` in the WORKDIR: the folder stays (a RUN step's later commands run in it)."""
    app = tmp_path / "app"
    app.mkdir()
    before = os.stat(app).st_ino
    proc = run_cli("recipe", DEMO, "--out", ".", "--extra", "devel", "--python", sys.executable, cwd=app,
                   env={"UV_INDEX_URL": real_wheels_index.url})
    assert proc.returncode == 0, proc.stderr
    assert os.stat(app).st_ino == before and (app / ".incrinstall-recipe.json").is_file()
    # Again, over the recipe it wrote: still the same folder.
    proc = run_cli("recipe", DEMO, "--out", ".", "--extra", "devel", "--python", sys.executable, cwd=app,
                   env={"UV_INDEX_URL": real_wheels_index.url})
    assert proc.returncode == 0, proc.stderr
    assert os.stat(app).st_ino == before
