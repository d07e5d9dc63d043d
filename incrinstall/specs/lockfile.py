"""Which lock file a tree is installed from: uv.lock or pylock.toml at its root, or the one --lock names.

With a lock, the lock is the truth: resolve/locked.py turns its selection for the target into the
resolution, and nothing is resolved. The lock also joins the spec files, so that a moved lock changes
the fingerprint and defeats the no-op; without one, a lock that appears does (SpecSet.absent).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from incrinstall.common.errors import SpecError
from incrinstall.common.fingerprint import fingerprint
from incrinstall.common.names import is_url
from incrinstall.common.tomlfile import load_toml
from incrinstall.specs.pylock import is_pylock_name

if TYPE_CHECKING:
    from incrinstall.specs.model import Selection, SpecSet

LockFormat = Literal["uv.lock", "pylock.toml"]
# Looked for at the project root, in this order (uv's own lock first: `uv sync` reads it, not pylock.toml).
ROOT_LOCKS: tuple[tuple[str, LockFormat], ...] = (("uv.lock", "uv.lock"), ("pylock.toml", "pylock.toml"))


@dataclass(frozen=True)
class LockRef:
    """A lock file to install from."""

    path: Path  # absolute
    rel: str  # relative to the project folder when inside it (as spec files are named), else absolute
    format: LockFormat
    given: bool = False  # named by --lock, not found at the root


def find(project_dir: Path, selection: Selection) -> LockRef | None:
    """The lock to install from: --lock FILE, else uv.lock, else pylock.toml at the root; None with --no-lock."""
    project_dir = Path(project_dir).resolve()
    if selection.no_lock:
        if selection.lock_file:
            raise SpecError("--lock and --no-lock contradict each other", where="--lock")
        return None
    if selection.lock_file:
        given = selection.lock_file
        if not is_pylock_name(Path(given).name):
            raise SpecError("--lock names a PEP 751 lock file (pylock.toml or pylock.NAME.toml); a uv.lock is "
                            "used when it is at the project root", where=given)
        path = Path(given).expanduser()
        if not path.is_absolute():
            in_tree = project_dir / path
            path = in_tree if in_tree.exists() or not (Path.cwd() / path).exists() else Path.cwd() / path
        path = path.resolve()
        if not path.is_file():
            raise SpecError("lock file not found", where=given)
        return LockRef(path, _relative(project_dir, path), "pylock.toml", given=True)
    for name, kind in ROOT_LOCKS:
        if (project_dir / name).is_file():
            return LockRef(project_dir / name, name, kind)
    return None


def watched(specset: SpecSet, lock: LockRef | None, markers: dict[str, str]) -> SpecSet:
    """`specset` with the lock among its files and in its fingerprint, so that a moved lock defeats the no-op.

    Without a lock (and without --no-lock), the root's lock names are listed as `absent`: a lock created
    since the last sync is a change as surely as an edited one.
    """
    if lock is None:
        if specset.selection.no_lock or specset.selection.lock_file:
            return specset
        return replace(specset, absent=[name for name, _ in ROOT_LOCKS])
    if lock.rel in specset.files:
        return specset
    files = sorted({*specset.files, lock.rel})
    if any(is_url(f) for f in specset.files):
        # The no-op path never trusts a spec file given by URL (it would have to fetch it), so this
        # fingerprint needs only to change with the lock; the collected one already covers the URL's bytes.
        digest = hashlib.sha256(specset.fingerprint.encode() + b"\0" + lock.rel.encode() + b"\0")
        digest.update(lock.path.read_bytes())
        return replace(specset, files=files, fingerprint=digest.hexdigest())
    project_dir = Path(specset.project_dir)
    return replace(specset, files=files, fingerprint=fingerprint(project_dir, files, specset.selection, markers))


def uv_default_groups(project_dir: Path) -> tuple[str, ...] | Literal["all"]:
    """`[tool.uv] default-groups` of the root pyproject.toml: the groups `uv sync` installs unasked ("dev" by default)."""
    path = Path(project_dir) / "pyproject.toml"
    try:
        if b"default-groups" not in path.read_bytes():
            return ("dev",)  # no need to parse a large pyproject.toml (Airflow's) for a key it does not have
    except OSError:
        return ("dev",)
    data, locator = load_toml(path, "pyproject.toml")
    tool_uv = (data.get("tool") or {}).get("uv") or {}
    value = tool_uv.get("default-groups", ["dev"]) if isinstance(tool_uv, dict) else ["dev"]
    if value == "all":
        return "all"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError('default-groups must be a list of group names or "all"',
                        where=locator.where(("tool", "uv", "default-groups")))
    return tuple(value)


def _relative(project_dir: Path, path: Path) -> str:
    try:
        return path.relative_to(project_dir).as_posix()
    except ValueError:
        return str(path)
