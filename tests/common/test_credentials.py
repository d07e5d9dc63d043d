"""Private indexes: credentials from the index URL or from a netrc file reach incrinstall's own
requests and uv's alike, and never show up anywhere: not in the output, the state files, the
fast-path stamp or the incrinstall cache.

The loopback index REQUIRES Basic auth: every request without it gets 401.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.trees import write_project
from tests.support.venvs import installed

pytestmark = pytest.mark.slow  # real venvs filled by uv

USER = "alice"
PASSWORD = "Pw-9f3kq-SECRET"


@pytest.fixture
def private(index_factory):
    # No PEP 658 files: incrinstall must download the wheels (from the index's host) to read metadata.
    idx = index_factory(auth=(USER, PASSWORD), serve_metadata=False)
    idx.add_wheel("alpha", "1.0", requires_dist=["beta>=1"])
    idx.add_wheel("beta", "1.0")
    idx.add_wheel("beta", "2.0")
    return idx


def _with_userinfo(url: str, password: str = PASSWORD) -> str:
    return url.replace("http://", f"http://{USER}:{password}@", 1)


def _files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def assert_secret_absent(outputs: list[str], *folders: Path) -> None:
    for text in outputs:
        assert PASSWORD not in text, text
    for path in _files_under(*folders):
        data = path.read_bytes()
        assert PASSWORD.encode() not in data, f"the password is in {path}"


def _prefix(python: Path) -> Path:
    return python.parent.parent


def test_index_without_credentials_answers_401(private, venv_factory, run_cli, tmp_path):
    """The world is real: without credentials nothing can be read, and the error says so cleanly."""
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    proc = run_cli("plan", project, "--python", python, "--index-url", private.url)
    assert proc.returncode == 2, proc.stderr
    assert "401" in proc.stderr and "Traceback" not in proc.stderr


def test_password_in_the_index_url_works_for_plan_sync_and_baseline_and_is_never_written(
        private, venv_factory, run_cli, tmp_path, incrinstall_cache):
    project = write_project(tmp_path / "proj", ["alpha"])
    url = _with_userinfo(private.url)
    outputs = []
    python = venv_factory()
    for command in (["plan", project, "--json"], ["sync", project], ["sync", project, "--json"],
                    ["plan", project, "-v"]):
        proc = run_cli(*command, "--python", python, "--index-url", url)
        outputs += [proc.stdout, proc.stderr]
        assert proc.returncode == 0, proc.stderr
    assert installed(python)["alpha"] == "1.0" and installed(python)["beta"] == "2.0"
    # The baseline: uv resolves (uv_resolve.py) and installs, with the same URL.
    python2 = venv_factory()
    proc = run_cli("baseline", project, "--python", python2, "--index-url", url)
    outputs += [proc.stdout, proc.stderr]
    assert proc.returncode == 0, proc.stderr
    assert installed(python2)["beta"] == "2.0"
    # Files were fetched from the index host with the credentials too (the files URLs carry none).
    assert any(p.startswith("/files/") for _m, p in private.requests)
    lock = (_prefix(python) / ".incrinstall" / "pylock.toml").read_text()
    assert "/files/beta-2.0-py3-none-any.whl" in lock  # the state does record the file URL...
    assert_secret_absent(outputs, _prefix(python) / ".incrinstall", _prefix(python2) / ".incrinstall",
                         incrinstall_cache)


def test_netrc_credentials_work_for_plan_and_sync_and_are_never_written(
        private, venv_factory, run_cli, tmp_path, incrinstall_cache):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {PASSWORD}\n")
    netrc.chmod(0o600)
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    outputs = []
    for command in (["plan", project, "--json"], ["sync", project]):
        proc = run_cli(*command, "--python", python, "--index-url", private.url, env={"NETRC": str(netrc)})
        outputs += [proc.stdout, proc.stderr]
        assert proc.returncode == 0, proc.stderr
    assert installed(python)["alpha"] == "1.0"
    python2 = venv_factory()
    proc = run_cli("baseline", project, "--python", python2, "--index-url", private.url, env={"NETRC": str(netrc)})
    outputs += [proc.stdout, proc.stderr]
    assert proc.returncode == 0, proc.stderr
    assert installed(python2)["alpha"] == "1.0"
    assert_secret_absent(outputs, _prefix(python) / ".incrinstall", _prefix(python2) / ".incrinstall",
                         incrinstall_cache)


def test_a_wrong_password_fails_clearly_without_printing_it(private, venv_factory, run_cli, tmp_path,
                                                            incrinstall_cache):
    wrong = "Wrong-pw-77x"
    project = write_project(tmp_path / "proj", ["alpha"])
    python = venv_factory()
    for command in ("plan", "sync"):
        proc = run_cli(command, project, "--python", python, "--index-url", _with_userinfo(private.url, wrong))
        assert proc.returncode == 2, proc.stderr
        assert "401" in proc.stderr
        assert wrong not in proc.stdout + proc.stderr
    for path in _files_under(incrinstall_cache, _prefix(python) / ".incrinstall"):
        assert wrong.encode() not in path.read_bytes(), path


def test_the_stamp_options_name_the_index_without_its_password():
    from incrinstall.common.config import index_config

    config = index_config("https://alice:hunter22@pkgs.example/simple/", environ={})
    text = json.dumps(config.as_dict())
    assert "hunter22" not in text and "pkgs.example" in text


def test_a_netrc_that_cannot_be_parsed_is_named_in_the_401_without_its_text(private, venv_factory, run_cli, tmp_path):
    """A broken netrc is skipped, as uv skips it; the 401 then says which file and line, never the text."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  passwd {PASSWORD}\n")  # `passwd` is not a netrc word
    project = write_project(tmp_path / "proj", ["alpha"])
    proc = run_cli("plan", project, "--python", venv_factory(), "--index-url", private.url, env={"NETRC": str(netrc)})
    assert proc.returncode == 2, proc.stderr
    assert f"{netrc} was not used: line 3 is not valid netrc syntax" in proc.stderr, proc.stderr
    assert_secret_absent([proc.stdout, proc.stderr])
