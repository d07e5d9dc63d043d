"""sdists from an index are untrusted: they are unpacked by the same checked unpacker as source archives."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from incrinstall.backends import backend
from incrinstall.common.errors import ArchiveError


def tar_sdist(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def test_a_normal_sdist_unpacks_to_its_project_folder(tmp_path):
    sdist = tar_sdist(tmp_path / "pkg-1.0.tar.gz", [
        (file("pkg-1.0/pyproject.toml"), b"[project]\nname = 'pkg'\n"), (file("pkg-1.0/pkg/__init__.py"), b"")])
    root = backend._unpack_sdist(sdist, tmp_path / "out")
    assert root == tmp_path / "out" / "pkg-1.0"
    assert (root / "pyproject.toml").read_bytes() == b"[project]\nname = 'pkg'\n"


@pytest.mark.parametrize("member, why", [
    ((file("../escape.txt"), b"x"), "'..'"),
    ((file("/etc/evil"), b"x"), "absolute path"),
    ((link("pkg-1.0/up", "/etc/passwd"), b""), "absolute"),
    ((link("pkg-1.0/up", "../../outside"), b""), "outside"),
])
def test_an_sdist_member_that_leaves_the_folder_is_refused_before_anything_is_written(tmp_path, member, why):
    sdist = tar_sdist(tmp_path / "pkg-1.0.tar.gz", [(file("pkg-1.0/setup.py"), b""), member])
    with pytest.raises(ArchiveError, match=why):
        backend._unpack_sdist(sdist, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "outside").exists()


def test_a_zip_sdist_with_an_escaping_name_is_refused(tmp_path):
    sdist = tmp_path / "pkg-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as zf:
        zf.writestr("pkg-1.0/setup.py", "")
        zf.writestr("pkg-1.0/../../escape.txt", "x")
    with pytest.raises(ArchiveError, match="'..'"):
        backend._unpack_sdist(sdist, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_an_sdist_bigger_than_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(backend, "_SDIST_MAX_SIZE", 1000)
    sdist = tar_sdist(tmp_path / "pkg-1.0.tar.gz", [(file("pkg-1.0/setup.py"), b""),
                                                     (file("pkg-1.0/big.bin"), b"0" * 5000)])
    with pytest.raises(ArchiveError, match="exceed the limit of 1000 bytes"):
        backend._unpack_sdist(sdist, tmp_path / "out")
