"""What the index stage hands on: the installable versions of a project (`IndexVersion`, with its `DistFile`s) and
their core metadata (`Metadata`), as plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from packaging.version import Version

DistKind = Literal["wheel", "sdist"]


@dataclass(frozen=True)
class DistFile:
    """One file of a version that the target can install."""

    filename: str
    url: str  # without the #hash fragment
    hashes: dict[str, str] = field(compare=False)  # e.g. {"sha256": "..."}
    requires_python: str | None
    yanked: str | None  # None = not yanked; "" or the reason = yanked
    metadata_url: str | None  # PEP 658/714 metadata file, when the index advertises one
    metadata_hashes: dict[str, str] = field(compare=False)
    kind: DistKind
    tag_rank: int  # index of the best matching tag in the target's list (lower = better); sdists after all wheels


@dataclass(frozen=True)
class IndexVersion:
    """One version of a project and its files for the target."""

    name: str  # canonical
    version: Version
    files: tuple[DistFile, ...]  # installable on the target, best first (wheels by tag_rank, then sdists)
    yanked: bool  # every file is yanked

    @property
    def best(self) -> DistFile:
        """The file to install: the best-ranked one that is not yanked, else the best-ranked one."""
        for f in self.files:
            if f.yanked is None:
                return f
        return self.files[0]


@dataclass(frozen=True)
class Metadata:
    """The core metadata of a version that resolving needs."""

    name: str  # canonical
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]  # canonical (PEP 685)
