"""collect() across sources: the fingerprint, the files list, rendering, and an Airflow-2-like tree end to end."""

from __future__ import annotations

import shutil
import sys

import pytest

from incrinstall.specs.model import Selection

from incrinstall.specs.collect import collect, render_text
from incrinstall.common.fingerprint import fingerprint
from tests.support.cli import imported_after
from tests.support.trees import marker_env, write_tree
from tests.support.paths import AIRFLOW_LIKE

MARKERS = marker_env("3.11", patch="4")


write = write_tree


MIXED = {
    "pyproject.toml": '''\
        [project]
        name = "mixed"
        dependencies = ["requests"]
        [project.optional-dependencies]
        test = ["pytest"]
        [tool.incrinstall]
        spec-files = ["extra/*.cfg"]
        ''',
    "extra/settings.cfg": "[x]\n",
    "providers/p/provider.yaml": "package-name: prov-p\nversions: [1.0.0]\ndependencies: [lxml]\n",
    "requirements/dev.txt": "-c ../constraints.txt\nblack\n",
    "constraints.txt": "black<25\n",
    "src/mixed/__init__.py": "VALUE = 1\n",
    "README.md": "hello\n",
}
SELECTION = Selection(extras=("test",), requirement_files=("requirements/dev.txt",))


def test_files_lists_every_file_read_sorted_with_posix_separators(tmp_path):
    write(tmp_path, MIXED)
    specset = collect(tmp_path, SELECTION, MARKERS)
    assert specset.files == ["constraints.txt", "extra/settings.cfg", "providers/p/provider.yaml", "pyproject.toml",
                             "requirements/dev.txt"]
    assert [(r.requirement, r.kind) for r in specset.requirements] == [
        ("requests", "pyproject"), ("pytest", "pyproject"), ("lxml", "provider"), ("black", "requirements")]


@pytest.mark.parametrize("spec_file", ["pyproject.toml", "extra/settings.cfg", "providers/p/provider.yaml",
                                       "requirements/dev.txt", "constraints.txt"])
def test_changing_one_byte_of_any_spec_file_changes_the_fingerprint(tmp_path, spec_file):
    write(tmp_path, MIXED)
    before = collect(tmp_path, SELECTION, MARKERS).fingerprint
    path = tmp_path / spec_file
    path.write_bytes(path.read_bytes() + b" ")
    assert collect(tmp_path, SELECTION, MARKERS).fingerprint != before


def test_changing_a_file_no_spec_source_reads_keeps_the_fingerprint(tmp_path):
    write(tmp_path, MIXED)
    before = collect(tmp_path, SELECTION, MARKERS)
    (tmp_path / "src/mixed/__init__.py").write_text("VALUE = 2\n")
    (tmp_path / "README.md").write_text("changed\n")
    (tmp_path / "src/mixed/new.py").write_text("")
    after = collect(tmp_path, SELECTION, MARKERS)
    assert after.fingerprint == before.fingerprint
    assert after.requirements == before.requirements


def test_selection_and_markers_are_part_of_the_fingerprint(tmp_path):
    write(tmp_path, MIXED)
    base = collect(tmp_path, SELECTION, MARKERS).fingerprint
    assert collect(tmp_path, Selection(requirement_files=("requirements/dev.txt",)), MARKERS).fingerprint != base
    assert collect(tmp_path, SELECTION, {**MARKERS, "python_full_version": "3.11.5"}).fingerprint != base
    assert collect(tmp_path, SELECTION, dict(MARKERS)).fingerprint == base


def test_fingerprint_can_be_recomputed_from_the_recorded_files_alone(tmp_path):
    # The no-op fast path relies on this: no TOML/YAML parsing, same answer.
    write(tmp_path, MIXED)
    specset = collect(tmp_path, SELECTION, MARKERS)
    assert fingerprint(tmp_path, specset.files, SELECTION, MARKERS) == specset.fingerprint
    assert fingerprint(str(tmp_path), list(reversed(specset.files)), SELECTION.as_dict(), MARKERS) == specset.fingerprint
    (tmp_path / "constraints.txt").unlink()
    assert fingerprint(tmp_path, specset.files, SELECTION, MARKERS) != specset.fingerprint


def test_fingerprint_module_stays_light():
    loaded = imported_after("incrinstall.common.fingerprint", "incrinstall.fastpath", "incrinstall.specs")
    assert "incrinstall.fastpath" in loaded
    assert not {"tomlkit", "yaml", "packaging", "urllib.request"} & loaded


def test_scanned_dirs_cover_the_folders_that_decide_which_provider_files_exist(tmp_path):
    write(tmp_path, MIXED)
    (tmp_path / ".hidden").mkdir()
    specset = collect(tmp_path, SELECTION, MARKERS)
    assert {".", "providers", "providers/p", "src", "src/mixed", "extra"} <= set(specset.scanned_dirs)
    assert ".hidden" not in specset.scanned_dirs


def test_render_text_lists_requirements_with_sources_constraints_files_and_fingerprint(tmp_path):
    write(tmp_path, MIXED)
    specset = collect(tmp_path, SELECTION, MARKERS)
    text = render_text(specset)
    lines = text.splitlines()
    assert lines[0].split() == ["requests", "(pyproject.toml:3)"]
    assert "black     (requirements/dev.txt:2)" in lines
    assert lines[lines.index("constraints:") + 1].split() == ["black<25", "(constraints.txt:1)"]
    files_at = lines.index("files:")
    assert lines[files_at + 1: files_at + 1 + len(specset.files)] == ["  " + f for f in specset.files]
    assert lines[-1] == f"fingerprint: {specset.fingerprint}"


class AirflowHook:
    """Stands in for the build backend: what hatch_build.py of tests/data/airflow_like writes for an editable wheel."""

    def __init__(self):
        self.calls = 0

    def __call__(self, project_dir, markers, material, **kwargs):
        from incrinstall.specs.backend_metadata import HookResult

        self.calls += 1
        return HookResult(
            requires_dist=[
                "flaskish-lite<3,>=2.2", "sqlalchemyish-lite>=1.4", "sqlparse-lite>=0.4.2",
                'tomli-lite>=1.0; python_version < "3.11"',
                'apache-airflow-lite[amazon]; extra == "aws"',
                'aws-sdk-lite>=1.2; extra == "amazon"', 'moto-lite>=0.5; extra == "amazon"',
                'apache-airflow-lite[common-sql]; extra == "amazon"', 's3-transfer-lite; extra == "amazon"',
                'sqlparse-lite>=0.4.2; extra == "common-sql"',
                'pytest-lite>=8; extra == "devel-tests"', 'coverage-lite>=7; extra == "devel-tests"',
                'apache-airflow-lite[devel-tests]; extra == "devel"', 'apache-airflow-lite[amazon]; extra == "devel"',
            ],
            provides_extra=["amazon", "aws", "common-sql", "devel", "devel-tests"],
            files=["airflow/__init__.py", "generated/provider_dependencies.json", "hatch_build.py", "pyproject.toml"],
            metadata_file="hatch_build.py",
            version="2.10.0",
        )


def test_airflow_like_tree_merges_hook_and_providers_with_provenance(tmp_path):
    tree = tmp_path / "airflow"
    shutil.copytree(AIRFLOW_LIKE, tree)
    hook = AirflowHook()
    specset = collect(tree, Selection(extras=("devel",)), MARKERS, hook_runner=hook)
    got = {(r.requirement, r.source, r.kind) for r in specset.requirements}
    hatch_lines = (tree / "hatch_build.py").read_text().splitlines()
    flask_line = next(i for i, line in enumerate(hatch_lines, 1) if '"flaskish-lite>=2.2,<3"' in line)
    json_lines = (tree / "generated/provider_dependencies.json").read_text().splitlines()
    moto_line = next(i for i, line in enumerate(json_lines, 1) if "moto-lite" in line)
    assert ("flaskish-lite<3,>=2.2", f"hatch_build.py:{flask_line}", "backend") in got
    assert ("moto-lite>=0.5", f"generated/provider_dependencies.json:{moto_line}", "backend") in got
    assert ("gcloud-lite>=3.0", "providers/google/provider.yaml:14", "provider") in got
    assert {r.requirement for r in specset.requirements} == {
        "flaskish-lite<3,>=2.2", "sqlalchemyish-lite>=1.4", "sqlparse-lite>=0.4.2", "pytest-lite>=8",
        "coverage-lite>=7", "aws-sdk-lite>=1.2", "moto-lite>=0.5", "s3-transfer-lite", "gcloud-lite>=3.0",
        "proto-lite<5,>=4"}
    assert specset.files == ["airflow/__init__.py", "generated/provider_dependencies.json", "hatch_build.py",
                             "providers/amazon/provider.yaml", "providers/common/sql/provider.yaml",
                             "providers/google/provider.yaml", "providers/oldcloud/provider.yaml", "pyproject.toml"]
    assert "apache-airflow-lite" in {p.name for p in specset.local_packages}
    assert fingerprint(tree, specset.files, Selection(extras=("devel",)), MARKERS) == specset.fingerprint
    # The version-bearing file the hook read is part of the fingerprint; an unrelated module is not.
    (tree / "airflow/models.py").write_text("# changed\n")
    assert collect(tree, Selection(extras=("devel",)), MARKERS, hook_runner=hook).fingerprint == specset.fingerprint
    (tree / "airflow/__init__.py").write_text('__version__ = "2.10.1"\n')
    assert collect(tree, Selection(extras=("devel",)), MARKERS, hook_runner=hook).fingerprint != specset.fingerprint


@pytest.fixture
def build_index(real_wheels_index, monkeypatch):
    monkeypatch.setenv("UV_INDEX_URL", real_wheels_index.url)
    return real_wheels_index


@pytest.mark.slow
def test_airflow_like_specs_equal_the_real_backends_requires_dist(tmp_path, build_index, incrinstall_cache):
    """With every extra, collect() == the editable wheel's Requires-Dist as a set (self-references expanded)."""
    from packaging.requirements import Requirement

    from incrinstall.specs.backend_metadata import parse_metadata

    tree = tmp_path / "airflow"
    shutil.copytree(AIRFLOW_LIKE, tree)
    markers = {"python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
               "python_full_version": ".".join(map(str, sys.version_info[:3])), "sys_platform": sys.platform,
               "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
               "platform_machine": "x86_64", "platform_system": "Linux"}
    specset = collect(tree, Selection(all_extras=True), markers, python=sys.executable)
    [metadata_path] = list(incrinstall_cache.glob("hooks/*.METADATA"))  # what the backend wrote, kept by hatch.py
    requires, extras = parse_metadata(metadata_path.read_text(encoding="utf-8"))
    expected = set()
    for line in requires:
        req = Requirement(line)
        if req.name == "apache-airflow-lite":
            continue
        if req.marker is None or any(req.marker.evaluate({**markers, "extra": e}) for e in ["", *extras]):
            req.marker = None
            expected.add(str(req))
    assert {r.requirement for r in specset.requirements} == expected
    assert {"hatch_build.py", "generated/provider_dependencies.json", "airflow/__init__.py"} <= set(specset.files)
