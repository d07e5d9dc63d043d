"""One configuration: what incrinstall resolves and what uv installs come from the same settings.

uv's own environment variables and the project's `[tool.uv]` / `[tool.uv.pip]` / `uv.toml`
settings are read once, by index_config(), and passed to uv as explicit flags; uv itself reads
no config (`--no-config`) and none of those variables. Each test proves plan, sync (uv installs
the pins) and baseline (uv resolves) agree, on real loopback indexes with real uv.
"""

from __future__ import annotations

import json

import pytest

from incrinstall.common.errors import SpecError
from incrinstall.common.config import index_config
from tests.support.trees import write_project
from tests.support.venvs import installed

pytestmark = pytest.mark.slow  # real venvs filled by uv


def _installs(proc) -> dict[str, str]:
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"] if a["action"] == "install"}


@pytest.fixture
def dated(index):
    """`a` 1.0 (Jan 2024), 2.0 (Jun 2025) and 3.0 (no upload time at all)."""
    for version, when in (("1.0", "2024-01-10T12:00:00Z"), ("2.0", "2025-06-01T00:00:00Z"), ("3.0", None)):
        wheel = index.add_wheel("a", version)
        index.set_upload_time(wheel.name, when)
    return index


def _check_all_three(run_cli, project, venv_factory, args, env, want: str) -> None:
    python = venv_factory()
    assert _installs(run_cli("plan", project, "--python", python, "--json", *args, env=env)) == {"a": want}
    proc = run_cli("sync", project, "--python", python, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["a"] == want
    fresh = venv_factory()
    proc = run_cli("baseline", project, "--python", fresh, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert installed(fresh)["a"] == want


def test_tool_uv_exclude_newer_is_honoured_by_plan_sync_and_baseline(dated, venv_factory, run_cli, tmp_path):
    # The shape Airflow's root pyproject.toml uses.
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "2025-01-01T00:00:00Z"\n')
    _check_all_three(run_cli, project, venv_factory, ["--index-url", dated.url], {}, "1.0")


@pytest.mark.parametrize("cutoff, want", [("2025-06-01T00:00:00Z", "1.0"),  # the boundary is excluded, as in uv
                                          ("2025-06-01T00:00:01Z", "2.0"),
                                          ("2030-01-01T00:00:00Z", "2.0")])  # 3.0 has no upload time: excluded
def test_uv_exclude_newer_from_the_environment_means_the_same_to_incrinstall_and_uv(
        dated, venv_factory, run_cli, tmp_path, cutoff, want):
    project = write_project(tmp_path / "proj", ["a"])
    _check_all_three(run_cli, project, venv_factory, ["--index-url", dated.url], {"UV_EXCLUDE_NEWER": cutoff}, want)


def test_uv_constraint_from_the_environment_constrains_plan_sync_and_baseline(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("a", "1.0")
    index.add_wheel("a", "2.0")
    constraints = tmp_path / "c.txt"
    constraints.write_text("a<2\n")
    project = write_project(tmp_path / "proj", ["a"])
    _check_all_three(run_cli, project, venv_factory, ["--index-url", index.url],
                     {"UV_CONSTRAINT": str(constraints)}, "1.0")


def test_uv_index_and_uv_default_index_from_the_environment(index_factory, venv_factory, run_cli, tmp_path):
    default, extra = index_factory(), index_factory()
    default.add_wheel("a", "2.0")
    default.add_wheel("b", "1.0")
    extra.add_wheel("a", "1.0")
    project = write_project(tmp_path / "proj", ["a", "b"])
    env = {"UV_DEFAULT_INDEX": default.url, "UV_INDEX": f"mine={extra.url}"}
    python = venv_factory()
    assert _installs(run_cli("plan", project, "--python", python, "--json", env=env)) == {"a": "1.0", "b": "1.0"}
    proc = run_cli("sync", project, "--python", python, env=env)
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["a"] == "1.0"


def test_uv_prerelease_from_the_environment_reaches_both(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("a", "1.0")
    index.add_wheel("a", "2.0b1")
    project = write_project(tmp_path / "proj", ["a"])
    _check_all_three(run_cli, project, venv_factory, ["--index-url", index.url], {"UV_PRERELEASE": "allow"}, "2.0b1")


def test_project_index_tables_are_honoured(index_factory, venv_factory, run_cli, tmp_path):
    pypi_like, private, explicit = index_factory(), index_factory(), index_factory()
    pypi_like.add_wheel("a", "9.0")
    pypi_like.add_wheel("b", "1.0")
    private.add_wheel("a", "1.0")
    explicit.add_wheel("b", "7.0")
    tool_uv = (f'[[tool.uv.index]]\nname = "private"\nurl = "{private.url}"\n\n'
               f'[[tool.uv.index]]\nname = "only-for-sources"\nurl = "{explicit.url}"\nexplicit = true\n\n'
               f'[[tool.uv.index]]\nname = "main"\nurl = "{pypi_like.url}"\ndefault = true\n')
    project = write_project(tmp_path / "proj", ["a", "b"], tool_uv)
    python = venv_factory()
    assert _installs(run_cli("plan", project, "--python", python, "--json")) == {"a": "1.0", "b": "1.0"}
    proc = run_cli("sync", project, "--python", python)
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["a"] == "1.0" and installed(python)["b"] == "1.0"
    assert explicit.requests == []


def test_uv_toml_next_to_the_project_wins_over_tool_uv(index, tmp_path):
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nindex-url = "http://127.0.0.1:9/simple/"\n')
    (project / "uv.toml").write_text(f'index-url = "{index.url}"\n[pip]\nprerelease = "allow"\n')
    config = index_config(project_dir=project, environ={})
    assert config.index_url == index.url and config.prerelease == "allow"


@pytest.mark.parametrize("setting", ['override-dependencies = ["a<2"]', 'constraint-dependencies = ["a<2"]',
                                     'resolution = "lowest"', 'no-binary = true'])
def test_tool_uv_settings_that_change_resolution_but_are_not_implemented_are_refused_with_file_and_line(
        tmp_path, run_cli, setting):
    project = write_project(tmp_path / "proj", ["a"], f"\n[tool.uv]\ncache-keys = []\n{setting}\n")
    line = (project / "pyproject.toml").read_text().splitlines().index(setting) + 1
    with pytest.raises(SpecError) as err:
        index_config(project_dir=project, environ={})
    assert err.value.where == f"pyproject.toml:{line}"
    proc = run_cli("plan", project, "--index-url", "http://127.0.0.1:9/simple/")
    assert proc.returncode == 2
    assert f"pyproject.toml:{line}: [tool.uv] {setting.split(' ')[0]}" in proc.stderr


def test_tool_uv_pip_setting_is_refused_with_its_line(tmp_path):
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv.pip]\npython-version = "3.9"\n')
    line = (project / "pyproject.toml").read_text().splitlines().index('python-version = "3.9"') + 1
    with pytest.raises(SpecError) as err:
        index_config(project_dir=project, environ={})
    assert err.value.where == f"pyproject.toml:{line}"


def test_uv_override_in_the_environment_is_refused(tmp_path, run_cli):
    project = write_project(tmp_path / "proj", ["a"])
    (tmp_path / "o.txt").write_text("a==1\n")
    proc = run_cli("plan", project, "--index-url", "http://127.0.0.1:9/simple/", env={"UV_OVERRIDE": str(tmp_path / "o.txt")})
    assert proc.returncode == 2
    assert "UV_OVERRIDE" in proc.stderr and "Traceback" not in proc.stderr


def test_command_line_wins_over_environment_wins_over_project(tmp_path):
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "2020-01-01T00:00:00Z"\n'
                                                      'index-strategy = "unsafe-first-match"\n')
    env = {"UV_EXCLUDE_NEWER": "2021-01-01T00:00:00Z"}
    assert index_config(project_dir=project, environ={}).exclude_newer == "2020-01-01T00:00:00Z"
    assert index_config(project_dir=project, environ=env).exclude_newer == "2021-01-01T00:00:00Z"
    assert index_config(project_dir=project, environ=env,
                        exclude_newer="2022-01-01T00:00:00Z").exclude_newer == "2022-01-01T00:00:00Z"
    assert index_config(project_dir=project, environ={}).index_strategy == "unsafe-first-match"
    assert index_config(environ={}).index_strategy == "first-index"


def test_every_uv_call_says_no_config_and_gets_no_resolution_variables(monkeypatch):
    from incrinstall.common.config import RESOLUTION_ENV
    from incrinstall.common.uv import uv_env

    for name in RESOLUTION_ENV:
        monkeypatch.setenv(name, "leaked")
    monkeypatch.setenv("UV_NO_CONFIG", "0")
    env = uv_env()
    assert not set(RESOLUTION_ENV) & set(env)
    assert env["UV_NO_CONFIG"] == "1"


def test_a_stray_uv_toml_in_the_working_directory_does_not_reach_uv(index, venv_factory, run_cli, tmp_path):
    """--no-config on every call: a uv.toml in the cwd (not the project's) must not redirect uv."""
    index.add_wheel("a", "1.0")
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / "uv.toml").write_text('index-url = "http://127.0.0.1:9/simple/"\nno-index = true\n')
    project = write_project(tmp_path / "proj", ["a"])
    python = venv_factory()
    proc = run_cli("sync", project, "--python", python, "--index-url", index.url, cwd=cwd, env={"UV_NO_CONFIG": ""})
    assert proc.returncode == 0, proc.stderr
    assert installed(python)["a"] == "1.0"


AIRFLOW_SHAPED_TOOL_UV = '''
[tool.uv]
required-version = ">=0.6.3"
no-build-isolation-package = ["sphinx-redoc"]
exclude-newer = "2025-09-20"

[tool.uv.sources]
apache-airflow-core = {workspace = true}

[tool.uv.workspace]
members = [".", "airflow-core"]
'''


def test_airflow_3_1_shaped_tool_uv_is_accepted_and_its_exclude_newer_read(tmp_path):
    """apache-airflow 3.1.0's sdist pyproject.toml [tool.uv] shapes (plus an exclude-newer date)."""
    project = write_project(tmp_path / "proj", ["a"], AIRFLOW_SHAPED_TOOL_UV)
    config = index_config(project_dir=project, environ={})
    line = (project / "pyproject.toml").read_text().splitlines().index('exclude-newer = "2025-09-20"') + 1
    assert config.origins["exclude-newer"] == f"pyproject.toml:{line}"
    # A bare date is midnight in the local time zone, as uv reads it; passed to uv as one UTC timestamp.
    assert config.exclude_newer.endswith("Z") and "--exclude-newer" in config.uv_args()


def test_a_bad_exclude_newer_names_its_line(tmp_path):
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "last tuesday"\n')
    with pytest.raises(SpecError) as err:
        index_config(project_dir=project, environ={})
    assert err.value.where.startswith("pyproject.toml:")
    assert "last tuesday" in err.value.message


def _ago(days: float) -> str:
    from datetime import datetime, timedelta, timezone

    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


AIRFLOW_3_3_SHAPED_TOOL_UV = '''
[tool.uv]
required-version = ">=0.11.8"
no-build-isolation-package = ["sphinx-redoc"]
# Synchroonize with scripts/ci/prek/upgrade_important_versions.py
exclude-newer = "4 days"

[tool.uv.exclude-newer-package]
# Automatically generated exclude-newer-package entries (update_airflow_pyproject_toml.py)
b = false

[tool.uv.pip]
exclude-newer = "4 days"

[tool.uv.pip.exclude-newer-package]
b = false
'''


def test_airflow_3_3_relative_exclude_newer_and_per_package_false_agree_in_plan_sync_and_baseline(
        index, venv_factory, run_cli, tmp_path):
    """apache-airflow 3.3.2's shapes: `exclude-newer = "4 days"`, and `name = false` to exempt a package."""
    for name, version, when in (("a", "1.0", _ago(30)), ("a", "2.0", _ago(1)), ("b", "1.0", _ago(30)),
                                ("b", "2.0", _ago(1))):
        index.set_upload_time(index.add_wheel(name, version).name, when)
    project = write_project(tmp_path / "proj", ["a", "b"], AIRFLOW_3_3_SHAPED_TOOL_UV)
    python = venv_factory()
    args = ["--index-url", index.url]
    assert _installs(run_cli("plan", project, "--python", python, "--json", *args)) == {"a": "1.0", "b": "2.0"}
    proc = run_cli("sync", project, "--python", python, *args)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == {"a": "1.0", "b": "2.0"}
    fresh = venv_factory()
    proc = run_cli("baseline", project, "--python", fresh, *args)
    assert proc.returncode == 0, proc.stderr
    assert installed(fresh) == {"a": "1.0", "b": "2.0"}


def test_relative_exclude_newer_is_one_instant_for_both_and_stays_as_written_in_the_stamp(tmp_path):
    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "P7D"\n')
    config = index_config(project_dir=project, environ={})
    args = config.uv_args()
    assert args[args.index("--exclude-newer") + 1] == config.exclude_newer  # an absolute RFC 3339 instant
    assert config.as_dict()["exclude_newer"] == "P7D"
    assert index_config(exclude_newer="false", project_dir=project, environ={}).exclude_newer is None


def test_uv_args_are_also_valid_incrinstall_options(tmp_path):
    """bench.py hands IndexConfig.uv_args() to `incrinstall sync` too: every flag must parse the same way there."""
    from incrinstall.cli import build_parser

    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "2025-01-01T00:00:00Z"\n'
                                                      'index-strategy = "unsafe-best-match"\n'
                                                      '[tool.uv.exclude-newer-package]\nb = false\nc = "2024-01-01T00:00:00Z"\n')
    config = index_config("http://127.0.0.1:9/simple/", ["http://127.0.0.1:8/simple/"], project_dir=project, environ={})
    args = build_parser().parse_args(["sync", str(tmp_path), *config.uv_args()])
    again = index_config(args.index_url, args.extra_index_url, args.find_links, index_strategy=args.index_strategy,
                         exclude_newer=args.exclude_newer, exclude_newer_package=args.exclude_newer_package, environ={})
    assert again == config


def test_a_baseline_from_an_archive_file_honours_the_archives_own_tool_uv(dated, venv_factory, run_cli, tmp_path):
    import tarfile

    project = write_project(tmp_path / "proj", ["a"], '[tool.uv]\nexclude-newer = "2025-01-01T00:00:00Z"\n')
    archive = tmp_path / "main.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(project, arcname="proj-main")
    python = venv_factory()
    proc = run_cli("baseline", archive, "--python", python, "--index-url", dated.url)
    assert proc.returncode == 0, proc.stderr
    assert installed(python) == {"a": "1.0"}
