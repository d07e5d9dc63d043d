"""Where incrinstall keeps its caches."""

from __future__ import annotations

import os


def cache_root() -> str:
    """INCRINSTALL_CACHE_DIR, else $XDG_CACHE_HOME/incrinstall, else ~/.cache/incrinstall (os only: the fast path uses it)."""
    explicit = os.environ.get("INCRINSTALL_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "incrinstall")


def cache_dir():
    """cache_root() as a Path."""
    from pathlib import Path

    return Path(cache_root())
