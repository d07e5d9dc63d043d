"""Core-metadata files as an index serves them (PEP 658 files, a wheel's METADATA, an sdist's PKG-INFO): their hashes
checked, their fields read (common/coremetadata.py) into `Metadata`."""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from incrinstall.common.errors import HashMismatch, IndexUnavailable, InvalidMetadata
from incrinstall.common.names import canonical_name, dist_info_name
from incrinstall.common.urls import redact
from incrinstall.index.model import Metadata

if TYPE_CHECKING:
    from incrinstall.common.coremetadata import CoreMetadata

# Fields an sdist's PKG-INFO must not mark Dynamic for us to trust it (PEP 643).
NEEDED_STATIC = {"requires-dist", "requires-python", "provides-extra"}


def to_metadata(md: CoreMetadata) -> Metadata:
    """The fields resolving needs, names canonical; InvalidMetadata without a Name or Version."""
    if not md.name or not md.version:
        raise InvalidMetadata("a metadata file has no Name or Version", project=md.name)
    return Metadata(
        name=canonical_name(md.name),
        version=md.version,
        requires_dist=md.requires_dist,
        requires_python=md.requires_python,
        provides_extra=tuple(dict.fromkeys(canonical_name(e) for e in md.provides_extra)),
    )


def is_static(md: CoreMetadata) -> bool:
    """PEP 643: Metadata-Version >= 2.2 and nothing we read is marked Dynamic."""
    try:
        if Version(md.metadata_version or "0") < Version("2.2"):
            return False
    except InvalidVersion:
        return False
    return not (set(md.dynamic) & NEEDED_STATIC)


def same_version(a: str, b: Version) -> bool | None:
    """Is `a` the version `b`? None when `a` is not a version at all."""
    try:
        return Version(a) == b
    except InvalidVersion:
        return None


def hashes_match(body: bytes, hashes: dict[str, str]) -> bool:
    """Does `body` have every one of `hashes`?"""
    return all(hashlib.new(algo, body).hexdigest() == expected for algo, expected in hashes.items())


def check_hashes(body: bytes, hashes: dict[str, str], url: str, filename: str) -> None:
    """HashMismatch when a metadata file's `body` lacks one of the `hashes` the index gave for it."""
    for algo, expected in hashes.items():
        got = hashlib.new(algo, body).hexdigest()
        if got != expected:
            raise HashMismatch(file=filename, url=redact(url), algorithm=algo, expected=expected, got=got,
                               metadata=True)


def wheel_metadata(path: Path, filename: str, url: str) -> bytes:
    """The METADATA of a downloaded wheel: its own project's .dist-info first."""
    project = canonical_name(filename.split("-", 1)[0])
    try:
        with zipfile.ZipFile(path) as zf:
            candidates = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            ours = [n for n in candidates if dist_info_name(n.split("/", 1)[0])[0] == project]
            if not (ours or candidates):
                raise IndexUnavailable(f"{filename} from {url} has no .dist-info/METADATA", where=filename)
            return zf.read((ours or candidates)[0])
    except (OSError, zipfile.BadZipFile) as exc:
        raise IndexUnavailable(f"{filename} from {url} is not a readable wheel: {exc}", where=filename) from exc


def sdist_pkg_info(path: Path, filename: str) -> bytes | None:
    """The top-level PKG-INFO of an sdist, or None when it has none."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+/PKG-INFO", n)]
                return zf.read(names[0]) if names else None
        with tarfile.open(path, "r:gz") as tf:
            for member in tf:
                parts = member.name.strip("/").split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    fh = tf.extractfile(member)
                    return fh.read() if fh else None
    except (OSError, EOFError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise IndexUnavailable(f"{filename} is not a readable sdist: {exc}", where=filename) from exc
    return None
