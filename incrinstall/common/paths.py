"""Where incrinstall keeps its caches, and where uv keeps its own; neither is left behind in an image layer.

A cache folder that would end up in a container image (a Docker RUN step without a cache mount
on it) is replaced by a temporary folder that is deleted when the process exits, so the layer
keeps nothing. INCRINSTALL_NO_CACHE decides:

- unset or "auto": temporary when the root filesystem is an overlay (a container's layer) and the
  folder is not on a mount of its own (a BuildKit `--mount=type=cache`, a volume, a bind mount);
- "1": always temporary, for incrinstall's cache and uv's (whatever INCRINSTALL_CACHE_DIR and
  UV_CACHE_DIR say);
- "0": never: the folders are used wherever they are.

A folder named explicitly (INCRINSTALL_CACHE_DIR, UV_CACHE_DIR) is used as named unless the
setting is "1". Only `os` and the standard library's light modules: the no-op fast path uses this.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing itself is not imported on the no-op path; mypy reads this block as true
if TYPE_CHECKING:
    from pathlib import Path

_LAYER_FILESYSTEMS = frozenset({"overlay", "fuse.fuse-overlayfs", "aufs"})
_ephemeral: str | None = None


def cache_root() -> str:
    """INCRINSTALL_CACHE_DIR, else $XDG_CACHE_HOME/incrinstall, else ~/.cache/incrinstall; temporary when it must be."""
    explicit = os.environ.get("INCRINSTALL_CACHE_DIR")
    if explicit and _setting() != "1":
        return explicit
    default = explicit or os.path.join(_cache_home(), "incrinstall")
    if no_cache_reason(default) is None:
        return default
    return os.path.join(ephemeral_root(), "incrinstall")


def cache_dir() -> Path:
    """cache_root() as a Path."""
    # Local: the no-op path reads this module and never builds a Path.
    from pathlib import Path

    return Path(cache_root())


def uv_cache_override() -> str | None:
    """The UV_CACHE_DIR to hand uv when its cache must not stay behind (None: leave uv's setting alone)."""
    if _setting() == "1":
        return os.path.join(ephemeral_root(), "uv")
    if os.environ.get("UV_CACHE_DIR") or os.environ.get("UV_NO_CACHE"):
        return None
    if no_cache_reason(os.path.join(_cache_home(), "uv")) is None:
        return None
    return os.path.join(ephemeral_root(), "uv")


def no_cache_reason(folder: str, mounts: dict[str, str] | None = None) -> str | None:
    """Why `folder` must not be used as a cache here (None: it may); `mounts` as _mounts() returns them."""
    setting = _setting()
    if setting == "1":
        return "INCRINSTALL_NO_CACHE=1"
    if setting == "0":
        return None
    mounts = _mounts() if mounts is None else mounts
    if mounts.get("/") not in _LAYER_FILESYSTEMS:
        return None
    if _mount_point_of(folder, mounts) != "/":
        return None
    return f"{folder} would be written into the container's layer (no cache mount on it)"


def ephemeral_root() -> str:
    """One temporary folder per process for the caches that must not persist, removed at exit."""
    global _ephemeral
    if _ephemeral is None:
        # Local: only a cache that must not persist needs these, and the no-op path reads this module.
        import atexit
        import shutil
        import tempfile

        _ephemeral = tempfile.mkdtemp(prefix="incrinstall-cache-")
        atexit.register(shutil.rmtree, _ephemeral, True)
    return _ephemeral


def _setting() -> str:
    value = os.environ.get("INCRINSTALL_NO_CACHE", "auto").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return "1"
    if value in ("0", "false", "no", "off"):
        return "0"
    return "auto"


def _cache_home() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


_MOUNTS: dict[str, str] | None = None


def _mounts() -> dict[str, str]:
    """Mount point -> filesystem type, from /proc/self/mountinfo (empty where there is none).

    Read once per process: every cache lookup and every uv call asks, and mounts do not change mid-run.
    """
    global _MOUNTS
    if _MOUNTS is None:
        _MOUNTS = _read_mounts()
    return _MOUNTS


def _read_mounts() -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if " - " not in line or len(fields) < 5:
                    continue
                point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
                found[point] = line.split(" - ", 1)[1].split()[0]  # a later mount on the same point wins
    except OSError:
        pass
    return found


def _mount_point_of(folder: str, mounts: dict[str, str]) -> str:
    """The mount point `folder` (which may not exist yet) would be written to."""
    path = os.path.realpath(folder)
    while True:
        if path in mounts:
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return "/"
        path = parent
