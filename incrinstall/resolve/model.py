"""What a resolution produces, as plain data: the plan and the uv-based resolution share it with the resolver."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from incrinstall.index.client import IndexVersion, Metadata
    from incrinstall.specs.lockfile import LockFormat

ROOT = "<root>"
# Where a pinned version comes from: it is installed already, or it is to be installed (from an index, a URL or a lock).
PinOrigin = Literal["installed", "index"]


class LargeResolution(Exception):
    """More packages to decide than `resolve(max_open=...)` allows: the caller hands the resolution to uv."""

    def __init__(self, count: int):
        super().__init__(f"{count} packages to look up on the index")
        self.count = count


class PinFile(Protocol):
    """The file a pin installs: an index's (index.client.DistFile) or one uv or a lock chose (uv_resolve.LockedFile)."""

    @property
    def url(self) -> str: ...

    @property
    def hashes(self) -> Mapping[str, str]:
        """{"sha256": hex, ...}; empty when the source gave none."""
        ...

    @property
    def metadata_url(self) -> str | None:
        """Where its core metadata was read from (a PEP 658 file), for messages; None when not from an index."""
        ...


class PackageIndex(Protocol):
    """What the resolver asks of the index it is given: index.client.IndexClient, or a test's stand-in."""

    @property
    def requests(self) -> int:
        """Requests sent so far (the resolver reports how many one resolution cost)."""
        ...

    def prefetch(self, names: Iterable[str]) -> None: ...

    def versions(self, name: str) -> Sequence[IndexVersion]:
        """Installable versions of `name`, in the order they are to be tried."""
        ...

    def prefetch_metadata(self, ivs: Iterable[IndexVersion]) -> None: ...

    def metadata(self, iv: IndexVersion) -> Metadata: ...

    def direct(self, name: str, url: str) -> IndexVersion:
        """The one version a direct URL requirement (`name @ URL`) names."""
        ...

    def why_no_versions(self, name: str) -> str | None:
        """What the index pages said of a name they list no version of (their URLs), for messages."""
        ...


@dataclass(frozen=True)
class Pin:
    """A resolved package, as `plan.diff()` needs it."""

    name: str
    version: str
    origin: PinOrigin
    requires: tuple[str, ...]  # canonical names this package depends on (extras folded in)
    file: PinFile | None = None  # the file to install, when origin == "index"
    # "sha256:<hex>" of every installable file of this version, so uv can verify whichever it picks;
    # empty when any file lacks a hash (uv's --require-hashes is all or nothing).
    hashes: tuple[str, ...] = ()
    direct_url: str | None = None  # installed from this URL (`name @ URL`), not by name from an index
    # A lock's pin: the registry the lock names for `file` ("" when it names none). That exact file is
    # installed, as a package from that registry (uv sync's way), not looked up by name.
    index: str | None = None


@dataclass(frozen=True)
class LockUsed:
    """The lock file a resolution was read from, as the state records it."""

    file: str  # relative to the project folder, or absolute when outside it
    format: LockFormat
    sha256: str  # of the file's bytes


@dataclass
class Resolution:
    """name -> pin for every package to have installed, plus why each is there."""

    pins: dict[str, Pin]
    local: dict[str, str | None]  # tree-provided packages that were required, with the tree's version
    required_by: dict[str, list[str]] = field(default_factory=dict)  # name -> parents ("<root>" for roots)
    root_sources: dict[str, list[str]] = field(default_factory=dict)  # name -> ["pyproject.toml:12", ...]
    index_requests: int = 0
    by_uv: bool = False  # uv decided it (resolve/uv_resolve.py): no Requires-Dist line was parsed here
    lock: LockUsed | None = None  # read from this lock (resolve/locked.py), not resolved
    # Pinned at the installed version, but the lock names another file than the one installed: name -> why.
    reinstall: dict[str, str] = field(default_factory=dict)
