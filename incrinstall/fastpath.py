"""Decide, with a handful of stat calls and file hashes, that a sync has nothing to do.

Imports only the standard library and incrinstall's light modules: no TOML parser, no
resolver, no network. Everything compared is in the stamp written by the last sync.
"""

from __future__ import annotations

import os
from pathlib import Path

from incrinstall.specs.fingerprint import fingerprint, is_url


def dir_mtimes(project_dir: str, dirs: list[str]) -> dict[str, int]:
    out = {}
    for rel in dirs:
        try:
            # Whole seconds: image layers keep only those, and the stamp must survive a layer commit.
            out[rel] = int(os.stat(Path(project_dir, rel)).st_mtime)
        except OSError:
            out[rel] = -1
    return out


def make_stamp(*, project_dir: str, options: dict, specset, markers: dict, env_signature: str) -> dict:
    return {
        "project_dir": str(project_dir),
        "options": options,
        "fingerprint": specset.fingerprint,
        "files": list(specset.files),
        "dirs": dir_mtimes(str(project_dir), specset.scanned_dirs),
        "env_signature": env_signature,
        "markers": markers,
    }


def unchanged(stamp: dict | None, *, project_dir: str, options: dict, selection, markers: dict,
              env_signature: str) -> bool:
    """True when the specs, the selection and the environment are exactly as the last sync left them."""
    if not stamp or stamp.get("project_dir") != str(project_dir) or stamp.get("options") != options:
        return False
    if stamp.get("env_signature") != env_signature or stamp.get("markers") != markers:
        return False
    files = stamp.get("files", [])
    if any(is_url(f) for f in files):
        return False  # a remote constraints file cannot be checked without the network
    if dir_mtimes(str(project_dir), list(stamp.get("dirs", {}))) != stamp.get("dirs", {}):
        return False  # a folder that decided which spec files exist has changed
    return fingerprint(project_dir, files, selection, markers) == stamp.get("fingerprint")
