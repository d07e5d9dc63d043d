"""Hash the spec files, the selection and the target's marker environment into one spec fingerprint.

This module is on the no-op path: it imports only the standard library and reads
files as bytes, without parsing them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping

from incrinstall.common.names import is_url

TYPE_CHECKING = False  # typing itself is not imported on the no-op path; mypy reads this block as true
if TYPE_CHECKING:
    from typing import Protocol

    class SelectionLike(Protocol):
        """What a selection (specs.model.Selection) gives the fingerprint: its settings as plain data."""

        def as_dict(self) -> Mapping[str, object]: ...

# Bump when the way specs are collected changes, so old fingerprints stop matching.
FORMAT = "incrinstall-specs-1"


def read_spec_bytes(project_dir: str | os.PathLike[str], entry: str) -> bytes | None:
    """The bytes of one `files` entry (relative to project_dir, absolute, or a URL); None if missing."""
    if is_url(entry):
        # Local: this module is on the no-op path, which must not pay for http.client and ssl.
        from incrinstall.common.http import fetch_spec_file

        return fetch_spec_file(entry, where=entry)
    try:
        with open(os.path.join(project_dir, entry), "rb") as fh:
            return fh.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def fingerprint(project_dir: str | os.PathLike[str], files: Iterable[str], selection: SelectionLike | Mapping[str, object],
                markers: Mapping[str, str], extra: Mapping[str, object] | None = None, *,
                contents: Mapping[str, bytes] | None = None) -> str:
    """sha256 over every file's name and bytes (sorted), the selection, the markers and `extra`.

    `selection` is a Selection (or its as_dict()); `contents` may supply bytes already read
    (URLs fetched during collection), so nothing is read twice. A missing file hashes as
    missing rather than failing, so a deleted spec file changes the fingerprint.
    """
    h = hashlib.sha256()
    h.update(FORMAT.encode() + b"\0")
    for entry in sorted(set(files)):
        data = contents[entry] if contents is not None and entry in contents else read_spec_bytes(project_dir, entry)
        h.update(b"F" + entry.encode("utf-8", "surrogateescape") + b"\0")
        if data is None:
            h.update(b"-missing-\0")
        else:
            h.update(len(data).to_bytes(8, "big") + data)
    sel = dict(selection) if isinstance(selection, Mapping) else selection.as_dict()
    for label, material in (("selection", sel), ("markers", dict(markers)), ("extra", dict(extra or {}))):
        h.update(label.encode() + b"\0")
        h.update(json.dumps(material, sort_keys=True, default=str).encode() + b"\0")
    return h.hexdigest()


def dir_mtimes(project_dir: str, dirs: list[str]) -> dict[str, int]:
    """The mtime of each folder that decided which spec files exist (-1 when it is gone)."""
    out: dict[str, int] = {}
    for rel in dirs:
        try:
            # Whole seconds: image layers keep only those, and the stamp must survive a layer commit.
            out[rel] = int(os.stat(os.path.join(project_dir, rel)).st_mtime)
        except (OSError, ValueError):
            out[rel] = -1
    return out
