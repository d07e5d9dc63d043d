"""collect() answers from its cache when no spec file changed, and collects afresh when one did."""

from __future__ import annotations

import os
from pathlib import Path

from incrinstall.specs import pyproject
from incrinstall.specs.collect import collect
from incrinstall.specs.model import Selection
from tests.support.trees import marker_env, write_project, write_tree

ENV = marker_env()

PROVIDER = """\
package-name: apache-airflow-providers-{name}
versions: [1.0.0]
dependencies:
  - {dep}
"""


def no_parsing(monkeypatch):
    """Make any pyproject.toml read fail: an answer that needs one did not come from the cache."""
    def refuse(*_a, **_k):
        raise AssertionError("pyproject.toml was read")

    monkeypatch.setattr(pyproject, "read_workspace", refuse)


def requirements(specset) -> list[str]:
    return [r.requirement for r in specset.requirements]


def test_unchanged_specs_come_from_the_cache_without_parsing(tmp_path, monkeypatch):
    tree = write_project(tmp_path / "p", ["alpha>=1", "beta; python_version >= '3'"])
    first = collect(tree, Selection(), ENV)
    no_parsing(monkeypatch)
    second = collect(tree, Selection(), ENV)
    assert second == first
    assert requirements(second) == ["alpha>=1", "beta"]


def test_an_edited_spec_file_is_collected_afresh(tmp_path):
    tree = write_project(tmp_path / "p", ["alpha>=1"])
    collect(tree, Selection(), ENV)
    write_project(tree, ["alpha>=2", "gamma"])
    assert requirements(collect(tree, Selection(), ENV)) == ["alpha>=2", "gamma"]


def test_another_selection_or_marker_environment_is_its_own_entry(tmp_path):
    tree = write_project(tmp_path / "p", ["alpha; python_version < '3.12'"],
                         '[project.optional-dependencies]\nx = ["xdep"]\n')
    assert requirements(collect(tree, Selection(), ENV)) == []
    assert requirements(collect(tree, Selection(extras=("x",)), ENV)) == ["xdep"]
    assert requirements(collect(tree, Selection(), marker_env("3.11"))) == ["alpha"]


def test_a_new_provider_yaml_in_a_scanned_folder_is_seen(tmp_path):
    tree = write_tree(tmp_path / "p", {
        "pyproject.toml": '[project]\nname = "apache-airflow"\nversion = "2.0"\n',
        "providers/one/provider.yaml": PROVIDER.format(name="one", dep="one-dep"),
    })
    assert "one-dep" in requirements(collect(tree, Selection(), ENV))
    write_tree(tree, {"providers/two/provider.yaml": PROVIDER.format(name="two", dep="two-dep")})
    for folder in (tree / "providers", tree / "providers" / "two"):
        later = os.stat(folder).st_mtime + 5  # the cache compares whole seconds, as image layers keep them
        os.utime(folder, (later, later))
    assert "two-dep" in requirements(collect(tree, Selection(), ENV))


def test_a_damaged_cache_entry_is_ignored(tmp_path, incrinstall_cache):
    tree = write_project(tmp_path / "p", ["alpha"])
    collect(tree, Selection(), ENV)
    entries = list(Path(incrinstall_cache, "specs").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"files": ["pyproject.toml"], "dirs": {}, "fingerprint": 3')
    assert requirements(collect(tree, Selection(), ENV)) == ["alpha"]


def test_a_constraints_file_given_by_url_is_never_answered_from_the_cache(tmp_path, index):
    (index.root / "c.txt").write_text("alpha<2\n")
    tree = write_project(tmp_path / "p", ["alpha"])
    selection = Selection(constraint_files=(index.files_url + "c.txt",))
    first = collect(tree, selection, ENV)
    assert [c.requirement for c in first.constraints] == ["alpha<2"]
    (index.root / "c.txt").write_text("alpha<3\n")
    assert [c.requirement for c in collect(tree, selection, ENV).constraints] == ["alpha<3"]
