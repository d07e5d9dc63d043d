"""Archives built member by member, exactly as given (hostile names, links and devices included), for unpacking tests.

`TarFile.add` and `ZipFile.write` clean what they are given; the tests of the unpacker and of the
archive source need the members an attacker would write:

    write_tar(path, [tar_file("pkg/../../x", b"pwned"), tar_link("pkg/etc", "/etc"),
                     tar_special("pkg/tty", tarfile.CHRTYPE)])
    write_zip(path, [("p/pyproject.toml", data), ("/p/x", b"pwned")], symlinks={"p/etc": "/etc"}, devices=["p/tty"])
"""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

# A tar member and its data (None for links, folders and special files).
Entry = tuple[tarfile.TarInfo, bytes | None]


def tar_file(name: str, data: bytes = b"x", mode: int = 0o644) -> Entry:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def tar_folder(name: str, mode: int = 0o755) -> Entry:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info, None


def tar_link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Entry:
    """A symbolic link (or with `kind=tarfile.LNKTYPE`, a hard link) to `target`."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def tar_special(name: str, kind: bytes) -> Entry:
    """A character or block device (1, 3: /dev/null's numbers) or a fifo."""
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = kind, 1, 3
    return info, None


def write_tar(path: Path, entries: Iterable[Entry], mode: str = "w:gz") -> Path:
    """A tar archive of exactly these members, in this order (`mode`: "w", "w:gz", "w:bz2", "w:xz")."""
    with tarfile.open(path, mode) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def write_zip(path: Path, entries: Iterable[tuple[str, bytes]] | Mapping[str, bytes], *,
              symlinks: Mapping[str, str] | None = None, devices: Iterable[str] = ()) -> Path:
    """A zip (deflated) of these (name, data) members, names written exactly; then `symlinks` (name: target)
    and `devices` (character devices: a zip can say so in a member's Unix mode)."""
    members = entries.items() if isinstance(entries, Mapping) else entries
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": what some tests are about
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                info = zipfile.ZipInfo("placeholder")
                info.filename = name  # ZipInfo() may clean a name; a test's name is written as it is
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
            for name, target in (symlinks or {}).items():
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o120777 << 16) | 0x20
                zf.writestr(info, target)
            for name in devices:
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o020666 << 16  # S_IFCHR
                zf.writestr(info, b"")
    return path
