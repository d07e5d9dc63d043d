"""common/uv_settings.py: the project's uv settings, each with its file:line from the one TOML line lookup (TomlLocator)."""

from __future__ import annotations

import pytest

from incrinstall.common.config import index_config
from incrinstall.common.errors import SpecError
from incrinstall.common.uv_settings import project_settings


def _line(path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_an_index_table_without_a_url_names_its_header_line(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "p"\nversion = "1"\n\n[tool.uv]\nprerelease = "allow"\n\n'
                         '[[tool.uv.index]]\nname = "private"\n')
    with pytest.raises(SpecError) as err:
        index_config(project_dir=tmp_path, environ={})
    assert err.value.where == f"pyproject.toml:{_line(pyproject, '[[tool.uv.index]]')}"


def test_an_index_array_in_uv_toml_names_its_first_table(tmp_path):
    uv_toml = tmp_path / "uv.toml"
    uv_toml.write_text('# the project\'s indexes\n\n[[index]]\nurl = "https://a.example/simple/"\n\n'
                       '[[index]]\nurl = "https://b.example/simple/"\n')
    assert project_settings(tmp_path)["index"].where == f"uv.toml:{_line(uv_toml, '[[index]]')}"


def test_a_dotted_key_and_a_pip_table_key_are_found_where_they_are_written(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('tool.uv.index-strategy = "unsafe-best-match"\n\n[project]\nname = "p"\n\n'
                         '[tool.uv.pip]\n# pre-releases\nprerelease = "allow"\n')
    settings = project_settings(tmp_path)
    assert settings["index-strategy"].where == "pyproject.toml:1"
    line = _line(pyproject, 'prerelease = "allow"')
    assert settings["prerelease"].where == f"pyproject.toml:{line}"


def test_a_refused_setting_of_uv_toml_pip_table_names_its_line(tmp_path):
    uv_toml = tmp_path / "uv.toml"
    uv_toml.write_text('index-url = "https://a.example/simple/"\n[pip]\nno-build = true\n')
    with pytest.raises(SpecError) as err:
        project_settings(tmp_path)
    assert err.value.where == "uv.toml:3" and err.value.message.startswith("[pip] no-build changes the resolution")


def test_build_constraint_dependencies_reach_every_uv_call_as_a_file(tmp_path, incrinstall_cache):
    # uvicorn and mcp set it; it bounds only what build environments install, never the resolution.
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n\n[tool.uv]\n'
                                             'build-constraint-dependencies = ["setuptools<80", "hatchling>=1.26"]\n')
    config = index_config(project_dir=tmp_path, environ={})
    assert config.build_constraints == ("setuptools<80", "hatchling>=1.26")
    args = config.uv_args()
    path = args[args.index("--build-constraints") + 1]
    assert open(path).read() == "setuptools<80\nhatchling>=1.26\n"
    assert config.as_dict()["build_constraints"] == ["setuptools<80", "hatchling>=1.26"]  # in the stamp


def test_an_invalid_build_constraint_names_its_line(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "p"\n\n[tool.uv]\nbuild-constraint-dependencies = ["setuptools <<80"]\n')
    with pytest.raises(SpecError, match="build-constraint-dependencies") as err:
        index_config(project_dir=tmp_path, environ={})
    assert err.value.where == "pyproject.toml:5"
