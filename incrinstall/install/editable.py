"""Refresh the project's editable install in place when only its dependencies changed.

An editable install is a .pth file (or an import hook) pointing at the tree, plus a dist-info
whose METADATA lists the project's requirements. When the sync changes only those, rebuilding
the project through uv (a build-backend run, a wheel, an install) just rewrites two lines of
METADATA. So: when the installed dist-info is this project at this version, and nothing else
that the backend builds from changed (ProjectMetadata.shape), rewrite the Requires-Dist and
Provides-Extra headers and the RECORD line of METADATA, each file atomically. Any doubt (a
different name or version, a backend METADATA that differs in other headers, an unreadable
file) answers False, and the caller does the full editable install instead.

A sync killed between the two writes leaves the state file as it was, so the next sync sees the
old fingerprint and refreshes again from the same inputs: it writes whichever of the two files is
not yet right (RECORD alone, when METADATA was already replaced) and deletes the killed write's
temporary file.
"""

from __future__ import annotations

import base64
import csv
import glob
import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from incrinstall.common.atomic import write_atomic
from incrinstall.common.names import canonical_name

if TYPE_CHECKING:
    from incrinstall.specs.model import ProjectMetadata

_DEPENDENCY_HEADERS = ("requires-dist", "provides-extra")


def refresh(dist_info: str, new: ProjectMetadata) -> bool:
    """Rewrite `dist_info`'s METADATA and RECORD for `new`'s dependencies; False when a rebuild is needed."""
    metadata_path = os.path.join(dist_info, "METADATA")
    record_path = os.path.join(dist_info, "RECORD")
    try:
        with open(metadata_path, encoding="utf-8", newline="") as fh:
            text = fh.read()
        with open(record_path, encoding="utf-8", newline="") as fh:
            record = fh.read()
    except (OSError, UnicodeDecodeError):
        return False
    headers, body = _split(text)
    name = _field(headers, "name")
    if name is None or canonical_name(name) != new.name:
        return False
    if new.version is None or _field(headers, "version") != new.version:
        return False
    if new.backend_metadata:
        # The backend's own METADATA for the new tree: everything but the dependencies must match.
        theirs, their_body = _split(new.backend_metadata)
        if _others(theirs) != _others(headers) or their_body.strip() != body.strip():
            return False
    rewritten = _with_dependencies(headers, new) + body
    data = rewritten.encode("utf-8")
    record_rows = _updated_record(record, os.path.basename(dist_info) + "/METADATA", data)
    if record_rows is None:
        return False
    _clear_leftovers(dist_info)
    # Each file is compared on its own: a refresh killed between the two writes left METADATA new
    # and RECORD old, and only RECORD is still to write.
    if rewritten != text:
        write_atomic(metadata_path, data)
    if record_rows != record:
        write_atomic(record_path, record_rows)
    return True


def mark_editable(dist_info: str, project_dir: str) -> bool:
    """Make a dist-info installed from an editable wheel file say what it is: editable, from `project_dir`.

    uv records a wheel installed from a file as that file (PEP 610 archive_info); pip and uv
    record an editable install as the project folder with `dir_info.editable`. That is what
    tools (and incrinstall's own "installed editable from this tree?") read. False when RECORD
    cannot be updated; the caller then lets uv install the project itself.
    """
    path = os.path.join(dist_info, "direct_url.json")
    record_path = os.path.join(dist_info, "RECORD")
    data = (json.dumps({"url": Path(project_dir).resolve().as_uri(), "dir_info": {"editable": True}}) + "\n").encode()
    try:
        with open(record_path, encoding="utf-8", newline="") as fh:
            record = fh.read()
    except (OSError, UnicodeDecodeError):
        return False
    rows = _updated_record(record, os.path.basename(dist_info) + "/direct_url.json", data, add=True)
    if rows is None:
        return False
    # RECORD first: a kill between the two leaves direct_url.json saying "a wheel file", so the next
    # sync does not take it for an editable install of this tree and installs it again.
    write_atomic(record_path, rows)
    write_atomic(path, data)
    return True


def _clear_leftovers(dist_info: str) -> None:
    """Delete the temporary files of a refresh that was killed mid-write (atomic.py's `.NAME.<pid>.<thread>.tmp`).

    The caller holds the environment lock, so no other refresh is writing them.
    """
    for name in ("METADATA", "RECORD"):
        for leftover in glob.glob(os.path.join(glob.escape(dist_info), f".{name}.*.tmp")):
            try:
                os.unlink(leftover)
            except OSError:
                pass


def _split(text: str) -> tuple[list[str], str]:
    """Header lines (each with its continuation lines folded in, line ends kept) and the body after them."""
    lines = text.splitlines(keepends=True)
    headers: list[str] = []
    for i, line in enumerate(lines):
        if line in ("\n", "\r\n"):
            return headers, "".join(lines[i:])
        if line[:1] in (" ", "\t") and headers:
            headers[-1] += line
        else:
            headers.append(line)
    return headers, ""


def _name(header: str) -> str:
    return header.split(":", 1)[0].strip().lower()


def _field(headers: list[str], name: str) -> str | None:
    for header in headers:
        if _name(header) == name:
            return header.split(":", 1)[1].strip()
    return None


def _others(headers: list[str]) -> list[str]:
    return [re.sub(r"\s+", " ", h).strip() for h in headers if _name(h) not in _DEPENDENCY_HEADERS]


def _with_dependencies(headers: list[str], new: ProjectMetadata) -> str:
    """The headers with the dependency ones replaced, the new ones where the old ones began."""
    end = "\r\n" if headers and headers[0].endswith("\r\n") else "\n"
    fresh = [f"Provides-Extra: {e}{end}" for e in new.provides_extra]
    fresh += [f"Requires-Dist: {r}{end}" for r in new.requires_dist]
    out: list[str] = []
    placed = False
    for header in headers:
        if _name(header) in _DEPENDENCY_HEADERS:
            if not placed:
                out += fresh
                placed = True
            continue
        out.append(header)
    if not placed:
        out += fresh
    return "".join(out)


def _updated_record(record: str, file_row: str, data: bytes, *, add: bool = False) -> str | None:
    """RECORD with `file_row`'s hash and size set for `data` (`record` itself when they are right);
    None when RECORD does not list it (and not `add`)."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    rows = list(csv.reader(io.StringIO(record)))
    fresh = [f"sha256={digest}", str(len(data))]
    found = changed = False
    for row in rows:
        if row and row[0].replace("\\", "/") == file_row:
            changed |= row[1:] != fresh
            row[1:] = fresh
            found = True
    if not found:
        if not add:
            return None
        rows.append([file_row, *fresh])
        changed = True
    if not changed:
        return record
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
