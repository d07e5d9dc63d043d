"""install/installer.py's install file: a lock's files go to uv as a PEP 751 file, so uv installs exactly those."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.pylock import Pylock

from incrinstall.install.installer import InstallItem, _install_file

REGISTRY = "https://example.org/simple/"


def locked(name: str, version: str, filename: str, digest: str = "ab" * 32) -> InstallItem:
    return InstallItem(name, version, (f"sha256:{digest}",), None, f"https://example.org/files/{filename}",
                       index=REGISTRY)


def test_a_locks_files_and_the_projects_wheel_make_one_valid_pylock(tmp_path):
    wheel = tmp_path / "app-0.1-py3-none-any.whl"
    items = [locked("alpha", "1.0", "alpha-1.0-py3-none-any.whl"), locked("sdisted", "2.0", "sdisted-2.0.tar.gz"),
             InstallItem("app", "0.1", ("sha256:" + "cd" * 32,), wheel.as_uri())]
    path, hashed = _install_file(items, str(tmp_path))
    assert Path(path).name.startswith("pylock.") and hashed
    lock = Pylock.from_dict(tomllib.loads(Path(path).read_text()))  # PEP 751's own validation
    by_name = {p.name: p for p in lock.packages}
    assert by_name["alpha"].index == REGISTRY and by_name["alpha"].wheels[0].url.endswith("alpha-1.0-py3-none-any.whl")
    assert by_name["sdisted"].sdist.url.endswith("sdisted-2.0.tar.gz")
    assert by_name["app"].archive.path == str(wheel)  # a local file by path: uv takes no file: URL there


def test_a_locked_file_without_a_hash_is_installed_from_its_url(tmp_path):
    items = [locked("alpha", "1.0", "alpha-1.0-py3-none-any.whl"),
             InstallItem("linked", "3.0", (), None, "file:///wheels/linked-3.0-py3-none-any.whl", index="")]
    path, hashed = _install_file(items, str(tmp_path))
    assert path.endswith(".txt") and not hashed
    assert Path(path).read_text().splitlines() == ["alpha @ https://example.org/files/alpha-1.0-py3-none-any.whl",
                                                   "linked @ file:///wheels/linked-3.0-py3-none-any.whl"]


def test_without_a_lock_the_requirements_file_is_as_before(tmp_path):
    items = [InstallItem("alpha", "1.0", ("sha256:" + "ab" * 32,))]
    path, hashed = _install_file(items, str(tmp_path))
    assert Path(path).read_text() == f"alpha==1.0 --hash=sha256:{'ab' * 32}\n" and hashed
