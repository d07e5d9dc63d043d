"""Names and locations as the packaging PEPs define them, without importing packaging (the no-op path uses these)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503 / 685 / 735 normalization, for packages, extras and dependency groups alike."""
    return _SEPARATORS.sub("-", name).lower()


def is_url(entry: str) -> bool:
    """A spec entry given as a URL rather than a path (requirements and constraints files)."""
    return entry.startswith(("http://", "https://", "file://"))


def names_prerelease(spec_version: str) -> bool:
    """Does a specifier's version (`1.0rc1`, `2.0b1.*`) name a pre-release (which opts that package in)?"""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(spec_version.removesuffix(".*")).is_prerelease
    except InvalidVersion:
        return False
