"""The one unpacker: source archives (archive.py) and sdists from an index (build/backend.py) alike.

Both are untrusted input, so both get every check; nothing is extracted by tarfile's or
zipfile's own `extractall`, which follow whatever the archive says.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from incrinstall.common.errors import ArchiveError

SUPPORTED = ".tar.gz, .tgz, .tar, .tar.bz2, .tar.xz, .zip"
_CHUNK = 1 << 16
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")


@dataclass(frozen=True)
class Member:
    """One archive entry after validation, independent of tar or zip."""

    name: str  # normalized relative path, "/"-separated, no "." or ".." parts
    kind: str  # "file", "dir", "symlink" or "hardlink"
    size: int = 0
    executable: bool = False
    link: str = ""  # symlink: target as written; hardlink: normalized name of the earlier member
    ref: object = None  # the TarInfo / ZipInfo to read contents from


def _sniff(path: Path) -> str | None:
    """"tar" or "zip" from the file's first bytes, else from its name, else None."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return "tar"
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    return None


def unpack(archive: Path, tree: Path, *, display: str, max_size: int, supported: str = SUPPORTED) -> list[Member]:
    """Unpack a tar (any compression) or zip `archive` into the existing folder `tree`; the members written.

    Every member is checked before anything is written (absolute paths, `..`, links that leave the
    tree, special files, the declared total size against `max_size`), tar members also by the
    standard library's `data` extraction filter (PEP 706) where Python has it, and again while
    writing (a parent reached through an earlier symlink, the bytes actually written). A refusal
    raises ArchiveError naming `display` and the member.
    """
    import lzma
    import tarfile
    import zipfile
    import zlib

    fmt = _sniff(archive)
    if fmt is None:
        raise ArchiveError(f"unknown archive format (supported: {supported})", where=display)
    unreadable = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, RuntimeError,
                  NotImplementedError, OSError)  # fmt: skip
    try:
        if fmt == "zip":
            with zipfile.ZipFile(archive) as zf:
                members = _zip_members(zf, display)
                _check_declared_size(members, max_size, display)
                _write_tree(members, zf.open, tree, max_size, display)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = _tar_members(tf, display, tree)
                _check_declared_size(members, max_size, display)
                _write_tree(members, tf.extractfile, tree, max_size, display)
    except ArchiveError:
        raise
    except unreadable as exc:
        raise ArchiveError(f"cannot unpack the {fmt} archive: {exc}", where=display) from None
    if not members:
        raise ArchiveError("the archive is empty", where=display)
    return members


def _safe_name(name: str, display: str) -> str:
    """The member's path relative to the tree; refuse absolute paths and `..` (in either separator style)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"refusing member {name!r}: absolute path", where=display)
    if ".." in name.replace("\\", "/").split("/"):
        raise ArchiveError(f"refusing member {name!r}: '..' in its path", where=display)
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _check_symlink(name: str, target: str, display: str) -> None:
    if not target or target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
        raise ArchiveError(f"refusing symlink {name!r} -> {target!r}: absolute or empty target", where=display)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target.replace("\\", "/")))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"refusing symlink {name!r} -> {target!r}: points outside the archive", where=display)


def _tar_members(tf, display: str, tree: Path) -> list[Member]:
    import tarfile

    members: list[Member] = []
    files: dict[str, int] = {}  # regular files seen so far -> size, for hard links
    for info in tf.getmembers():
        name = _safe_name(info.name, display)
        if info.issym():
            _check_symlink(info.name, info.linkname, display)
            member = Member(name, "symlink", link=info.linkname, ref=info)
        elif info.islnk():
            try:
                target = _safe_name(info.linkname, display)
            except ArchiveError:
                raise ArchiveError(
                    f"refusing hard link {info.name!r} -> {info.linkname!r}: points outside the archive", where=display
                ) from None
            if target not in files:
                raise ArchiveError(
                    f"refusing hard link {info.name!r} -> {info.linkname!r}: not an earlier file in the archive",
                    where=display,
                )
            member = Member(name, "hardlink", size=files[target], link=target, ref=info)
        elif info.isdir():
            member = Member(name, "dir", ref=info)
        elif info.isfile():
            member = Member(name, "file", size=info.size, executable=bool(info.mode & 0o100), ref=info)
        else:
            kind = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}
            what = kind.get(info.type, f"special file (type {info.type!r})")
            raise ArchiveError(f"refusing member {info.name!r}: {what}", where=display)
        if hasattr(tarfile, "data_filter"):
            # defence in depth: the standard library's own rules (Python >= 3.11.4 / 3.12) must agree too
            try:
                tarfile.data_filter(info, str(tree))
            except tarfile.FilterError as exc:
                raise ArchiveError(f"refusing member {info.name!r}: {exc}", where=display) from None
        if not name:
            continue  # "./" itself: the tree already exists
        if member.kind == "file":
            files[name] = member.size
        else:
            files.pop(name, None)
        members.append(member)
    return members


def _zip_members(zf, display: str) -> list[Member]:
    import stat

    members: list[Member] = []
    for info in zf.infolist():
        name = _safe_name(info.filename, display)
        mode = info.external_attr >> 16  # unix mode, when the zip was made on unix
        fmt = stat.S_IFMT(mode)
        if fmt == stat.S_IFLNK:
            if info.file_size > 4096:
                raise ArchiveError(f"refusing symlink {info.filename!r}: implausibly long target", where=display)
            target = os.fsdecode(zf.read(info))
            _check_symlink(info.filename, target, display)
            member = Member(name, "symlink", link=target, ref=info)
        elif info.is_dir() or fmt == stat.S_IFDIR:
            member = Member(name, "dir", ref=info)
        elif fmt in (0, stat.S_IFREG):
            member = Member(name, "file", size=info.file_size, executable=bool(mode & 0o100), ref=info)
        else:
            raise ArchiveError(f"refusing member {info.filename!r}: special file (mode {oct(mode)})", where=display)
        if name:
            members.append(member)
    return members


def _check_declared_size(members: list[Member], max_size: int, display: str) -> None:
    total = 0
    for member in members:
        total += member.size
        if total > max_size:
            raise ArchiveError(
                f"refusing member {member.name!r}: unpacked size would exceed the limit of {max_size} bytes",
                where=display,
            )


def _write_tree(
    members: list[Member], open_member: Callable[[object], IO[bytes]], tree: Path, max_size: int, display: str
) -> None:
    """Create every member under `tree`, checking each real path as it goes; count bytes actually written."""
    base = os.path.realpath(tree)

    def inside(path: str | Path) -> bool:
        real = os.path.realpath(path)
        return real == base or real.startswith(base + os.sep)

    def refuse(member: Member, why: str) -> ArchiveError:
        return ArchiveError(f"refusing member {member.name!r}: {why}", where=display)

    written = 0
    symlinks: list[tuple[Member, Path]] = []
    for member in members:
        dest = tree / member.name
        # a parent reached through an earlier symlink must still resolve inside the tree
        if not inside(dest.parent):
            raise refuse(member, "its folder resolves outside the archive (through a symlink)")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if member.kind == "dir":
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                dest.unlink()
            dest.mkdir(exist_ok=True)
            continue
        if dest.is_dir() and not dest.is_symlink():
            raise refuse(member, "clashes with a folder of the same name")
        if dest.is_symlink() or dest.exists():
            dest.unlink()  # later members win, as in tar; never write through an existing link
        if member.kind == "symlink":
            os.symlink(member.link, dest)
            if not inside(dest):
                raise refuse(member, f"symlink to {member.link!r} resolves outside the archive")
            symlinks.append((member, dest))
            continue
        if member.kind == "hardlink":
            source = tree / member.link
            if not inside(source) or not source.is_file():
                raise refuse(member, f"hard link to {member.link!r} does not resolve to a file in the archive")
            reader: IO[bytes] = open(source, "rb")
            executable = os.access(source, os.X_OK)
        else:
            reader = open_member(member.ref)
            executable = member.executable
        with reader, open(dest, "xb") as out:  # "x": never follow or reuse whatever is there
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > max_size:
                    raise refuse(member, f"unpacked size exceeds the limit of {max_size} bytes")
                out.write(chunk)
        os.chmod(dest, 0o755 if executable else 0o644)
    # a later symlink can change where an earlier one resolves; check them all in the finished tree
    for member, dest in symlinks:
        if not inside(dest):
            raise refuse(member, f"symlink to {member.link!r} resolves outside the archive")
