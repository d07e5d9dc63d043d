"""pyproject.toml as a spec source: dependencies, extras, groups, workspaces, dynamic fields, and its errors."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from incrinstall.common.errors import SpecError
from incrinstall.specs.model import Selection
from incrinstall.specs.collect import collect
from incrinstall.common.tomlfile import TomlLocator
from tests.support.trees import marker_env, write_tree


def markers(python: str = "3.12", **overrides: str) -> dict[str, str]:
    return marker_env(python, patch="1", **overrides)


write = write_tree


def reqs(specset) -> list[tuple[str, str]]:
    return [(r.requirement, r.source) for r in specset.requirements]


def names(specset) -> list[str]:
    return [r.requirement for r in specset.requirements]


def test_dependencies_carry_the_line_of_each_string_in_a_multiline_array(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        version = "1.0"
        # a comment with "quotes" and [brackets]
        dependencies = [
            "requests>=2",   # trailing ] comment "
            'click',
            """rich""",

            "attrs", "six",
        ]
        '''})
    specset = collect(tmp_path, Selection(), markers())
    assert reqs(specset) == [
        ("requests>=2", "pyproject.toml:6"),
        ("click", "pyproject.toml:7"),
        ("rich", "pyproject.toml:8"),
        ("attrs", "pyproject.toml:10"),
        ("six", "pyproject.toml:10"),
    ]
    assert {r.kind for r in specset.requirements} == {"pyproject"}
    assert specset.files == ["pyproject.toml"]
    assert specset.project_name == "demo"
    assert [(p.name, p.version, p.path) for p in specset.local_packages] == [("demo", "1.0", ".")]


def test_markers_are_evaluated_for_the_given_marker_environment_not_the_running_one(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = [
            'new-only; python_version >= "3.13"',
            'old-only; python_version < "3.11"',
            'win-only; sys_platform == "win32"',
            'always>=1.0 ; os_name == "posix"',
        ]
        '''})
    assert names(collect(tmp_path, Selection(), markers("3.13"))) == ["new-only", "always>=1.0"]
    assert names(collect(tmp_path, Selection(), markers("3.10"))) == ["old-only", "always>=1.0"]
    assert names(collect(tmp_path, Selection(), markers("3.10", sys_platform="win32"))) == [
        "old-only", "win-only", "always>=1.0"]


def test_kept_requirements_are_rendered_without_their_marker(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = [
            'Foo_Bar [b,a] >= 1.0 , <2 ; python_version >= "3"',
            'pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl ; os_name == "posix"',
        ]
        '''})
    assert names(collect(tmp_path, Selection(), markers())) == [
        "Foo_Bar[a,b]<2,>=1.0", "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl"]


def test_identical_requirements_keep_the_first_source_and_different_specifiers_stay_separate(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = ["six", "six", "six>=1.0"]
        [project.optional-dependencies]
        x = ["six", "six<2"]
        '''})
    assert reqs(collect(tmp_path, Selection(extras=("x",)), markers())) == [
        ("six", "pyproject.toml:3"), ("six>=1.0", "pyproject.toml:3"), ("six<2", "pyproject.toml:5")]


def test_only_selected_extras_are_included_and_names_are_normalized(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = ["base"]
        [project.optional-dependencies]
        Dev_Tools = ["black"]
        docs = [
          "sphinx",
          'furo; extra == "docs"',
        ]
        '''})
    assert names(collect(tmp_path, Selection(), markers())) == ["base"]
    assert names(collect(tmp_path, Selection(extras=("dev-tools",)), markers())) == ["base", "black"]
    specset = collect(tmp_path, Selection(extras=("DOCS",)), markers())
    assert reqs(specset) == [("base", "pyproject.toml:3"), ("sphinx", "pyproject.toml:7"),
                             ("furo", "pyproject.toml:8")]
    assert names(collect(tmp_path, Selection(all_extras=True), markers())) == ["base", "black", "sphinx", "furo"]


def test_self_referencing_extras_expand_recursively_and_cycles_end(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "My.Proj"
        dependencies = ["base"]
        [project.optional-dependencies]
        devel = ["my-proj[test,lint]", "ipython"]
        test = ["pytest", "my_proj[devel]"]
        lint = ["ruff", 'my-proj[never]; python_version < "3"']
        never = ["not-wanted"]
        '''})
    specset = collect(tmp_path, Selection(extras=("devel",)), markers())
    assert reqs(specset) == [
        ("base", "pyproject.toml:3"),
        ("ruff", "pyproject.toml:7"),
        ("pytest", "pyproject.toml:6"),
        ("ipython", "pyproject.toml:5"),
    ]


def test_self_reference_in_dependencies_and_groups_is_expanded(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = ["demo[core]"]
        [project.optional-dependencies]
        core = ["numpy"]
        test = ["pytest"]
        [dependency-groups]
        dev = ["demo[test]", "demo>=0"]
        '''})
    assert names(collect(tmp_path, Selection(), markers())) == ["numpy"]
    assert names(collect(tmp_path, Selection(groups=("dev",)), markers())) == ["numpy", "pytest"]


def test_self_reference_to_a_missing_extra_names_the_line_and_valid_extras(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        [project.optional-dependencies]
        devel = ["demo[tset]"]
        test = ["pytest"]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(extras=("devel",)), markers())
    assert err.value.where == "pyproject.toml:4"
    assert "tset" in err.value.message and "devel, test" in err.value.message


def test_unknown_extra_lists_the_valid_ones(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"

        [project.optional-dependencies]
        test = ["pytest"]
        docs = ["sphinx"]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(extras=("tests",)), markers())
    assert err.value.where == "pyproject.toml:4"
    assert err.value.message == "unknown extra 'tests'; valid extras: docs, test"


def test_dependency_groups_with_include_group(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = ["base"]

        [dependency-groups]
        Lint = ["ruff"]
        test = [
            "pytest",
            {include-group = "lint"},
            'tomli; python_version < "3.11"',
        ]
        '''})
    specset = collect(tmp_path, Selection(groups=("test",)), markers("3.10"))
    assert reqs(specset) == [("base", "pyproject.toml:3"), ("pytest", "pyproject.toml:8"),
                             ("ruff", "pyproject.toml:6"), ("tomli", "pyproject.toml:10")]
    assert names(collect(tmp_path, Selection(), markers())) == ["base"]


def test_include_group_cycle_is_a_clear_error(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [dependency-groups]
        a = ["x", {include-group = "b"}]
        b = [{include-group = "a"}]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(groups=("a",)), markers())
    assert "cycle: a -> b -> a" in err.value.message
    assert err.value.where == "pyproject.toml:3"


def test_unknown_group_lists_the_valid_ones(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        [dependency-groups]
        test = ["pytest"]
        lint = ["ruff", {include-group = "typing"}]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(groups=("dev",)), markers())
    assert err.value.message == "unknown dependency group 'dev'; valid groups: lint, test"
    assert err.value.where == "pyproject.toml:3"
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(groups=("lint",)), markers())
    assert err.value.where == "pyproject.toml:5" and "'typing'" in err.value.message


def test_invalid_toml_names_file_and_line(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = [
            "requests"
            "click",
        ]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:5"
    assert err.value.message.startswith("invalid TOML")
    assert "line 5" not in err.value.message


def test_invalid_requirement_names_file_line_and_the_parser_error(tmp_path):
    write(tmp_path, {"pyproject.toml": '''\
        [project]
        name = "demo"
        dependencies = [
            "good",
            "bad>=>1",
        ]
        '''})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:5"
    assert "bad>=>1" in err.value.message and "Expected" in err.value.message


def test_wrong_type_of_dependencies_names_the_key(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "demo"\n\ndependencies = "requests"\n'})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:4"


WORKSPACE = {
    "pyproject.toml": '''\
        [project]
        name = "app"
        version = "0.1"
        dependencies = ["lib-a", "lib-b[fast]>=0.1", "httpx"]
        [project.optional-dependencies]
        cli = ["typer", "lib-c"]
        [tool.uv.workspace]
        members = ["libs/*"]
        exclude = ["libs/scratch"]
        [tool.uv.sources]
        lib-a = { workspace = true }
        ''',
    "libs/lib_a/pyproject.toml": '''\
        [project]
        name = "lib-a"
        version = "1.0"
        dependencies = ["numpy", "lib_b"]
        ''',
    "libs/lib_b/pyproject.toml": '''\
        [project]
        name = "lib_b"
        dependencies = ["pydantic"]
        [project.optional-dependencies]
        fast = ["orjson", "lib-a"]
        ''',
    "libs/lib_c/pyproject.toml": '''\
        [project]
        name = "lib-c"
        dependencies = ["rich"]
        ''',
    "libs/scratch/notes.txt": "not a member\n",
    "libs/README.md": "a file, not a folder\n",
}


def test_workspace_members_are_satisfied_by_the_tree_and_their_dependencies_collected(tmp_path):
    write(tmp_path, WORKSPACE)
    specset = collect(tmp_path, Selection(), markers())
    assert reqs(specset) == [
        ("numpy", "libs/lib_a/pyproject.toml:4"),
        ("pydantic", "libs/lib_b/pyproject.toml:3"),
        ("orjson", "libs/lib_b/pyproject.toml:5"),
        ("httpx", "pyproject.toml:4"),
    ]
    assert {(p.name, p.version, p.path) for p in specset.local_packages} == {
        ("app", "0.1", "."), ("lib-a", "1.0", "libs/lib_a"), ("lib-b", None, "libs/lib_b"), ("lib-c", None, "libs/lib_c")}
    assert specset.files == ["libs/lib_a/pyproject.toml", "libs/lib_b/pyproject.toml", "libs/lib_c/pyproject.toml",
                             "pyproject.toml"]
    # The root's extras select the root project's extras; members come in through them.
    assert names(collect(tmp_path, Selection(extras=("cli",)), markers()))[-2:] == ["typer", "rich"]


def test_workspace_member_folder_without_pyproject_is_an_error(tmp_path):
    files = dict(WORKSPACE)
    files["pyproject.toml"] = files["pyproject.toml"].replace('exclude = ["libs/scratch"]', "")
    write(tmp_path, files)
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert "libs/scratch" in err.value.message and err.value.where == "pyproject.toml"


def test_virtual_workspace_root_stands_for_all_members(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[dependency-groups]\ndev = ["pytest"]\n',
        "packages/one/pyproject.toml": '[project]\nname = "one"\ndependencies = ["two", "attrs"]\n',
        "packages/two/pyproject.toml": '[project]\nname = "two"\ndependencies = ["cattrs"]\n',
    })
    specset = collect(tmp_path, Selection(groups=("dev",)), markers())
    assert sorted(names(specset)) == ["attrs", "cattrs", "pytest"]
    assert specset.project_name is None


def test_spec_files_globs_add_files_to_the_fingerprint(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "demo"\n[tool.incrinstall]\nspec-files = ["constraints/*.txt", "gen/**/*.json"]\n',
        "constraints/a.txt": "x\n",
        "gen/deep/er/d.json": "{}\n",
        "gen/not-json.txt": "\n",
        "src/demo.py": "print()\n",
    })
    specset = collect(tmp_path, Selection(), markers())
    assert specset.files == ["constraints/a.txt", "gen/deep/er/d.json", "pyproject.toml"]
    before = specset.fingerprint
    (tmp_path / "gen/deep/er/d.json").write_text("{ }\n")
    assert collect(tmp_path, Selection(), markers()).fingerprint != before
    assert {"constraints", "gen", "gen/deep", "gen/deep/er"} <= set(specset.scanned_dirs)


# --- dynamic dependencies: the hook runner's answer is used, never invented ----------------------

@dataclass
class FakeHookResult:
    requires_dist: list[str]
    provides_extra: list[str]
    files: list[str] = field(default_factory=list)
    metadata_file: str = "hatch_build.py"
    version: str = "1.2.3"
    name: str = ""
    folders: list[str] = field(default_factory=list)
    vcs: list[str] = field(default_factory=list)
    metadata_path: str = ""  # (HookOutput: no METADATA text kept, no wheel built)
    wheel_path: str = ""


DYNAMIC = {
    "pyproject.toml": '''\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "dyn"
        dynamic = ["version", "dependencies", "optional-dependencies"]
        ''',
    "hatch_build.py": '''\
        import json
        DEPS = [
            "flask >= 2.2, <3",
        ]
        EXTRAS = {"devel": ["pytest>=8", "dyn[docs]"], "docs": ["sphinx"]}
        ''',
    "generated/deps.json": '''\
        {
          "x": ["boto3>=1.0"]
        }
        ''',
}


def fake_runner(result, calls=None):
    def run(project_dir, markers, material, **kwargs):
        if calls is not None:
            calls.append((Path(project_dir), material, kwargs))
        return result
    return run


def test_dynamic_dependencies_come_from_the_hook_with_sources_found_in_the_files_it_read(tmp_path):
    write(tmp_path, DYNAMIC)
    result = FakeHookResult(
        requires_dist=["flask<3,>=2.2", 'boto3>=1.0', 'pytest>=8; extra == "devel"',
                       'dyn[docs]; extra == "devel"', 'sphinx; extra == "docs"',
                       'colorama; sys_platform == "win32" and extra == "devel"', "unknown-origin"],
        provides_extra=["devel", "docs"],
        files=["generated/deps.json", "hatch_build.py", "pyproject.toml"],
    )
    calls = []
    specset = collect(tmp_path, Selection(extras=("devel",)), markers(), hook_runner=fake_runner(result, calls))
    assert reqs(specset) == [
        ("flask<3,>=2.2", "hatch_build.py:3"),
        ("boto3>=1.0", "generated/deps.json:2"),
        ("unknown-origin", "hatch_build.py (hatchling)"),
        ("pytest>=8", "hatch_build.py:5"),
        ("sphinx", "hatch_build.py:5"),
    ]
    assert {r.kind for r in specset.requirements} == {"backend"}
    assert specset.files == ["generated/deps.json", "hatch_build.py", "pyproject.toml"]
    assert calls[0][0] == tmp_path.resolve() and calls[0][2] == {}
    assert names(collect(tmp_path, Selection(), markers(), hook_runner=fake_runner(result))) == [
        "flask<3,>=2.2", "boto3>=1.0", "unknown-origin"]
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(extras=("test",)), markers(), hook_runner=fake_runner(result))
    assert err.value.message == "unknown extra 'test'; valid extras: devel, docs"
    assert err.value.where == "hatch_build.py"


def test_dynamic_optional_dependencies_only_keeps_static_dependencies(tmp_path):
    files = dict(DYNAMIC)
    files["pyproject.toml"] = files["pyproject.toml"].replace(
        'dynamic = ["version", "dependencies", "optional-dependencies"]',
        'dynamic = ["optional-dependencies"]\nversion = "2.0"\ndependencies = ["static-dep"]')
    write(tmp_path, files)
    result = FakeHookResult(["static-dep", 'pytest>=8; extra == "devel"'], ["devel"])
    specset = collect(tmp_path, Selection(extras=("devel",)), markers(), hook_runner=fake_runner(result))
    assert reqs(specset) == [("static-dep", "pyproject.toml:8"), ("pytest>=8", "hatch_build.py:5")]


def test_static_project_never_runs_the_hook(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "s"\nversion = "1.0"\ndependencies = ["a"]\n',
                     "hatch_build.py": "raise SystemExit(1)\n"})

    def explode(*args, **kwargs):
        raise AssertionError("the hook must not run")

    specset = collect(tmp_path, Selection(), markers(), hook_runner=explode)
    assert names(specset) == ["a"]
    assert [(p.name, p.version) for p in specset.local_packages] == [("s", "1.0")]


def test_a_dynamic_version_alone_is_asked_of_the_backend_metadata_hook_and_becomes_the_tree_version(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "s"\ndynamic = ["version"]\ndependencies = ["a"]\n'})
    calls = []
    specset = collect(tmp_path, Selection(), markers(),
                      hook_runner=fake_runner(FakeHookResult(["ignored"], [], version="2.10.4"), calls))
    assert names(specset) == ["a"]  # static dependencies stay what pyproject.toml says
    assert calls[0][2] == {}  # the backend's metadata hook: no build
    assert [(p.name, p.version) for p in specset.local_packages] == [("s", "2.10.4")]


def test_a_backend_that_computes_no_version_for_a_dynamic_version_is_an_error_naming_pyproject(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "s"\ndynamic = ["version"]\n'})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers(), hook_runner=fake_runner(FakeHookResult([], [], version="")))
    assert err.value.where == "pyproject.toml" and "no Version" in err.value.message


def test_tree_packages_carry_their_requirements_for_the_target_with_extras_apart(tmp_path):
    write(tmp_path, {"pyproject.toml": """\
        [project]
        name = "s"
        version = "3.0"
        dependencies = ["a>=1", "win-only; sys_platform == 'win32'"]
        [project.optional-dependencies]
        x = ["b<2", "s[y]"]
        y = ["c"]
        """})
    (local,) = collect(tmp_path, Selection(), markers()).local_packages
    assert (local.name, local.version, local.requires) == ("s", "3.0", ("a>=1",))
    assert local.extras == {"x": ("b<2", "s[y]"), "y": ("c",)}


def test_python_and_index_are_passed_to_the_hook_runner(tmp_path):
    write(tmp_path, DYNAMIC)
    calls = []
    collect(tmp_path, Selection(), markers(), python="/x/bin/python", index="IDX",
            hook_runner=fake_runner(FakeHookResult([], []), calls))
    assert calls[0][2] == {"python": "/x/bin/python", "index": "IDX"}


# --- the TOML locator on its own -----------------------------------------------------------------

def test_toml_locator_handles_tables_dotted_quoted_keys_inline_tables_and_strings():
    text = textwrap.dedent('''\
        title = """
        [not.a.table]
        """
        [project]
        name = 'x'
        "optional-dependencies".a = ["one",
           "two"]

        [project . "optional-dependencies"]
        b = [
          'x]',  # ]
          """multi
        line""", "after",
        ]
        [[tool.thing]]
        deps = ["first"]
        [[tool.thing]]
        deps = [
          "second",
        ]
        [tool.inline]
        t = { k = ["v1",
                   "v2"], other = 1 }
        groups = [{include-group = "a"}, "z"]
        ''')
    loc = TomlLocator(text, "p.toml")
    od = ("project", "optional-dependencies")
    assert [loc.where((*od, "a"), i) for i in range(2)] == ["p.toml:6", "p.toml:7"]
    assert [loc.where((*od, "b"), i) for i in range(3)] == ["p.toml:11", "p.toml:12", "p.toml:13"]
    assert loc.where(("tool", "thing", 0, "deps"), 0) == "p.toml:16"
    assert loc.where(("tool", "thing", 1, "deps"), 0) == "p.toml:19"
    assert loc.where(("tool", "inline", "t", "k"), 1) == "p.toml:23"
    assert loc.where(("tool", "inline", "groups"), 1) == "p.toml:24"
    assert loc.where(("project",)) == "p.toml:4"
    assert loc.where(("nowhere",)) == "p.toml"


def test_duplicate_key_is_reported_at_its_second_definition(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\nversion = "1"\n\nname = "y"\n'})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:5" and "already exists" in err.value.message


def test_unterminated_array_says_end_of_file(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["a"\n'})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:3" and "end of file" in err.value.message
