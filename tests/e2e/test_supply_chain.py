"""Supply chain rules: hashes checked when known and required on demand, plain http refused off-machine.

Real CLI, real uv, a real loopback index; the refused URLs are never contacted (nothing leaves
127.0.0.1), which the tests show by the error coming before any request.
"""

from __future__ import annotations

import pytest

from tests.support.trees import write_project
from tests.support.venvs import installed
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.slow


def _listing(python) -> dict[str, str]:
    return installed(python)


@pytest.mark.parametrize("command", ["plan", "sync"])
def test_a_plain_http_index_off_this_machine_is_refused_before_any_request(command, run_cli, venv_factory, tmp_path):
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    before = _listing(python)
    proc = run_cli(command, project, "--python", python, "--index-url", "http://user:s3cret@pypi.example.invalid/simple/")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "refusing the plain-http index-url http://user:***@pypi.example.invalid/simple/" in proc.stderr \
        or "refusing the plain-http index-url http://pypi.example.invalid/simple/" in proc.stderr, proc.stderr
    assert "--allow-insecure-http" in proc.stderr and "s3cret" not in proc.stderr and "Traceback" not in proc.stderr
    assert _listing(python) == before


def test_the_refusal_names_the_environment_variable_it_came_from(run_cli, venv_factory, tmp_path, monkeypatch):
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    monkeypatch.setenv("UV_INDEX_URL", "http://mirror.example.invalid/simple/")
    proc = run_cli("plan", project, "--python", python)
    assert proc.returncode == 2
    assert "UV_INDEX_URL" in proc.stderr and "mirror.example.invalid" in proc.stderr, proc.stderr


def test_extra_indexes_and_find_links_follow_the_same_rule(run_cli, venv_factory, tmp_path, index):
    index.add_wheel("alpha", "1.0")
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    for option in ("--extra-index-url", "--find-links"):
        proc = run_cli("plan", project, "--python", python, "--index-url", index.url, option,
                       "http://files.example.invalid/")
        assert proc.returncode == 2, (option, proc.stderr)
        assert f"refusing the plain-http {option[2:]} http://files.example.invalid/" in proc.stderr


def test_allow_insecure_http_lifts_the_rule(run_cli, venv_factory, tmp_path):
    # With the flag the URL is accepted; --offline keeps the request from being made, so the error
    # is now the cache's, not the refusal.
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    proc = run_cli("plan", project, "--python", python, "--index-url", "http://pypi.example.invalid/simple/",
                   "--allow-insecure-http", "--offline")
    assert proc.returncode != 0
    assert "refusing the plain-http" not in proc.stderr and "--offline" in proc.stderr, proc.stderr


def test_a_loopback_index_needs_no_flag(run_cli, venv_factory, tmp_path, index):
    index.add_wheel("alpha", "1.0")
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    assert index.url.startswith("http://127.0.0.1:")
    proc = run_cli("sync", project, "--python", python, "--index-url", index.url)
    assert proc.returncode == 0, proc.stderr
    assert _listing(python) == {"alpha": "1.0"}


def test_hashes_from_the_index_are_checked_and_recorded(run_cli, venv_factory, tmp_path, index):
    import hashlib

    import tomlkit

    index.add_wheel("alpha", "1.0")
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    proc = run_cli("sync", project, "--python", python, "--index-url", index.url, "--require-hashes")
    assert proc.returncode == 0, proc.stderr
    lock = tomlkit.parse((python.parent.parent / ".incrinstall" / "pylock.toml").read_text()).unwrap()
    alpha = next(p for p in lock["packages"] if p["name"] == "alpha")
    wheel = index.root / "alpha-1.0-py3-none-any.whl"
    assert alpha["wheels"][0]["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_require_hashes_refuses_a_package_without_one_and_changes_nothing(run_cli, venv_factory, tmp_path, index):
    # beta comes from a find-links page (a plain directory listing) that gives no hash; alpha from
    # the index, which does. Nothing may be installed, and only beta is named.
    from tests.support.docker_engine import serve_folder

    index.add_wheel("alpha", "1.0")
    build_wheel(tmp_path / "links", "beta", "2.0")
    project = write_project(tmp_path / "proj", ["alpha", "beta"])
    python = venv_factory()
    before = _listing(python)
    with serve_folder(tmp_path / "links") as links:
        common = ["--python", python, "--index-url", index.url, "--find-links", links + "/"]
        proc = run_cli("sync", project, *common, "--require-hashes")
        text = proc.stderr + proc.stdout
        assert proc.returncode != 0, text
        assert "--require-hashes" in text and "beta 2.0" in text and links in text, text
        assert "alpha 1.0" not in text  # it has a hash: only the packages without one are named
        assert "Traceback" not in text
        assert _listing(python) == before
        # Without the flag the same sync installs both (hash-checked where known).
        proc = run_cli("sync", project, *common)
        assert proc.returncode == 0, proc.stderr
    assert _listing(python) == {"alpha": "1.0", "beta": "2.0"}
