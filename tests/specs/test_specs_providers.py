"""provider.yaml files (Apache Airflow's provider format) as a spec source."""

from __future__ import annotations


import pytest

from incrinstall.common.errors import SpecError
from incrinstall.specs.model import Selection
from incrinstall.specs.collect import collect
from incrinstall.specs.providers import find_provider_files
from tests.support.trees import marker_env, write_tree


def markers(python: str = "3.12") -> dict[str, str]:
    return marker_env(python, patch="0")


write = write_tree


def rows(specset) -> list[tuple[str, str]]:
    return [(r.requirement, r.source) for r in specset.requirements]


def names(specset) -> set[str]:
    return {r.requirement for r in specset.requirements}


# An Airflow-2-like layout: providers live under airflow/providers/<id path>/provider.yaml.
TREE = {
    "pyproject.toml": '[project]\nname = "apache-airflow"\ndependencies = ["flask>=2"]\n'
                      '[project.optional-dependencies]\nfast = ["orjson"]\n',
    "airflow/__init__.py": "",
    "airflow/providers/amazon/provider.yaml": '''\
        ---
        package-name: apache-airflow-providers-amazon
        name: Amazon
        versions:
          - 8.1.0
          - 8.0.0
        dependencies:
          - apache-airflow>=2.8.0
          - apache-airflow-providers-common-sql>=1.3.0
          - boto3>=1.33
          - "watchtower>=2,<4"
          - 'redshift-connector; python_version < "3.13"'
        additional-extras:
          - name: pandas
            dependencies:
              - pandas>=1.5
          - name: s3fs
            dependencies:
              - s3fs>=2023
        devel-dependencies:
          - moto[server]>=5
        ''',
    "airflow/providers/common/sql/provider.yaml": '''\
        package-name: apache-airflow-providers-common-sql
        versions: [1.3.0]
        state: ready
        dependencies:
          - apache-airflow>=2.8.0
          - sqlparse>=0.4.2
        additional-extras:
          - name: pandas
            dependencies: ["pandas>=2"]
        ''',
    "airflow/providers/apache/hive/provider.yaml": '''\
        package-name: apache-airflow-providers-apache-hive
        versions: ["6.0.0"]
        state: not-ready
        dependencies: [hmsclient>=0.1.0, "apache-airflow-providers-common-sql[pandas]"]
        ''',
    "airflow/providers/oldcloud/provider.yaml": '''\
        package-name: apache-airflow-providers-oldcloud
        versions: [1.0.0]
        state: suspended
        dependencies: [oldcloud-sdk]
        ''',
    "airflow/providers/gone/provider.yaml": '''\
        package-name: apache-airflow-providers-gone
        versions: [1.0.0]
        state: removed
        dependencies: [gone-sdk]
        ''',
    "airflow/providers/legacy/provider.yaml": '''\
        package-name: apache-airflow-providers-legacy
        versions: [1.0.0]
        suspended: true
        dependencies: [legacy-sdk]
        ''',
    "airflow/providers/google/provider.yaml": '''\
        package-name: apache-airflow-providers-google
        versions: [10.0.0]
        excluded-python-versions:
          - 3.10
          - "3.13"
        dependencies:
          - google-cloud-storage>=2
          - apache-airflow-providers-amazon>=8.0
        ''',
}


@pytest.fixture
def tree(tmp_path):
    return write(tmp_path, TREE)


def test_every_ready_provider_is_collected_with_file_line_sources(tree):
    specset = collect(tree, Selection(), markers("3.12"))
    got = rows(specset)
    assert ("boto3>=1.33", "airflow/providers/amazon/provider.yaml:10") in got
    assert ("watchtower<4,>=2", "airflow/providers/amazon/provider.yaml:11") in got
    assert ("redshift-connector", "airflow/providers/amazon/provider.yaml:12") in got
    assert ("sqlparse>=0.4.2", "airflow/providers/common/sql/provider.yaml:6") in got
    assert ("hmsclient>=0.1.0", "airflow/providers/apache/hive/provider.yaml:4") in got
    assert ("google-cloud-storage>=2", "airflow/providers/google/provider.yaml:7") in got
    assert {r.kind for r in specset.requirements if r.source.startswith("airflow/")} == {"provider"}
    # Requirements on in-tree packages (the core, other providers) are satisfied by the tree.
    assert not {n for n in names(specset) if n.startswith("apache-airflow")}
    # hive asks for common-sql[pandas]: that extra of the in-tree provider comes along.
    assert names(specset) == {"flask>=2", "boto3>=1.33", "watchtower<4,>=2", "redshift-connector",
                              "sqlparse>=0.4.2", "hmsclient>=0.1.0", "google-cloud-storage>=2", "pandas>=2"}
    locals_ = {p.name: (p.version, p.path) for p in specset.local_packages}
    assert locals_["apache-airflow-providers-amazon"] == ("8.1.0", "airflow/providers/amazon")
    assert locals_["apache-airflow-providers-common-sql"] == ("1.3.0", "airflow/providers/common/sql")
    assert "apache-airflow-providers-oldcloud" not in locals_
    assert specset.files == sorted(["pyproject.toml"] + [f for f in TREE if f.endswith("provider.yaml")])


def test_a_missing_extra_of_an_in_tree_provider_names_the_requirement(tmp_path):
    files = dict(TREE)
    files["airflow/providers/apache/hive/provider.yaml"] = files["airflow/providers/apache/hive/provider.yaml"].replace(
        "common-sql[pandas]", "common-sql[polars]")
    write(tmp_path, files)
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "airflow/providers/apache/hive/provider.yaml:4"
    assert "polars" in err.value.message and "valid extras: pandas" in err.value.message


def test_suspended_removed_and_old_style_suspended_providers_are_skipped(tree):
    got = names(collect(tree, Selection(all_extras=True), markers("3.12")))
    assert not {"oldcloud-sdk", "gone-sdk", "legacy-sdk"} & got
    assert "hmsclient>=0.1.0" in got  # not-ready is still part of the tree


def test_excluded_python_versions_are_evaluated_for_the_target(tree):
    assert "google-cloud-storage>=2" in names(collect(tree, Selection(), markers("3.12")))
    # 3.10 is written unquoted (YAML would read the float 3.1); it still excludes 3.10.
    for python in ("3.10", "3.13"):
        specset = collect(tree, Selection(), markers(python))
        assert "google-cloud-storage>=2" not in names(specset)
        assert "apache-airflow-providers-google" not in {p.name for p in specset.local_packages}
    assert "redshift-connector" not in names(collect(tree, Selection(), markers("3.13")))


def test_provider_restriction_pulls_in_the_in_tree_providers_it_depends_on(tree):
    specset = collect(tree, Selection(providers=("common.sql",)), markers("3.12"))
    assert names(specset) == {"flask>=2", "sqlparse>=0.4.2"}
    specset = collect(tree, Selection(providers=("apache.hive",)), markers("3.12"))
    # hive -> common.sql[pandas]: common.sql's dependencies and its pandas extra come along.
    assert names(specset) == {"flask>=2", "hmsclient>=0.1.0", "sqlparse>=0.4.2", "pandas>=2"}
    specset = collect(tree, Selection(providers=("google",)), markers("3.12"))
    assert {"google-cloud-storage>=2", "boto3>=1.33", "sqlparse>=0.4.2"} <= names(specset)
    assert "hmsclient>=0.1.0" not in names(specset)


def test_providers_are_selected_by_id_folder_or_package_name(tree):
    by_id = names(collect(tree, Selection(providers=("apache.hive",)), markers()))
    by_name = names(collect(tree, Selection(providers=("apache-airflow-providers-apache-hive",)), markers()))
    assert by_id == by_name


def test_unknown_provider_lists_the_valid_ones(tree):
    with pytest.raises(SpecError) as err:
        collect(tree, Selection(providers=("amazn",)), markers())
    assert err.value.message == ("unknown provider 'amazn'; valid providers: amazon, apache.hive, common.sql, google")


def test_selecting_a_skipped_provider_says_why(tree):
    with pytest.raises(SpecError) as err:
        collect(tree, Selection(providers=("oldcloud",)), markers())
    assert "suspended" in err.value.message and err.value.where == "airflow/providers/oldcloud/provider.yaml"


def test_additional_extras_need_all_extras_an_extra_or_a_requirement(tree):
    assert "s3fs>=2023" not in names(collect(tree, Selection(), markers()))
    assert {"s3fs>=2023", "pandas>=1.5"} <= names(collect(tree, Selection(all_extras=True), markers()))
    got = names(collect(tree, Selection(extras=("s3fs",)), markers()))
    assert "s3fs>=2023" in got and "pandas>=1.5" not in got
    # The root's own extras and the providers' extras are both valid --extra names.
    with pytest.raises(SpecError) as err:
        collect(tree, Selection(extras=("nope",)), markers())
    assert err.value.message == "unknown extra 'nope'; valid extras: fast, pandas, s3fs"


def test_devel_dependencies_only_with_the_flag(tree):
    assert "moto[server]>=5" not in names(collect(tree, Selection(), markers()))
    specset = collect(tree, Selection(provider_devel=True), markers())
    assert ("moto[server]>=5", "airflow/providers/amazon/provider.yaml:21") in rows(specset)


def test_folder_ids_in_an_airflow_3_layout(tmp_path):
    write(tmp_path, {
        "providers/apache/kafka/provider.yaml": "package-name: some-other-name\nversions: [1.0.0]\ndependencies: [confluent-kafka]\n",
    })
    assert names(collect(tmp_path, Selection(providers=("apache.kafka",)), markers())) == {"confluent-kafka"}
    assert names(collect(tmp_path, Selection(providers=("some-other-name",)), markers())) == {"confluent-kafka"}


def test_hidden_folders_virtualenvs_and_build_output_are_not_searched(tmp_path):
    yaml = "package-name: p-{0}\nversions: [1.0.0]\ndependencies: [dep-{0}]\n"
    write(tmp_path, {
        "providers/real/provider.yaml": yaml.format("real"),
        ".git/x/provider.yaml": yaml.format("git"),
        "node_modules/y/provider.yaml": yaml.format("node"),
        "venv/pyvenv.cfg": "home = /usr\n",
        "venv/lib/site/provider.yaml": yaml.format("venv"),
        "build/lib/provider.yaml": yaml.format("build"),
        "dist/provider.yaml": yaml.format("dist"),
        "pkg/__pycache__/provider.yaml": yaml.format("cache"),
    })
    assert find_provider_files(tmp_path) == ["providers/real/provider.yaml"]
    assert names(collect(tmp_path, Selection(), markers())) == {"dep-real"}


def test_invalid_yaml_names_file_and_line(tmp_path):
    write(tmp_path, {"providers/x/provider.yaml": "package-name: x\nversions: [1.0.0]\ndependencies:\n  - a\n  b: [\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "providers/x/provider.yaml:5"
    assert err.value.message.startswith("invalid YAML")


def test_invalid_requirement_in_provider_yaml_names_file_and_line(tmp_path):
    write(tmp_path, {"providers/x/provider.yaml": "package-name: x\nversions: [1.0.0]\ndependencies:\n  - ok\n  - 'no good'\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "providers/x/provider.yaml:5" and "no good" in err.value.message


def test_provider_yaml_without_package_name_is_an_error(tmp_path):
    write(tmp_path, {"providers/x/provider.yaml": "\nversions: [1.0.0]\n"})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "providers/x/provider.yaml:2" and "package-name" in err.value.message


def test_a_workspace_member_with_a_provider_yaml_is_one_package(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "core"\ndependencies = ["prov-a"]\n'
                          '[tool.uv.workspace]\nmembers = ["providers/*"]\n',
        "providers/a/pyproject.toml": '[project]\nname = "prov-a"\ndependencies = ["from-toml"]\n',
        "providers/a/provider.yaml": "package-name: prov-a\nversions: [2.0.0]\ndependencies: [from-yaml]\n",
    })
    specset = collect(tmp_path, Selection(), markers())
    # A member provider's dependencies are its pyproject.toml's (Airflow 3); its provider.yaml adds none.
    assert names(specset) == {"from-toml"}
    assert [p.name for p in specset.local_packages].count("prov-a") == 1


def test_member_providers_are_reached_not_seeded_and_stray_provider_yaml_files_are_ignored_with_a_note(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "core"\nversion = "1.0"\ndependencies = ["x"]\n'
                          '[tool.uv.workspace]\nmembers = ["providers/*"]\n',
        "providers/a/pyproject.toml": '[project]\nname = "prov-a"\nversion = "1.0"\ndependencies = ["a-dep"]\n',
        "providers/a/provider.yaml": "package-name: prov-a\nversions: [1.0]\ndependencies: [a-dep]\n",
        # Ships inside a member's sources, but no member builds a package from it (Airflow 3's git bundle).
        "providers/a/src/bundles/provider.yaml": "package-name: prov-git\nversions: [1.0]\ndependencies: [gitish]\n",
    })
    specset = collect(tmp_path, Selection(), markers())
    assert names(specset) == {"x"}
    assert "prov-git" not in {p.name for p in specset.local_packages}
    assert any("providers/a/src/bundles/provider.yaml" in note for note in specset.notes)
    assert names(collect(tmp_path, Selection(providers=("prov-a",)), markers())) == {"x", "a-dep"}


# -- where a provider.yaml counts in a tree without a workspace ----------------------------------------------------

STRAY = "package-name: idna\nversions: [1.0]\nstate: not-ready\ndependencies: [bundle-dep]\n"


@pytest.mark.parametrize("state", ["not-ready", "ready"])
def test_a_stray_provider_yaml_does_not_hide_the_package_it_names(tmp_path, state):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "pkg"\nversion = "1.0"\ndependencies = ["idna>=3", "requests"]\n',
        "src/pkg/__init__.py": "",
        "src/pkg/bundles/provider.yaml": STRAY.replace("not-ready", state),
    })
    specset = collect(tmp_path, Selection(), markers())
    assert names(specset) == {"idna>=3", "requests"}
    assert "idna" not in {p.name for p in specset.local_packages}
    assert "src/pkg/bundles/provider.yaml" not in specset.files
    assert [note for note in specset.notes if note.startswith("src/pkg/bundles/provider.yaml: ")]


def test_providers_count_under_a_top_level_packages_providers_folder(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "core"\nversion = "1.0"\ndependencies = []\n',
        "src/core/__init__.py": "",
        "src/core/providers/ftp/provider.yaml": "package-name: core-providers-ftp\nversions: [1.0]\n"
                                                "dependencies: [ftplib-lite]\n",
        "docs/providers/ftp/provider.yaml": "package-name: docs-ftp\nversions: [1.0]\ndependencies: [nope]\n",
    })
    specset = collect(tmp_path, Selection(), markers())
    assert names(specset) == {"ftplib-lite"}
    assert [n for n in specset.notes if n.startswith("docs/providers/ftp/provider.yaml")]


def test_provider_paths_in_pyproject_declare_where_providers_are(tmp_path):
    write(tmp_path, {
        "pyproject.toml": '[project]\nname = "core"\nversion = "1.0"\ndependencies = []\n'
                          '[tool.incrinstall]\nprovider-paths = ["plugins/**"]\n',
        "plugins/deep/ftp/provider.yaml": "package-name: p-ftp\nversions: [1.0]\ndependencies: [ftplib-lite]\n",
        "elsewhere/provider.yaml": "package-name: idna\nversions: [1.0]\ndependencies: [nope]\n",
    })
    specset = collect(tmp_path, Selection(), markers())
    assert names(specset) == {"ftplib-lite"}
    assert specset.files == ["plugins/deep/ftp/provider.yaml", "pyproject.toml"]


def test_provider_paths_must_be_a_list_of_strings(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "c"\n[tool.incrinstall]\nprovider-paths = "plugins"\n'})
    with pytest.raises(SpecError) as err:
        collect(tmp_path, Selection(), markers())
    assert err.value.where == "pyproject.toml:4" and "provider-paths" in err.value.message
