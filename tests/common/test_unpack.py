"""The one unpacker refuses every hostile archive and writes nothing outside its folder.

Each case builds the archive by hand, unpacks it into a folder three levels inside a sentinel
folder holding a secret, and checks the refusal and that the sentinel (everything but the
unpack folder) is byte for byte as it was. Tar cases run twice: through the standard library's
`data` filter (PEP 706) and through the fallback for Pythons that lack it. The last cases serve
the same kinds of sdist from the loopback index and ask the index client for their metadata.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from incrinstall.common import unpack as unpack_module
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import ArchiveError
from incrinstall.common.unpack import unpack
from incrinstall.index.client import IndexClient
from tests.support.archives import tar_file, tar_link, tar_special, write_tar, write_zip

LIMIT = 1 << 20


@dataclass(frozen=True)
class Scratch:
    sentinel: Path  # holds secret.txt and, three levels down, the unpack folder
    tree: Path
    archives: Path  # where the test writes its archives, outside the sentinel


@pytest.fixture
def scratch(tmp_path) -> Scratch:
    sentinel = tmp_path / "sentinel"
    tree = sentinel / "a" / "b" / "tree"
    tree.mkdir(parents=True)
    (sentinel / "secret.txt").write_text("keep me")
    archives = tmp_path / "archives"
    archives.mkdir()
    return Scratch(sentinel, tree, archives)


def outside(sentinel: Path, tree: Path | None = None) -> dict[str, tuple[str, bytes | str]]:
    """Everything under `sentinel` except `tree`: kind and content (or link target) of each entry."""
    seen: dict[str, tuple[str, bytes | str]] = {}
    for root, dirs, files in os.walk(sentinel):
        here = Path(root)
        if tree is not None and here == tree:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = here / name
            rel = str(path.relative_to(sentinel))
            if path.is_symlink():
                seen[rel] = ("symlink", os.readlink(path))
            elif path.is_dir():
                seen[rel] = ("dir", b"")
            elif path.is_file():
                seen[rel] = ("file", path.read_bytes())
            else:
                seen[rel] = ("special", b"")
    return seen


def refused(archive: Path, scratch: Scratch, match: str, *, max_size: int = LIMIT) -> ArchiveError:
    before = outside(scratch.sentinel, scratch.tree)
    with pytest.raises(ArchiveError, match=match) as caught:
        unpack(archive, scratch.tree, display=archive.name, max_size=max_size)
    assert outside(scratch.sentinel, scratch.tree) == before
    assert (scratch.sentinel / "secret.txt").read_text() == "keep me"
    assert caught.value.where == archive.name
    return caught.value


# -- building tar archives ------------------------------------------------------------------------------------


def make_tar(path: Path, entries, mode: str = "w:gz") -> Path:
    """Exactly these entries, after a harmless first file (a refusal mid-way must still write nothing outside)."""
    return write_tar(path, [tar_file("pkg/setup.py", b""), *entries], mode)


@pytest.fixture(params=["data filter", "fallback"])
def tar_filter(request, monkeypatch) -> str:
    """Run a tar case through tarfile.data_filter and again as on a Python without PEP 706."""
    if request.param == "fallback":
        monkeypatch.delattr(tarfile, "data_filter")
        # what tarfile did before PEP 706: extract what it is given (and no deprecation warning on 3.12+)
        monkeypatch.setattr(tarfile.TarFile, "extraction_filter", staticmethod(tarfile.fully_trusted_filter))
    return request.param


# -- tar: one test per hostile input ----------------------------------------------------------------------------


def test_tar_dotdot_traversal_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [tar_file("pkg/../../../../secret.txt", b"pwned")])
    error = refused(path, scratch, "'..' in its path")
    assert "'pkg/../../../../secret.txt'" in error.message


def test_tar_absolute_path_is_refused(scratch, tar_filter):
    # the data filter alone would strip the "/" and extract it into the tree; we refuse
    path = make_tar(scratch.archives / "t.tar.gz", [tar_file(f"{scratch.sentinel}/secret.txt", b"pwned")])
    refused(path, scratch, "absolute path")
    assert not (scratch.tree / str(scratch.sentinel).lstrip("/")).exists()


def test_tar_symlink_pointing_outside_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/evil", "../../../../secret.txt"), tar_file("pkg/evil", b"pwned")])
    refused(path, scratch, r"refusing symlink 'pkg/evil' -> '\.\./\.\./\.\./\.\./secret\.txt': points outside")


def test_tar_symlink_with_absolute_target_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [tar_link("pkg/evil", str(scratch.sentinel / "secret.txt")),
                                                    tar_file("pkg/evil", b"pwned")])
    refused(path, scratch, "refusing symlink 'pkg/evil' .*absolute target")


def test_tar_chained_symlinks_pointing_outside_are_refused(scratch, tar_filter):
    # a -> b looks harmless; b -> ../../.. leaves the tree
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/a", "b"), tar_link("pkg/b", "../../../../secret.txt"), tar_file("pkg/a", b"pwned")])
    refused(path, scratch, "refusing symlink 'pkg/b'.*points outside")


def test_tar_symlink_escaping_only_through_a_later_symlink_is_refused(scratch, tar_filter):
    # When x is extracted, y does not exist, so x -> y/y/y/../../../.. resolves inside (to the tree);
    # once y -> "." exists, x is the sentinel folder. Writing through x is refused, and so is x itself.
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/x", "y/y/y/../../../.."), tar_link("pkg/y", "."), tar_file("pkg/x/secret.txt", b"pwned")])
    refused(path, scratch, "'pkg/x/secret.txt': its path resolves outside the archive")

    shutil.rmtree(scratch.tree)  # as the caller does after a refusal
    scratch.tree.mkdir()
    sneaky = make_tar(scratch.archives / "u.tar.gz", [tar_link("pkg/x", "y/y/y/../../../.."), tar_link("pkg/y", ".")])
    refused(sneaky, scratch, "refusing symlink 'pkg/x' .*resolves outside the archive")


def test_tar_hardlink_pointing_outside_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/h", "../../../../secret.txt", tarfile.LNKTYPE), tar_file("pkg/h", b"pwned")])
    refused(path, scratch, r"refusing hard link 'pkg/h' -> .*: points outside the archive")


def test_tar_hardlink_to_a_symlink_that_points_outside_is_refused(scratch, tar_filter):
    # s resolves inside while y is missing, outside once y -> "." exists; h would then share the secret's inode
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/s", "y/y/y/../../../../secret.txt"), tar_link("pkg/y", "."),
        tar_link("pkg/h", "pkg/s", tarfile.LNKTYPE), tar_file("pkg/h", b"pwned")])
    refused(path, scratch, "refusing hard link 'pkg/h' -> 'pkg/s': not an earlier file")


def test_tar_hardlink_to_a_later_or_missing_member_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [
        tar_link("pkg/h", "pkg/later.txt", tarfile.LNKTYPE), tar_file("pkg/later.txt")])
    refused(path, scratch, "not an earlier file in the archive")


def test_tar_character_device_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [tar_special("pkg/null", tarfile.CHRTYPE)])
    refused(path, scratch, "'pkg/null': character device")
    assert not (scratch.tree / "pkg/null").exists()


def test_tar_block_device_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [tar_special("pkg/sda", tarfile.BLKTYPE)])
    refused(path, scratch, "'pkg/sda': block device")


def test_tar_fifo_is_refused(scratch, tar_filter):
    path = make_tar(scratch.archives / "t.tar.gz", [tar_special("pkg/pipe", tarfile.FIFOTYPE)])
    refused(path, scratch, "'pkg/pipe': fifo")
    assert not os.path.lexists(scratch.tree / "pkg/pipe")


def test_tar_decompression_bomb_is_refused_before_anything_is_written(scratch, tar_filter):
    big = b"\0" * (8 * LIMIT)
    path = make_tar(scratch.archives / "bomb.tar.gz", [tar_file("pkg/big.bin", big)])
    assert path.stat().st_size < LIMIT // 16  # small on disk, eight times the limit unpacked
    refused(path, scratch, f"'pkg/big.bin': unpacked size would exceed the limit of {LIMIT} bytes")
    assert list(scratch.tree.iterdir()) == []


def test_tar_bomb_is_also_caught_by_the_bytes_written(scratch, tar_filter, monkeypatch):
    monkeypatch.setattr(unpack_module, "_check_declared_size", lambda *args: None)
    path = make_tar(scratch.archives / "bomb.tar.gz", [tar_file("pkg/a.bin", b"\0" * LIMIT), tar_file("pkg/b.bin", b"1")])
    refused(path, scratch, f"'pkg/b.bin': unpacked size exceeds the limit of {LIMIT} bytes")


def test_tar_with_too_many_members_is_refused(scratch, tar_filter, monkeypatch):
    monkeypatch.setattr(unpack_module, "MAX_MEMBERS", 5)
    path = make_tar(scratch.archives / "many.tar", [tar_file(f"pkg/{n}.txt") for n in range(10)], "w")
    refused(path, scratch, "more than 5 members")
    assert list(scratch.tree.iterdir()) == []


def _raw_tar(path: Path, blocks: list[bytes]) -> Path:
    path.write_bytes(b"".join(blocks))
    return path


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


def test_tar_member_longer_than_its_header_says_is_refused(scratch, tar_filter):
    # tarfile reads 10 bytes, then takes the rest of the data for the next header, finds none and
    # would end the archive there without a word: pkg/after.txt would silently go missing
    header, _ = tar_file("pkg/short.txt", b"0123456789")
    after, data = tar_file("pkg/after.txt", b"after")
    path = _raw_tar(scratch.archives / "long.tar", [
        header.tobuf(), _pad(b"x" * 2000), after.tobuf(), _pad(data), b"\0" * 1024])
    refused(path, scratch, "'pkg/short.txt': it is followed by data that is not a tar header")
    assert not (scratch.tree / "pkg/after.txt").exists()


@pytest.mark.parametrize("compressed", [False, True])
def test_tar_member_truncated_by_the_end_of_the_archive_is_refused(scratch, tar_filter, compressed):
    header, _ = tar_file("pkg/cut.txt", b"y" * 5000)
    raw = header.tobuf() + b"y" * 100  # the archive ends 4900 bytes early
    path = scratch.archives / ("cut.tar.gz" if compressed else "cut.tar")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    refused(path, scratch, "after member 'pkg/cut.txt': unexpected end of data")


def test_a_good_tar_keeps_links_inside_and_executable_bits(scratch, tar_filter):
    path = make_tar(scratch.archives / "good.tar.gz", [
        tar_file("pkg/bin/run", b"#!/bin/sh\n", mode=0o4777), tar_file("pkg/README", b"hi", mode=0o600),
        tar_link("pkg/docs/README", "../README"), tar_link("pkg/copy", "pkg/README", tarfile.LNKTYPE)])
    members = unpack(path, scratch.tree, display="good.tar.gz", max_size=LIMIT)
    assert [(m.name, m.kind) for m in members] == [
        ("pkg/setup.py", "file"), ("pkg/bin/run", "file"), ("pkg/README", "file"),
        ("pkg/docs/README", "symlink"), ("pkg/copy", "hardlink")]
    run = scratch.tree / "pkg/bin/run"
    assert os.access(run, os.X_OK) and not run.stat().st_mode & 0o7000  # no setuid from an archive
    assert (scratch.tree / "pkg/docs/README").read_bytes() == b"hi"
    assert (scratch.tree / "pkg/copy").read_bytes() == b"hi"
    assert not os.access(scratch.tree / "pkg/README", os.X_OK)


# -- zip: names checked, then extracted -------------------------------------------------------------------------


def make_zip(path: Path, entries: list[tuple[str, bytes]], *, symlinks: dict[str, str] | None = None,
             devices: tuple[str, ...] | list[str] = ()) -> Path:
    """These entries (names exactly as given), after a harmless first file, then `symlinks` and `devices`."""
    return write_zip(path, [("pkg/setup.py", b""), *entries], symlinks=symlinks, devices=devices)


@pytest.mark.parametrize("name, why", [
    ("pkg/../../../../secret.txt", "'..' in its path"),
    ("pkg\\..\\..\\..\\..\\secret.txt", "'..' in its path"),
    ("/etc/evil.txt", "absolute path"),
    ("C:/evil.txt", "absolute path"),
    ("pkg\\evil.txt", "backslash in its name"),
])  # fmt: skip
def test_zip_with_an_escaping_or_foreign_name_is_refused(scratch, name, why):
    path = make_zip(scratch.archives / "n.zip", [(name, b"pwned")])
    error = refused(path, scratch, why)
    assert repr(name) in error.message
    assert list(scratch.tree.iterdir()) == []  # names are checked before anything is written


def test_zip_with_duplicate_names_is_refused(scratch):
    path = make_zip(scratch.archives / "d.zip", [("pkg/a.txt", b"one"), ("pkg/a.txt", b"two")])
    refused(path, scratch, "'pkg/a.txt': the archive has this name twice")
    assert list(scratch.tree.iterdir()) == []


def test_zip_with_a_name_inside_a_file_is_refused(scratch):
    path = make_zip(scratch.archives / "o.zip", [("pkg/a", b"file"), ("pkg/a/b", b"inside a file")])
    refused(path, scratch, "'pkg/a/b': lies inside 'pkg/a', which is a file, not a folder")


def test_zip_with_a_name_inside_a_symlink_is_refused(scratch):
    # writing pkg/up/secret.txt would follow pkg/up wherever it points
    path = make_zip(scratch.archives / "o.zip", [("pkg/up/secret.txt", b"pwned")], symlinks={"pkg/up": "."})
    refused(path, scratch, "'pkg/up/secret.txt': lies inside 'pkg/up', which is a symlink")


def test_zip_symlink_pointing_outside_is_refused(scratch):
    path = make_zip(scratch.archives / "s.zip", [], symlinks={"pkg/evil": "../../../../secret.txt"})
    refused(path, scratch, "refusing symlink 'pkg/evil'.*points outside")


def test_zip_symlinks_escaping_together_are_refused(scratch):
    path = make_zip(scratch.archives / "s.zip", [], symlinks={"pkg/x": "y/y/y/../../../..", "pkg/y": "."})
    refused(path, scratch, "refusing symlink 'pkg/x' .*resolves outside the archive")


def test_zip_device_entry_is_refused(scratch):
    path = make_zip(scratch.archives / "dev.zip", [], devices=["pkg/null"])
    refused(path, scratch, "'pkg/null': special file")


def test_zip_decompression_bomb_is_refused_before_anything_is_written(scratch):
    path = make_zip(scratch.archives / "bomb.zip", [("pkg/big.bin", b"\0" * (8 * LIMIT))])
    assert path.stat().st_size < LIMIT // 16
    refused(path, scratch, f"'pkg/big.bin': unpacked size would exceed the limit of {LIMIT} bytes")
    assert list(scratch.tree.iterdir()) == []


def test_zip_bomb_is_also_caught_by_the_bytes_written(scratch, monkeypatch):
    monkeypatch.setattr(unpack_module, "_check_declared_size", lambda *args: None)
    path = make_zip(scratch.archives / "bomb.zip", [("pkg/big.bin", b"\0" * (2 * LIMIT))])
    refused(path, scratch, f"'pkg/big.bin': unpacked size exceeds the limit of {LIMIT} bytes")


# -- the same inside an sdist served by the index ---------------------------------------------------------------


PKG_INFO = b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"  # before 2.2: the client must build metadata
PYPROJECT = b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def evil_sdist(folder: Path, entries, *, kind: str = "tar") -> Path:
    """evil-1.0 with PKG-INFO and pyproject.toml first, then the hostile entries."""
    good = [("evil-1.0/PKG-INFO", PKG_INFO), ("evil-1.0/pyproject.toml", PYPROJECT)]
    if kind == "zip":
        return make_zip(folder / "evil-1.0.zip", good + entries)
    return write_tar(folder / "evil-1.0.tar.gz", [tar_file(name, data) for name, data in good] + list(entries))


@pytest.mark.parametrize("case", ["traversal", "symlink out", "device", "bomb", "zip traversal"])
def test_a_hostile_sdist_from_the_index_is_refused_when_its_metadata_is_built(
        index, scratch, tmp_path, monkeypatch, case):
    from incrinstall.backends import backend

    entries, kind, why = {
        "traversal": ([tar_file("evil-1.0/../../secret.txt", b"pwned")], "tar", "'..' in its path"),
        "symlink out": ([tar_link("evil-1.0/up", "../../../secret.txt"), tar_file("evil-1.0/up", b"pwned")], "tar",
                        "refusing symlink 'evil-1.0/up'.*points outside"),
        "device": ([tar_special("evil-1.0/null", tarfile.CHRTYPE)], "tar", "'evil-1.0/null': character device"),
        "bomb": ([tar_file("evil-1.0/big.bin", b"\0" * (4 * LIMIT))], "tar", "unpacked size would exceed the limit"),
        "zip traversal": ([("evil-1.0/../../secret.txt", b"pwned")], "zip", "'..' in its path"),
    }[case]
    monkeypatch.setattr(backend, "_SDIST_MAX_SIZE", LIMIT)
    index.add_file(evil_sdist(scratch.archives, entries, kind=kind))
    # the build's temporary folder goes inside the sentinel, so an escape would land there
    work = scratch.sentinel / "a" / "b"
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    client = IndexClient(IndexConfig(index_url=index.url), python_full_version="3.12.4", tags=["py3-none-any"],
                         cache_dir=tmp_path / "cache")
    before = outside(scratch.sentinel)
    version = client.versions("evil")[0]
    with pytest.raises(ArchiveError, match=why) as caught:
        client.metadata(version)
    assert caught.value.where == version.best.filename
    assert outside(scratch.sentinel) == before  # the build folder is gone too, and nothing escaped it
    assert (scratch.sentinel / "secret.txt").read_text() == "keep me"
