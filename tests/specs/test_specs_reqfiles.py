"""Requirements and constraints files in pip's format as a spec source."""

from __future__ import annotations

import pytest

from incrinstall.common.errors import SpecError
from incrinstall.specs.model import Selection
from incrinstall.specs.collect import collect
from incrinstall.specs import reqfiles
from tests.support.trees import marker_env, write_tree

MARKERS = marker_env("3.11", patch="4")


write = write_tree


def rows(items) -> list[tuple[str, str]]:
    return [(r.requirement, r.source) for r in items]


def test_comments_blank_lines_continuations_hashes_and_options(tmp_path):
    write(tmp_path, {"requirements.txt": '''\
        # a comment line
        --index-url https://example.invalid/simple
        --extra-index-url=https://example.invalid/other
        --pre
        -f ./wheels

        requests>=2  # trailing comment
        click==8.1.7 \\
            --hash=sha256:aaaa \\
            --hash=sha256:bbbb
        urllib3 \\
          >=1.26 ; python_version >= "3.8"
        win-only; sys_platform == "win32"
        named @ https://example.invalid/named-1.0-py3-none-any.whl
        '''})
    specset = collect(tmp_path, Selection(requirement_files=("requirements.txt",)), MARKERS)
    assert rows(specset.requirements) == [
        ("requests>=2", "requirements.txt:7"),
        ("click==8.1.7", "requirements.txt:8"),
        ("urllib3>=1.26", "requirements.txt:11"),
        ("named @ https://example.invalid/named-1.0-py3-none-any.whl", "requirements.txt:14"),
    ]
    assert {r.kind for r in specset.requirements} == {"requirements"}
    assert specset.files == ["requirements.txt"]


def test_hash_after_name_on_the_same_line_is_stripped(tmp_path):
    write(tmp_path, {"r.txt": "six==1.16.0 --hash=sha256:abc --hash sha256:def\n"})
    assert rows(collect(tmp_path, Selection(requirement_files=("r.txt",)), MARKERS).requirements) == [
        ("six==1.16.0", "r.txt:1")]


def test_nested_files_are_relative_to_the_file_that_names_them(tmp_path):
    write(tmp_path, {
        "reqs/main.txt": "-r base.txt\n--requirement=sub/extra.txt\n-c ../constraints.txt\nmain-dep\n",
        "reqs/base.txt": "base-dep\n-rsub/extra.txt\n",
        "reqs/sub/extra.txt": "extra-dep\n",
        "constraints.txt": "base-dep<2\n-r more-constraints.txt\n",
        "more-constraints.txt": "main-dep==1.0\n",
    })
    specset = collect(tmp_path, Selection(requirement_files=("reqs/main.txt",)), MARKERS)
    assert rows(specset.requirements) == [("base-dep", "reqs/base.txt:1"), ("extra-dep", "reqs/sub/extra.txt:1"),
                                          ("main-dep", "reqs/main.txt:4")]
    # -r inside a constraints file reads constraints too (as pip does).
    assert rows(specset.constraints) == [("base-dep<2", "constraints.txt:1"), ("main-dep==1.0", "more-constraints.txt:1")]
    assert specset.files == ["constraints.txt", "more-constraints.txt", "reqs/base.txt", "reqs/main.txt",
                             "reqs/sub/extra.txt"]


def test_a_constraint_restricts_but_adds_no_package(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "demo"\ndependencies = ["requests"]\n',
        "constraints.txt": 'requests<3\nurllib3<2\nnumpy<2; python_version < "3"\n',
    })
    specset = collect(tmp_path, Selection(constraint_files=("constraints.txt",)), MARKERS)
    assert [r.requirement for r in specset.requirements] == ["requests"]
    assert rows(specset.constraints) == [("requests<3", "constraints.txt:1"), ("urllib3<2", "constraints.txt:2")]
    assert "constraints.txt" in specset.files


def test_include_cycles_are_read_once(tmp_path):
    write(tmp_path, {"a.txt": "-r b.txt\nalpha\n", "b.txt": "-r a.txt\nbeta\n"})
    specset = collect(tmp_path, Selection(requirement_files=("a.txt",)), MARKERS)
    assert sorted(r.requirement for r in specset.requirements) == ["alpha", "beta"]


def test_missing_nested_file_names_the_including_file_and_line(tmp_path):
    write(tmp_path, {"requirements.txt": "six\n\n-r does-not-exist.txt\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(requirement_files=("requirements.txt",)), MARKERS)
    assert err.value.where == "requirements.txt:3"
    assert "does-not-exist.txt" in err.value.message


def test_missing_top_level_file_is_named(tmp_path):
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(constraint_files=("nope.txt",)), MARKERS)
    assert err.value.where == "nope.txt" and "not found" in err.value.message


def test_invalid_requirement_line_names_file_and_line(tmp_path):
    write(tmp_path, {"r.txt": "good\n# fine\nbad===\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(requirement_files=("r.txt",)), MARKERS)
    assert err.value.where == "r.txt:3" and "bad===" in err.value.message


def test_constraints_cannot_have_extras(tmp_path):
    write(tmp_path, {"c.txt": "requests[socks]<3\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(constraint_files=("c.txt",)), MARKERS)
    assert err.value.where == "c.txt:1"


def test_url_without_a_name_and_editable_vcs_are_clear_errors(tmp_path):
    write(tmp_path, {"a.txt": "https://example.invalid/x-1.0.tar.gz\n", "b.txt": "-e git+https://example.invalid/x#egg=x\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(requirement_files=("a.txt",)), MARKERS)
    assert err.value.where == "a.txt:1" and "name @" in err.value.message
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(requirement_files=("b.txt",)), MARKERS)
    assert err.value.where == "b.txt:1"


def test_editable_local_paths_expand_the_tree_package_and_other_paths_are_skipped(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '''\
            [project]
            name = "demo"
            dependencies = ["base"]
            [project.optional-dependencies]
            devel = ["pytest"]
            [tool.uv.workspace]
            members = ["libs/*"]
            ''',
        "libs/helper/pyproject.toml": '[project]\nname = "helper"\ndependencies = ["attrs"]\n',
        "reqs/dev.txt": "-e ..[devel]\n./../libs/helper\n-e ../../somewhere-else\nrich\n",
    })
    specset = collect(tmp_path, Selection(requirement_files=("reqs/dev.txt",)), MARKERS)
    assert rows(specset.requirements) == [("base", "pyproject.toml:3"), ("pytest", "pyproject.toml:5"),
                                          ("attrs", "libs/helper/pyproject.toml:3"), ("rich", "reqs/dev.txt:4")]


def test_relative_paths_fall_back_to_the_working_directory(tmp_path, monkeypatch):
    project = write(tmp_path / "proj", {"pyproject.toml": '[project]\nname = "p"\n'})
    write(tmp_path / "elsewhere", {"r.txt": "six\n"})
    monkeypatch.chdir(tmp_path / "elsewhere")
    specset = collect(project, Selection(requirement_files=("r.txt",)), MARKERS)
    outside = str((tmp_path / "elsewhere" / "r.txt").resolve())
    assert rows(specset.requirements) == [("six", f"{outside}:1")]
    assert outside in specset.files


@pytest.fixture
def http_files(index):
    """A folder served over HTTP on 127.0.0.1 (the loopback index serves any file under /files/); (folder, base_url)."""
    return index.root, index.files_url.rstrip("/")


def test_constraints_url_is_fetched_listed_and_fingerprinted(tmp_path, http_files):
    folder, base = http_files
    (folder / "constraints.txt").write_text("six==1.16.0\n-c nested.txt\n")
    (folder / "nested.txt").write_text("attrs<24\n")
    project = write(tmp_path / "proj", {"pyproject.toml": '[project]\nname = "p"\ndependencies = ["six"]\n'})
    url = f"{base}/constraints.txt"
    specset = collect(project, Selection(constraint_files=(url,)), MARKERS)
    assert rows(specset.constraints) == [("six==1.16.0", f"{url}:1"), ("attrs<24", f"{base}/nested.txt:1")]
    assert url in specset.files and f"{base}/nested.txt" in specset.files
    (folder / "nested.txt").write_text("attrs<25\n")
    assert collect(project, Selection(constraint_files=(url,)), MARKERS).fingerprint != specset.fingerprint


def test_unreachable_constraints_url_is_a_spec_error(tmp_path, http_files):
    _, base = http_files
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(constraint_files=(f"{base}/missing.txt",)), MARKERS)
    assert "cannot fetch" in err.value.message


def test_logical_lines_report_the_first_physical_line():
    text = "a \\\n  b\n# c \\\nd\n\ne # f\n"
    assert list(reqfiles._logical_lines(text)) == [(1, "a   b"), (4, "d"), (6, "e")]
