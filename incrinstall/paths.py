"""Where incrinstall keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """INCRINSTALL_CACHE_DIR, else $XDG_CACHE_HOME/incrinstall, else ~/.cache/incrinstall."""
    explicit = os.environ.get("INCRINSTALL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "incrinstall"
