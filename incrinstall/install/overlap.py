"""Dists that ship the same files (jwt / PyJWT, psycopg2 / psycopg2-binary): which survivors a removal would break.

Before a removal, the RECORDs of the dists to remove are compared with those of the dists that stay;
the staying ones that share a path ("overlapped survivors") are reinstalled after the removal.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from incrinstall.common.names import canonical_name
from incrinstall.install.journal import dist_info_name, record_paths


def _needles(removed: set[str], site: str) -> list[bytes] | None:
    """Byte strings one of which a RECORD naming any of `removed` must contain, as installers write RECORD.

    A path in site-packages is found by its top-level name at the start of a line (`jwt` for `jwt/...`,
    `six.py`); one outside (a script, `../../../bin/tool`) by its file name before the comma. A
    needle may match more than it should (`jwtx/`): that only costs parsing that RECORD. None: too
    unusual to filter (a quoted path), parse every RECORD.
    """
    needles = set()
    for path in removed:
        if '"' in path or "," in path:
            return None
        rel = os.path.relpath(path, site)
        if rel.startswith(".."):
            needles.add(f"/{os.path.basename(path)},")
        else:
            needles.add("\n" + rel.split(os.sep, 1)[0])
    return [n.encode("utf-8") for n in needles]


def overlapped_survivors(site_dirs: Iterable[str], remove: Iterable[str]) -> list[str]:
    """"name==version" of every dist that stays but whose RECORD names a file a dist in `remove` also names.

    Paths are compared normalized (RECORD's are relative to site-packages and may hold `..`). The
    removed dists' RECORDs are parsed; a staying dist's RECORD is only searched for the removed
    top-level names, and parsed when one is there, so a removal without overlap costs a read per dist.
    """
    removing = {canonical_name(name) for name in remove}
    removed: dict[str, set[str]] = {}  # site -> normalized absolute paths the removed dists name
    staying = []
    for site in dict.fromkeys(os.path.realpath(s) for s in site_dirs):
        try:
            entries = [e for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
        for entry in entries:
            name, version = dist_info_name(entry.name)
            if name not in removing:
                staying.append((site, entry.path, f"{name}=={version}"))
                continue
            own = entry.path + os.sep  # its own metadata is no one else's
            removed.setdefault(site, set()).update(
                p for p in (os.path.normpath(os.path.join(site, rel)) for rel in record_paths(entry.path))
                if not p.startswith(own))
    every: set[str] = set().union(*removed.values())
    if not every:
        return []
    # A staying dist in another site folder reaches these paths only by `..`: its own needles.
    needles = {site: _needles(every, site) for site in dict.fromkeys(site for site, _, _ in staying)}
    survivors = set()
    for site, dist_info, spec in staying:
        wanted = needles[site]
        if wanted is not None:
            try:
                with open(os.path.join(dist_info, "RECORD"), "rb") as f:
                    text = b"\n" + f.read()
            except OSError:
                continue
            if not any(n in text for n in wanted):
                continue
        if any(os.path.normpath(os.path.join(site, rel)) in every for rel in record_paths(dist_info)):
            survivors.add(spec)
    return sorted(survivors)
