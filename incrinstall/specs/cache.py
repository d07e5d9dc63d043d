"""The collected specs, cached whole: when no spec file changed, collect() parses no TOML and no requirement.

Keyed by the project folder, the selection and the marker environment; valid while the files the
last collection read hash to the same fingerprint and the folders that decided which spec files
exist (or that a build backend looked at) have the same mtimes (the very test the no-op path makes,
see install/stamp.py), and, when a backend ran git or hg, the repository is in the same state. A
spec file given by URL is never trusted from the cache. JSON, not pickle: a cache folder can be
shared (a Docker cache mount), and reading it must never run code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from incrinstall import __version__
from incrinstall.common.atomic import write_atomic
from incrinstall.common.fingerprint import dir_mtimes, fingerprint
from incrinstall.common.names import is_url
from incrinstall.common.paths import cache_dir
from incrinstall.common.vcs import repository_state
from incrinstall.specs.model import LocalPackage, ProjectMetadata, RootRequirement, Selection, SpecSet

FORMAT = 4  # bump when SpecSet's fields change: older entries are then ignored (3: requires_dist, vcs; 4: reached)


def _entry(project_dir: Path, selection: Selection, markers: dict[str, str]) -> Path:
    material = json.dumps([FORMAT, __version__, str(project_dir), selection.as_dict(), markers], sort_keys=True)
    return cache_dir() / "specs" / (hashlib.sha256(material.encode("utf-8")).hexdigest() + ".json")


def load(project_dir: Path, selection: Selection, markers: dict[str, str]) -> SpecSet | None:
    """The SpecSet the last collection produced, if nothing it read has changed since; else None."""
    try:
        with open(_entry(project_dir, selection, markers), encoding="utf-8") as fh:
            data = json.load(fh)
        files, dirs = data["files"], data["dirs"]
        if any(is_url(f) for f in files) or dir_mtimes(str(project_dir), list(dirs)) != dirs:
            return None
        if fingerprint(project_dir, files, selection, markers) != data["fingerprint"]:
            return None
        if data["vcs"] and repository_state(project_dir, data["vcs"]) != data["vcs_state"]:
            return None
        return _specset(data["specset"], selection)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None  # missing, damaged or of another shape: collect afresh


def store(specset: SpecSet, markers: dict[str, str]) -> None:
    """Remember `specset` for load(); a cache that cannot be written only costs the next run a parse."""
    if any(is_url(f) for f in specset.files):
        return
    project_dir = Path(specset.project_dir)
    data = {"files": list(specset.files), "dirs": dir_mtimes(str(project_dir), specset.scanned_dirs),
            "fingerprint": specset.fingerprint, "specset": asdict(specset), "vcs": list(specset.vcs),
            "vcs_state": repository_state(project_dir, specset.vcs) if specset.vcs else ""}
    try:
        write_atomic(_entry(project_dir, specset.selection, markers), json.dumps(data))
    except OSError:
        pass


def _specset(d: dict[str, Any], selection: Selection) -> SpecSet:
    meta = d.get("project_metadata")
    return SpecSet(
        project_dir=d["project_dir"],
        project_name=d["project_name"],
        requirements=[RootRequirement(**r) for r in d["requirements"]],
        constraints=[RootRequirement(**r) for r in d["constraints"]],
        files=list(d["files"]),
        fingerprint=d["fingerprint"],
        selection=selection,
        local_packages=[
            LocalPackage(lp["name"], lp["version"], lp["path"], tuple(lp["requires"]),
                         {extra: tuple(reqs) for extra, reqs in lp["extras"].items()}, lp["where"],
                         tuple(lp["requires_dist"]), tuple(lp["provides_extra"]))
            for lp in d["local_packages"]
        ],
        reached=list(d["reached"]),
        scanned_dirs=list(d["scanned_dirs"]),
        notes=list(d["notes"]),
        project_metadata=None if meta is None else ProjectMetadata(
            meta["name"], meta["version"], tuple(meta["requires_dist"]), tuple(meta["provides_extra"]),
            meta["shape"], meta["backend_metadata"], meta.get("editable_wheel", "")),
        vcs=list(d["vcs"]),
    )
