"""Names as the packaging PEPs define them (projects, dist-info folders, URLs in spec entries), without importing
packaging: the no-op path uses these. `canonical_name` is incrinstall's one name normalizer."""

from __future__ import annotations

import os
import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503 / 685 / 735 normalization, for packages, extras and dependency groups alike."""
    return _SEPARATORS.sub("-", name).lower()


def dist_info_name(folder: str) -> tuple[str, str]:
    """(canonical name, version) of a `NAME-VERSION.dist-info` folder (a path or its name; PEP 427's escaping).

    The name is everything before the last `-` (an escaped name has none); a folder without one is all name,
    with version "".
    """
    stem = os.path.basename(folder.rstrip("/" + os.sep)).removesuffix(".dist-info")
    name, sep, version = stem.rpartition("-")
    return (canonical_name(name), version) if sep else (canonical_name(stem), "")


def is_url(entry: str) -> bool:
    """A spec entry given as a URL rather than a path (requirements and constraints files)."""
    return entry.startswith(("http://", "https://", "file://"))


def names_prerelease(spec_version: str) -> bool:
    """Does a specifier's version (`1.0rc1`, `2.0b1.*`) name a pre-release (which opts that package in)?"""
    # Local: this module is on the no-op path, which never parses a version.
    from packaging.version import InvalidVersion, Version

    try:
        return Version(spec_version.removesuffix(".*")).is_prerelease
    except InvalidVersion:
        return False
