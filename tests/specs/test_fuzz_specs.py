"""Fuzz the readers of pyproject.toml, provider.yaml and requirements/constraints files.

Property (tests/support/spec_strategies.py): every input either parses, or is refused with SpecError
naming one of its files (with a line where the problem has one); never another exception, so the CLI
never shows a traceback. Here a small fixed number of examples per reader, derandomized so CI runs the
same ones every time; benchmarks/fuzz_specs.py runs the same strategies with 10,000 examples each.

After the properties: the crashes the fuzzing found, each as a regression test through the real CLI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings

from incrinstall.common.errors import SpecError
from tests.support import spec_strategies
from tests.support.paths import REPO_ROOT

EXAMPLES = 150  # per reader; benchmarks/fuzz_specs.py runs 10,000

fuzzed = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                         HealthCheck.data_too_large])
OUTCOMES = {"parsed", "refused", "refused at a line"}


@fuzzed
@given(case=spec_strategies.pyproject_cases())
def test_any_pyproject_toml_parses_or_is_refused_with_its_file(case):
    assert spec_strategies.check(case) in OUTCOMES


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request, monkeypatch):
    """Both loaders PyYAML may have: the C one when built with libyaml, else its pure-Python one."""
    import yaml

    if request.param == "pure-python":
        monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    elif getattr(yaml, "CSafeLoader", None) is None:
        pytest.skip("PyYAML without libyaml here")
    return request.param


@fuzzed
@given(case=spec_strategies.provider_cases())
def test_any_provider_yaml_parses_or_is_refused_with_its_file(yaml_loader, case):
    assert spec_strategies.check(case) in OUTCOMES


@fuzzed
@given(case=spec_strategies.requirements_cases())
def test_any_requirements_or_constraints_file_parses_or_is_refused_with_its_file(case):
    assert spec_strategies.check(case) in OUTCOMES


# --- what the fuzzing found ----------------------------------------------------------------------------

def specs(tree: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "incrinstall", "specs", str(tree), *args],
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True)


def refused(proc: subprocess.CompletedProcess, where: str, message: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {where}: {message}"), proc.stderr


PYPROJECT = '[project]\nname = "p"\nversion = "1"\ndependencies = [\n  "ok",\n  {dep},\n]\n'


@pytest.mark.parametrize("marker", ['os_name ~= "1"', '"a" ~= platform_python_implementation',
                                    'extra === "x" and python_version ~= "3"'])
def test_a_marker_comparison_no_marker_defines_is_refused_at_its_line(tmp_path, marker):
    """packaging parses `os_name ~= "1"` but its evaluation raised UndefinedComparison: a traceback."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(dep=f"'foo; {marker}'"))
    refused(specs(tmp_path), "pyproject.toml:6", "invalid marker in requirement 'foo; ")

    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(dep='"ok2"'))
    (tmp_path / "requirements.txt").write_text(f"# one\nfoo; {marker}\n")
    refused(specs(tmp_path, "-r", "requirements.txt"), "requirements.txt:2", "invalid marker")

    (tmp_path / "requirements.txt").unlink()
    (tmp_path / "provider.yaml").write_text(f"package-name: apache-airflow-providers-x\ndependencies:\n"
                                            f"  - 'ok'\n  - 'foo; {marker.replace(chr(39), chr(34))}'\n")
    refused(specs(tmp_path), "provider.yaml:4", "invalid marker")


def test_a_marker_no_marker_defines_in_the_backends_metadata_is_refused(tmp_path):
    from incrinstall.specs import pyproject

    project = pyproject.Project(name="p", version="1", path=".", pyproject="pyproject.toml",
                                dynamic=frozenset({"dependencies"}))
    answer = SimpleNamespace(requires_dist=['foo; os_name ~= "1"'], provides_extra=[], files=[],
                             metadata_file="", version="1", name="", folders=[], vcs=[])
    with pytest.raises(SpecError, match="invalid marker") as caught:
        pyproject.apply_hook_result(project, answer, tmp_path, markers=spec_strategies.target_markers())
    assert caught.value.where == "pyproject.toml"


def test_yaml_the_pure_python_loader_refuses_at_once_is_a_spec_error_with_its_line(tmp_path, monkeypatch):
    """Without libyaml, PyYAML's loader reads the start of the stream when made: bad UTF-8 raised there."""
    import yaml

    from incrinstall.specs import collect, model

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    (tmp_path / "provider.yaml").write_bytes(b'package-name: apache-airflow-providers-x\n\ndependencies:\n  - "a\xff"\n')
    with pytest.raises(SpecError, match="invalid YAML") as caught:
        collect.collect(tmp_path, model.Selection(), spec_strategies.target_markers())
    assert caught.value.where == "provider.yaml:4"


def test_an_unknown_extra_of_a_tree_without_pyproject_names_the_option(tmp_path):
    (tmp_path / "provider.yaml").write_text("package-name: apache-airflow-providers-x\ndependencies: [a]\n")
    refused(specs(tmp_path, "--extra", "nope"), "--extra", "unknown extra 'nope'")


def test_a_requirements_file_that_is_not_utf8_is_refused_at_the_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT.format(dep='"ok2"'))
    (tmp_path / "requirements.txt").write_bytes(b"a\nb\nc\xff\n")
    refused(specs(tmp_path, "-r", "requirements.txt"), "requirements.txt:3", "not UTF-8")


def test_a_pyproject_that_is_not_utf8_is_refused_at_the_line(tmp_path):
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\nname = "x"\nversion = "1"\ndependencies = ["a\xff"]\n')
    refused(specs(tmp_path), "pyproject.toml:4", "not UTF-8")
