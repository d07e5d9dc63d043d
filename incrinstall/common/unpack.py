"""The one unpacker: source archives (archive.py) and sdists from an index (build/backend.py) alike.

Both are untrusted. Tar members are extracted by tarfile through the standard library's `data`
extraction filter (PEP 706), wrapped in ours for what it does not know: the size cap, the member
count, hard links only to earlier files, and our error. Zip names are all checked, then extracted.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from incrinstall.common.errors import ArchiveError

SUPPORTED = ".tar.gz, .tgz, .tar, .tar.bz2, .tar.xz, .zip"
MAX_MEMBERS = 200_000  # more entries than any project has: an inode bomb, not a source tree
_CHUNK = 1 << 16
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")


@dataclass(frozen=True)
class Member:
    """One archive entry as written, independent of tar or zip."""

    name: str  # normalized relative path, "/"-separated, no "." or ".." parts
    kind: str  # "file", "dir", "symlink" or "hardlink"
    size: int = 0
    executable: bool = False
    link: str = ""  # symlink: target as written; hardlink: normalized name of the earlier member


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
    """Unpack a tar (any compression) or zip `archive` into the existing, empty folder `tree`; the members written.

    Refused: absolute names, `..`, links that resolve outside the tree (also through other links),
    special files, more than MAX_MEMBERS entries, and more than `max_size` bytes (declared, and
    as written). A refusal raises ArchiveError naming `display` and the member; what was already
    written stays for the caller to remove with its temporary folder.
    """
    fmt = _sniff(archive)
    if fmt is None:
        raise ArchiveError(f"unknown archive format (supported: {supported})", where=display)
    unreadable = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, RuntimeError,
                  NotImplementedError, OSError)  # fmt: skip
    try:
        if fmt == "zip":
            with zipfile.ZipFile(archive) as zf:
                members = _unzip(zf, tree, max_size, display)
        else:
            with tarfile.open(archive, "r:*") as tf:
                members = _untar(tf, tree, max_size, display)
    except ArchiveError:
        raise
    except unreadable as exc:
        raise ArchiveError(f"cannot unpack the {fmt} archive: {exc}", where=display) from None
    if not members:
        raise ArchiveError("the archive is empty", where=display)
    _check_symlinks(members, tree, display)
    return members


# -- shared checks ---------------------------------------------------------------------------------------------


def _safe_name(name: str, display: str) -> str:
    """The member's path relative to the tree; refuse absolute paths and `..` (in either separator style)."""
    # The data filter strips a leading "/" and extracts anyway, and allows a ".." that stays inside;
    # a source archive has neither, so either is refused outright.
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"refusing member {name!r}: absolute path", where=display)
    if ".." in name.replace("\\", "/").split("/"):
        raise ArchiveError(f"refusing member {name!r}: '..' in its path", where=display)
    return "/".join(p for p in name.split("/") if p not in ("", "."))


def _check_count(count: int, display: str) -> None:
    if count > MAX_MEMBERS:
        raise ArchiveError(f"the archive has more than {MAX_MEMBERS} members", where=display)


def _check_declared_size(sizes: list[tuple[str, int]], max_size: int, display: str) -> None:
    """Before anything is written: the sizes the archive declares, summed, against `max_size`."""
    total = 0
    for name, size in sizes:
        total += size
        if total > max_size:
            raise ArchiveError(f"refusing member {name!r}: unpacked size would exceed the limit of {max_size} bytes",
                               where=display)


def _too_big(name: str, max_size: int, display: str) -> ArchiveError:
    return ArchiveError(f"refusing member {name!r}: unpacked size exceeds the limit of {max_size} bytes",
                        where=display)


def _inside(path: str | Path, base: str) -> bool:
    real = os.path.realpath(path)
    return real == base or real.startswith(base + os.sep)


def _check_symlinks(members: list[Member], tree: Path, display: str) -> None:
    """In the finished tree: a later link can change where an earlier one resolves (y -> ., x -> y/../..)."""
    base = os.path.realpath(tree)
    for member in members:
        if member.kind == "symlink" and not _inside(tree / member.name, base):
            raise ArchiveError(f"refusing symlink {member.name!r} -> {member.link!r}: resolves outside the archive",
                               where=display)


# -- tar -------------------------------------------------------------------------------------------------------


def _untar(tf: tarfile.TarFile, tree: Path, max_size: int, display: str) -> list[Member]:
    infos = _tar_infos(tf, display)
    _check_declared_size([(i.name, i.size) for i in infos if i.isreg()], max_size, display)
    guard = _TarGuard(max_size, display)
    tf.errorlevel = 2  # every extraction problem raises; at 1 tarfile logs some and goes on
    filtering = hasattr(tarfile, "data_filter")
    for info in infos:
        try:
            if filtering:
                tf.extract(info, str(tree), filter=guard)
            else:
                # Python without PEP 706 (3.10 before 3.10.12, 3.11 before 3.11.4): our minimal
                # filter, then no owner and no mode from the archive but the executable bit.
                checked = guard(info, str(tree))
                tf.extract(checked, str(tree), set_attrs=False)
                if checked.isreg():
                    os.chmod(tree / checked.name, 0o755 if checked.mode & 0o100 else 0o644)
        except (OSError, tarfile.TarError) as exc:  # refusals are ArchiveError already: these are write failures
            raise ArchiveError(f"cannot unpack member {info.name!r}: {exc}", where=display) from None
    _check_tar_end(tf, infos, display)
    return guard.members


def _tar_infos(tf: tarfile.TarFile, display: str) -> list[tarfile.TarInfo]:
    """Every header, read lazily so a header bomb stops at MAX_MEMBERS; a read error names the last good member."""
    infos: list[tarfile.TarInfo] = []
    try:
        for info in tf:
            infos.append(info)
            _check_count(len(infos), display)
    except (tarfile.ReadError, EOFError, zlib.error, lzma.LZMAError) as exc:
        if not infos:
            raise
        # tarfile says "unexpected end of data" for a member whose data the archive does not hold
        raise ArchiveError(f"cannot unpack the tar archive after member {infos[-1].name!r}: {exc}",
                           where=display) from None
    return infos


def _check_tar_end(tf: tarfile.TarFile, infos: list[tarfile.TarInfo], display: str) -> None:
    """tarfile ends an archive quietly at a block that is not a header; here that is an error.

    Such a block follows a member longer than its header says (its tail would be read as the next
    header) or junk after the last member; either way the rest of the archive would vanish unread.
    Checked after extracting, where the stream is just before that block (gzip cannot seek back cheaply).
    """
    tf.fileobj.seek(tf.offset)
    block = tf.fileobj.read(tarfile.BLOCKSIZE)
    if block.strip(b"\0"):
        last = infos[-1].name if infos else ""
        raise ArchiveError(f"refusing member {last!r}: it is followed by data that is not a tar header "
                           "(is the member longer than its header says?)", where=display)


def _special_kind(info: tarfile.TarInfo) -> str:
    kinds = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}
    return kinds.get(info.type, f"special file (type {info.type!r})")


class _TarGuard:
    """Our tar extraction filter, called by tarfile just before it extracts each member (in order).

    The `data` filter decides what it knows (special files, paths and links that resolve outside,
    owners and mode bits); this adds the size cap (tarfile writes exactly a member's declared size
    or fails, so counting here counts the bytes written), hard links only to earlier regular
    files, and refusals worded as ArchiveError. It keeps the members it let through.
    """

    def __init__(self, max_size: int, display: str):
        self.max_size = max_size
        self.display = display
        self.written = 0
        self.files: set[str] = set()  # regular files (and links to them) extracted so far
        self.members: list[Member] = []

    def __call__(self, info: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        name = _safe_name(info.name, self.display)
        if info.islnk():
            self._check_hard_link(info)
        elif info.isreg():
            self.written += info.size
            if self.written > self.max_size:
                raise _too_big(info.name, self.max_size, self.display)
        data_filter = getattr(tarfile, "data_filter", None)
        try:
            checked = data_filter(info, dest) if data_filter else self._fallback_filter(info, dest)
        except getattr(tarfile, "FilterError", ()) as exc:
            raise self._refusal(exc, info) from None
        target = os.path.join(dest, name)
        if not info.isdir() and os.path.isdir(target) and not os.path.islink(target):
            # also keeps tarfile off its link fallback, which extracts an unfiltered member (CPython gh-135034)
            raise self._refuse(info, "clashes with a folder of the same name")
        if info.islnk() and os.path.lexists(target):
            os.unlink(target)  # a later member replaces an earlier one, as tar does; os.link would fail
        self._record(info, name, checked)
        return checked

    def _record(self, info: tarfile.TarInfo, name: str, checked: tarfile.TarInfo) -> None:
        if info.isreg() or info.islnk():
            self.files.add(name)
        else:
            self.files.discard(name)
        if not name:
            return  # "./" itself: the tree already exists
        if info.isreg():
            member = Member(name, "file", size=info.size, executable=bool((checked.mode or 0) & 0o100))
        elif info.islnk():
            member = Member(name, "hardlink", link=_safe_name(info.linkname, self.display))
        elif info.issym():
            member = Member(name, "symlink", link=info.linkname)
        else:
            member = Member(name, "dir")
        self.members.append(member)

    def _check_hard_link(self, info: tarfile.TarInfo) -> None:
        # the data filter only checks where a hard link resolves; a link to a symlink, to a later
        # member or to nothing would make tarfile copy some other member's data instead
        try:
            target = _safe_name(info.linkname, self.display)
        except ArchiveError:
            raise self._refuse_link(info, "points outside the archive") from None
        if target not in self.files:
            raise self._refuse_link(info, "not an earlier file in the archive")

    def _fallback_filter(self, info: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        """The part of the `data` filter this project relies on, for Pythons that lack it."""
        base = os.path.realpath(dest)
        if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
            raise self._refuse(info, _special_kind(info))
        if not _inside(os.path.join(dest, info.name), base):
            raise self._refuse(info, "its path resolves outside the archive (through a symlink)")
        if info.issym():
            if os.path.isabs(info.linkname):
                raise self._refuse_link(info, "absolute target")
            if not _inside(os.path.join(dest, os.path.dirname(info.name), info.linkname), base):
                raise self._refuse_link(info, "points outside the archive")
        return info

    def _refusal(self, exc: Exception, info: tarfile.TarInfo) -> ArchiveError:
        """The data filter's verdict in our words (its own messages show absolute temporary paths)."""
        if isinstance(exc, tarfile.SpecialFileError):
            return self._refuse(info, _special_kind(info))
        if isinstance(exc, tarfile.AbsoluteLinkError):
            return self._refuse_link(info, "absolute target")
        if isinstance(exc, tarfile.LinkOutsideDestinationError):
            return self._refuse_link(info, "points outside the archive")
        if isinstance(exc, tarfile.OutsideDestinationError):
            return self._refuse(info, "its path resolves outside the archive (through a symlink)")
        return self._refuse(info, str(exc))

    def _refuse(self, info: tarfile.TarInfo, why: str) -> ArchiveError:
        return ArchiveError(f"refusing member {info.name!r}: {why}", where=self.display)

    def _refuse_link(self, info: tarfile.TarInfo, why: str) -> ArchiveError:
        kind = "symlink" if info.issym() else "hard link"
        return ArchiveError(f"refusing {kind} {info.name!r} -> {info.linkname!r}: {why}", where=self.display)


# -- zip -------------------------------------------------------------------------------------------------------


def _unzip(zf: zipfile.ZipFile, tree: Path, max_size: int, display: str) -> list[Member]:
    """Check every name, then write: folders and files first, symlinks last, counting the bytes."""
    entries = _zip_entries(zf, display)
    _check_declared_size([(m.name, m.size) for m, _ in entries], max_size, display)
    written = 0
    # No name lies inside another non-folder member (checked) and symlinks come last, so nothing
    # is ever written through a link.
    for member, info in sorted(entries, key=lambda entry: entry[0].kind == "symlink"):
        dest = tree / member.name
        if member.kind == "dir":
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if member.kind == "symlink":
            os.symlink(member.link, dest)
            continue
        with zf.open(info) as reader, open(dest, "xb") as out:
            while chunk := reader.read(_CHUNK):
                written += len(chunk)
                if written > max_size:
                    raise _too_big(member.name, max_size, display)
                out.write(chunk)
        os.chmod(dest, 0o755 if member.executable else 0o644)
    return [member for member, _ in entries]


def _zip_entries(zf: zipfile.ZipFile, display: str) -> list[tuple[Member, zipfile.ZipInfo]]:
    def refuse(raw: str, why: str) -> ArchiveError:
        return ArchiveError(f"refusing member {raw!r}: {why}", where=display)

    entries: list[tuple[Member, zipfile.ZipInfo]] = []
    kinds: dict[str, str] = {}
    for info in zf.infolist():
        _check_count(len(entries) + 1, display)
        raw = info.filename
        name = _safe_name(raw, display)
        if "\\" in raw:
            raise refuse(raw, "backslash in its name (zip names use '/')")
        if name in kinds:
            raise refuse(raw, "the archive has this name twice")
        mode = info.external_attr >> 16  # unix mode, when the zip was made on unix
        fmt = stat.S_IFMT(mode)
        if fmt == stat.S_IFLNK:
            if info.file_size > 4096:
                raise ArchiveError(f"refusing symlink {raw!r}: implausibly long target", where=display)
            target = os.fsdecode(zf.read(info))
            _check_zip_symlink(raw, target, display)
            member = Member(name, "symlink", link=target)
        elif info.is_dir() or fmt == stat.S_IFDIR:
            member = Member(name, "dir")
        elif fmt in (0, stat.S_IFREG):
            member = Member(name, "file", size=info.file_size, executable=bool(mode & 0o100))
        else:
            raise refuse(raw, f"special file (mode {oct(mode)})")
        if name:
            kinds[name] = member.kind
            entries.append((member, info))
    for member, info in entries:
        parts = member.name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if kinds.get(parent, "dir") != "dir":
                raise refuse(info.filename, f"lies inside {parent!r}, which is a {kinds[parent]}, not a folder")
    return entries


def _check_zip_symlink(name: str, target: str, display: str) -> None:
    """Before anything is written; links through other links are checked in the finished tree."""
    if not target or target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
        raise ArchiveError(f"refusing symlink {name!r} -> {target!r}: absolute or empty target", where=display)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target.replace("\\", "/")))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"refusing symlink {name!r} -> {target!r}: points outside the archive", where=display)
