"""The uv runner (common/uv.UvRunner) is a parameter: the uv resolution and the installer run every uv call through
the one they are handed.

A fake runner records the calls and answers them, so what incrinstall asks of uv, and what it makes of uv's
answer or failure, is tested where a real uv is not the point (the e2e suites run the real one).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from incrinstall.common.errors import InstallError, ResolutionError
from incrinstall.common.uv import failure
from incrinstall.environment.interpreter import find_interpreter
from incrinstall.install import installer
from incrinstall.install.installer import InstallItem
from incrinstall.install.journal import read_journal
from incrinstall.resolve.uv_resolve import resolve_with_uv
from incrinstall.specs.model import RootRequirement

PYTHON = "/target/bin/python"
DIGEST = "ab" * 32


class FakeUv:
    """Records each call (its arguments, and the text of the file it is handed with -r); `answer` decides its outcome."""

    def __init__(self, answer: Callable[[list[str]], None] = lambda args: None):
        self.answer = answer
        self.calls: list[list[str]] = []
        self.files: list[str] = []

    def run(self, args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            what: str = "uv") -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        if "-r" in args:  # read now: the installer deletes it once uv is done
            self.files.append(Path(args[args.index("-r") + 1]).read_text())
        self.answer(args)
        return subprocess.CompletedProcess(args, 0, "", "")


def test_the_installer_installs_then_removes_through_the_runner_it_is_handed(tmp_path):
    prefix, site = tmp_path / "env", tmp_path / "env" / "site"
    site.mkdir(parents=True)
    uv = FakeUv()
    installer.apply(str(prefix), PYTHON, site_dirs=[str(site)], install=[InstallItem("alpha", "1.0", (f"sha256:{DIGEST}",))],
                    remove=["beta"], uv_index_args=["--index-url", "http://127.0.0.1:1/simple"], uv=uv)
    install, uninstall = uv.calls
    assert install[:7] == ["pip", "install", "--python", PYTHON, "--no-deps", "-r", install[6]]
    assert ["--index-url", "http://127.0.0.1:1/simple"] == install[7:9] and "--require-hashes" in install
    assert uv.files == [f"alpha==1.0 --hash=sha256:{DIGEST}\n"]
    assert uninstall == ["pip", "uninstall", "--python", PYTHON, "beta"]
    journal = read_journal(str(prefix))  # kept until the state is recorded: a kill from here on converges
    assert journal is not None and journal.phase == "remove" and journal.install == ["alpha==1.0"]


def test_a_failed_install_names_the_file_uv_could_not_get(tmp_path):
    def refuse(args: list[str]) -> None:
        raise InstallError("installing with uv failed (exit 1): Failed to download `alpha==1.0`")

    site = tmp_path / "env" / "site"
    site.mkdir(parents=True)
    item = InstallItem("alpha", "1.0", file_url="https://files.example/alpha-1.0-py3-none-any.whl")
    with pytest.raises(InstallError) as failed:
        installer.apply(str(tmp_path / "env"), PYTHON, site_dirs=[str(site)], install=[item], remove=[],
                        uv_index_args=[], uv=FakeUv(refuse))
    assert failed.value.message.endswith("(from https://files.example/alpha-1.0-py3-none-any.whl)")


def _pylock_answer(args: list[str]) -> None:
    """`uv pip compile ... -o pylock.toml`: alpha 1.0, one wheel with its hash."""
    Path(args[args.index("-o") + 1]).write_text(
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\nname = "Alpha"\nversion = "1.0"\n'
        f'wheels = [{{ url = "https://files.example/alpha-1.0-py3-none-any.whl", hashes = {{ sha256 = "{DIGEST}" }} }}]\n')


def test_the_uv_resolution_reads_the_pylock_the_runner_wrote():
    uv = FakeUv(_pylock_answer)
    resolution = resolve_with_uv([RootRequirement("alpha>=1", "pyproject.toml:7", "pyproject")],
                                 interpreter=find_interpreter(sys.executable), installed={}, uv_index_args=[], uv=uv)
    [call] = uv.calls
    assert call[:2] == ["pip", "compile"] and "--format" in call and call[call.index("--format") + 1] == "pylock.toml"
    pin = resolution.pins["alpha"]
    assert (pin.version, pin.origin, pin.hashes) == ("1.0", "index", (f"sha256:{DIGEST}",))
    assert resolution.by_uv and resolution.root_sources == {"alpha": ["pyproject.toml:7"]}


def test_uv_finding_no_solution_is_a_resolution_error_with_uvs_explanation_and_the_roots():
    said = "  × No solution found when resolving dependencies:\n  ╰─▶ Because alpha was not found in the package registry"

    def no_solution(args: list[str]) -> None:
        raise failure("resolving with uv", 1, ["uv", *args], said)

    with pytest.raises(ResolutionError) as refused:
        resolve_with_uv([RootRequirement("alpha>=1", "pyproject.toml:7", "pyproject")],
                        interpreter=find_interpreter(sys.executable), installed={}, uv_index_args=[],
                        uv=FakeUv(no_solution))
    assert "alpha was not found in the package registry" in refused.value.detail
    assert "alpha>=1" in refused.value.detail and "pyproject.toml:7" in refused.value.detail


def test_any_other_uv_failure_is_uvs_own_error():
    def offline(args: list[str]) -> None:
        raise failure("resolving with uv", 2, ["uv", *args], "error: Failed to fetch: `https://pypi.example/simple/alpha/`")

    with pytest.raises(InstallError) as failed:
        resolve_with_uv([RootRequirement("alpha", "pyproject.toml:7", "pyproject")],
                        interpreter=find_interpreter(sys.executable), installed={}, uv_index_args=[],
                        uv=FakeUv(offline))
    assert not isinstance(failed.value, ResolutionError) and "Failed to fetch" in failed.value.message
