"""`incrinstall specs` end to end: JSON and text output, options, and one clear error with exit code 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.trees import write_tree

PY = sys.executable


write = write_tree


PROJECT = {
    "pyproject.toml": '''\
        [project]
        name = "cli-demo"
        dependencies = [
            "requests>=2",
            'tomli; python_full_version < "3.0"',
        ]
        [project.optional-dependencies]
        test = ["pytest", "cli-demo[lint]"]
        lint = ["ruff"]
        [dependency-groups]
        docs = ["sphinx"]
        ''',
    "providers/alpha/provider.yaml": '''\
        package-name: apache-airflow-providers-alpha
        versions: [1.0.0]
        dependencies:
          - alpha-sdk>=1
        ''',
    "providers/beta/provider.yaml": '''\
        package-name: apache-airflow-providers-beta
        versions: [1.0.0]
        dependencies:
          - beta-sdk
        devel-dependencies:
          - beta-mock
        ''',
    "requirements.txt": "-c constraints.txt\nblack\n",
    "constraints.txt": "black<25\n",
}


def specs_json(run_cli, *args) -> dict:
    proc = run_cli("specs", *args, "--json", "--python", PY)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_json_output_has_requirements_constraints_files_and_fingerprint(tmp_path, run_cli):
    write(tmp_path, PROJECT)
    data = specs_json(run_cli, tmp_path, "--extra", "test", "--group", "docs", "-r", "requirements.txt")
    assert set(data) >= {"fingerprint", "requirements", "constraints", "files"}
    assert len(data["fingerprint"]) == 64
    assert data["requirements"] == [
        {"requirement": "requests>=2", "source": "pyproject.toml:4", "kind": "pyproject"},
        {"requirement": "pytest", "source": "pyproject.toml:8", "kind": "pyproject"},
        {"requirement": "ruff", "source": "pyproject.toml:9", "kind": "pyproject"},
        {"requirement": "sphinx", "source": "pyproject.toml:11", "kind": "pyproject"},
        {"requirement": "alpha-sdk>=1", "source": "providers/alpha/provider.yaml:4", "kind": "provider"},
        {"requirement": "beta-sdk", "source": "providers/beta/provider.yaml:4", "kind": "provider"},
        {"requirement": "black", "source": "requirements.txt:2", "kind": "requirements"},
    ]
    assert data["constraints"] == [{"requirement": "black<25", "source": "constraints.txt:1", "kind": "requirements"}]
    assert data["files"] == ["constraints.txt", "providers/alpha/provider.yaml", "providers/beta/provider.yaml",
                             "pyproject.toml", "requirements.txt"]


def test_provider_options_restrict_and_add_devel_dependencies(tmp_path, run_cli):
    write(tmp_path, PROJECT)
    data = specs_json(run_cli, tmp_path, "--provider", "beta", "--provider-devel")
    assert [r["requirement"] for r in data["requirements"]] == ["requests>=2", "beta-sdk", "beta-mock"]


def test_all_extras_and_constraint_option(tmp_path, run_cli):
    write(tmp_path, PROJECT)
    data = specs_json(run_cli, tmp_path, "--all-extras", "-c", "constraints.txt")
    assert {"pytest", "ruff"} <= {r["requirement"] for r in data["requirements"]}
    assert [c["requirement"] for c in data["constraints"]] == ["black<25"]


def test_text_output_shows_sources_and_fingerprint(tmp_path, run_cli):
    write(tmp_path, PROJECT)
    proc = run_cli("specs", tmp_path, "--python", PY)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["requests>=2", "(pyproject.toml:4)"]
    assert any(line.startswith("fingerprint: ") for line in lines)
    data = specs_json(run_cli, tmp_path)
    assert f"fingerprint: {data['fingerprint']}" in lines


def _other_python() -> str | None:
    """Another interpreter on this machine whose python_full_version differs from ours, if any."""
    mine = ".".join(map(str, sys.version_info[:3]))
    for name in ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3"):
        for found in {shutil.which(name), f"/usr/bin/{name}"}:
            if not found or not Path(found).exists():
                continue
            try:
                version = subprocess.run([found, "-c", "import platform; print(platform.python_version())"],
                                         capture_output=True, text=True, timeout=30).stdout.strip()
            except OSError:
                continue
            if version and version != mine:
                return found
    return None


def test_markers_follow_the_python_option(tmp_path, run_cli):
    other = _other_python()
    if other is None:
        pytest.skip("needs a second interpreter with another python_full_version")
    version = subprocess.run([other, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    write(tmp_path, {"pyproject.toml": f'''\
        [project]
        name = "m"
        dependencies = ['only-there; python_full_version == "{version}"', 'only-here; python_full_version != "{version}"']
        '''})
    there = run_cli("specs", tmp_path, "--json", "--python", other)
    here = run_cli("specs", tmp_path, "--json", "--python", PY)
    assert there.returncode == 0 and here.returncode == 0, there.stderr + here.stderr
    assert [r["requirement"] for r in json.loads(there.stdout)["requirements"]] == ["only-there"]
    assert [r["requirement"] for r in json.loads(here.stdout)["requirements"]] == ["only-here"]


BAD_INPUT = [
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = [\n  "a"\n  "b",\n]\n'}, (),
     "error: pyproject.toml:5: invalid TOML"),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["ok", "not ok"]\n'}, (),
     "error: pyproject.toml:3: invalid requirement 'not ok'"),
    ({"pyproject.toml": '[project]\nname = "x"\n[project.optional-dependencies]\ntest = ["pytest"]\n'},
     ("--extra", "tests"), "error: pyproject.toml:3: unknown extra 'tests'; valid extras: test"),
    ({"pyproject.toml": '[project]\nname = "x"\n[dependency-groups]\ndev = ["a"]\n'},
     ("--group", "docs"), "error: pyproject.toml:3: unknown dependency group 'docs'; valid groups: dev"),
    ({"pyproject.toml": '[dependency-groups]\na = [{include-group = "a"}]\n'},
     ("--group", "a"), "error: pyproject.toml:2: dependency group include cycle: a -> a"),
    ({"providers/p/provider.yaml": "package-name: p\nversions: [1.0\n"}, (),
     "error: providers/p/provider.yaml:3: invalid YAML"),
    ({"r.txt": "ok\n-r missing.txt\n"}, ("-r", "r.txt"), "error: r.txt:2: requirements file not found: missing.txt"),
    ({"providers/p/provider.yaml": "package-name: apache-airflow-providers-p\nversions: [1.0]\n"},
     ("--provider", "q"), "error: --provider: unknown provider 'q'; valid providers: p"),
]


@pytest.mark.parametrize("files,args,expected", BAD_INPUT, ids=[
    "invalid-toml", "invalid-requirement", "unknown-extra", "unknown-group", "group-cycle", "invalid-yaml",
    "missing-r-file", "unknown-provider"])
def test_bad_input_is_one_clear_message_and_exit_code_2(tmp_path, run_cli, files, args, expected):
    write(tmp_path, files)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    proc = run_cli("specs", tmp_path, *args, "--python", PY)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(expected), proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing else touched


def test_a_reader_that_goes_away_gets_no_traceback(tmp_path):
    # `incrinstall specs --json | head -1`: the pipe closes after one line; the rest is not an error to show.
    import subprocess
    import sys

    deps = ", ".join(f'"pkg{i}>=1"' for i in range(3000))
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "p"\nversion = "1"\ndependencies = [{deps}]\n')
    proc = subprocess.run(f"{sys.executable} -m incrinstall specs {tmp_path} --json | head -c 10",
                          shell=True, capture_output=True, text=True)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert len(proc.stdout) == 10
    ok = subprocess.run([sys.executable, "-m", "incrinstall", "specs", str(tmp_path), "--json"], capture_output=True)
    assert ok.returncode == 0 and len(ok.stdout) > 200_000  # more than a pipe holds: the write really breaks
