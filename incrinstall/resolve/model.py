"""What a resolution produces, as plain data: the plan and the uv-based resolution share it with the resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incrinstall.index.client import DistFile

ROOT = "<root>"


class LargeResolution(Exception):
    """More packages to decide than `resolve(max_open=...)` allows: the caller hands the resolution to uv."""

    def __init__(self, count: int):
        super().__init__(f"{count} packages to look up on the index")
        self.count = count


PRERELEASE_MODES = ("if-necessary-or-explicit", "allow", "disallow")


@dataclass(frozen=True)
class Pin:
    """A resolved package, as `plan.diff()` needs it."""

    name: str
    version: str
    origin: str  # "installed" | "index"
    requires: tuple[str, ...]  # canonical names this package depends on (extras folded in)
    file: DistFile | None = None  # the file to install, when origin == "index"
    # "sha256:<hex>" of every installable file of this version, so uv can verify whichever it picks;
    # empty when any file lacks a hash (uv's --require-hashes is all or nothing).
    hashes: tuple[str, ...] = ()
    direct_url: str | None = None  # installed from this URL (`name @ URL`), not by name from an index


@dataclass
class Resolution:
    """name -> pin for every package to have installed, plus why each is there."""

    pins: dict[str, Pin]
    local: dict[str, str | None]  # tree-provided packages that were required, with the tree's version
    required_by: dict[str, list[str]] = field(default_factory=dict)  # name -> parents ("<root>" for roots)
    root_sources: dict[str, list[str]] = field(default_factory=dict)  # name -> ["pyproject.toml:12", ...]
    index_requests: int = 0
