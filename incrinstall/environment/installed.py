"""What is installed in the target: its distributions, read straight from ``*.dist-info`` folders, never imported.

This module sits on the no-op fast path: it imports only the standard library's light modules at import time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from incrinstall.common.names import canonical_name

# direct_url.json (PEP 610) as read: {"url": ..., "dir_info": {"editable": true}} and the like.
DirectUrl = dict[str, Any]


@dataclass(frozen=True)
class InstalledDist:
    name: str  # canonical
    display_name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    installer: str | None
    editable_path: str | None
    direct_url: DirectUrl | None
    dist_info: str  # the .dist-info (or .egg-info) folder



# A wanted header at the start of a line, with its folded continuation lines (which start with
# whitespace, so text folded into another header can never look like one of these).
_FIELD = rb"(name|version|requires-dist|requires-python):[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)"
_FIRST_HEADER = re.compile(_FIELD, re.IGNORECASE)
_HEADER = re.compile(rb"\n" + _FIELD, re.IGNORECASE)  # the literal \n lets the scan skip ahead fast


def read_installed(site_dirs: Iterable[str]) -> dict[str, InstalledDist]:
    """Every distribution in the site folders, by canonical name; for duplicates the first folder wins.

    `.dist-info` folders are read fully (Name, Version, Requires-Dist, Requires-Python, INSTALLER,
    direct_url.json).  Legacy `.egg-info` (folder or single file) gives Name/Version/Requires-Python
    from PKG-INFO and requirements from requires.txt; it has no INSTALLER or direct_url.json.
    Folders without readable metadata (a half-written install) are skipped.
    """
    dists: dict[str, InstalledDist] = {}
    for site in site_dirs:
        try:
            names = sorted(os.listdir(site))  # sorted: a stale duplicate loses the same way every time
        except (FileNotFoundError, NotADirectoryError):  # a site folder the interpreter lists but never made
            continue
        for entry in names:
            if entry.endswith(".dist-info"):
                dist = _read_dist_info(os.path.join(site, entry))
            elif entry.endswith(".egg-info"):
                dist = _read_egg_info(os.path.join(site, entry))
            else:
                continue
            if dist is not None and dist.name not in dists:
                dists[dist.name] = dist
    return dists


def _read_dist_info(folder: str) -> InstalledDist | None:
    try:
        present = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):  # removed while we looked, or a stray file named *.dist-info
        return None
    if "METADATA" not in present:
        return None
    headers = _read_headers(os.path.join(folder, "METADATA"))
    if headers is None:
        return None
    name, version, requires_dist, requires_python = headers
    installer = direct_url = editable = None
    if "INSTALLER" in present:
        installer = _read_small(os.path.join(folder, "INSTALLER")) or None
    if "direct_url.json" in present:
        direct_url = _read_direct_url(os.path.join(folder, "direct_url.json"))
        if direct_url is not None:
            editable = _editable_path(direct_url)
    return InstalledDist(canonical_name(name), name, version, tuple(requires_dist), requires_python,
                         installer, editable, direct_url, folder)


def _read_small(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return ""
    try:
        return os.read(fd, 4096).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    finally:
        os.close(fd)


def _read_egg_info(path: str) -> InstalledDist | None:
    is_dir = os.path.isdir(path)
    headers = _read_headers(os.path.join(path, "PKG-INFO") if is_dir else path)
    if headers is None:
        return None
    name, version, requires_dist, requires_python = headers
    if is_dir:
        requires_dist = requires_dist + _read_requires_txt(os.path.join(path, "requires.txt"))
    return InstalledDist(canonical_name(name), name, version, tuple(requires_dist), requires_python,
                         None, None, None, path)


def _read_headers(path: str) -> tuple[str, str, list[str], str | None] | None:
    """Name, Version, Requires-Dist and Requires-Python from an RFC 822 header block.

    Reads only up to the first blank line: the long description after it can be megabytes.  The
    wanted fields are picked out with one regex scan (email.parser is many times slower, and a
    Python loop over an old-style folded Description header costs milliseconds per package).
    Folded values are unfolded with single spaces.
    """
    try:
        fd = os.open(path, os.O_RDONLY)  # plain fds: no buffered file object per read, ~5 us each saved
    except OSError:
        return None
    try:
        data = os.read(fd, 16384)
        first_line = data[: data.find(b"\n") + 1]
        blank = b"\r\n\r\n" if first_line.endswith(b"\r\n") else b"\n\n"
        end = data.find(blank)
        while end < 0:
            more = os.read(fd, 262144)
            if not more:
                end = len(data)
                break
            start = max(0, len(data) - 3)
            data += more
            end = data.find(blank, start)
    except OSError:
        return None
    finally:
        os.close(fd)
    name = version = requires_python = None
    requires: list[str] = []
    first = _FIRST_HEADER.match(data, 0, end)
    matches = _HEADER.finditer(data, 0, end)
    for match in ([first] if first else []) + list(matches):
        field, raw = match.group(1).lower(), match.group(2)
        if b"\n" in raw:
            raw = b" ".join(part.strip() for part in raw.split(b"\n"))
        value = raw.decode("utf-8", "replace").strip()
        if field == b"requires-dist":
            if value:
                requires.append(value)
        elif field == b"name":
            name = value
        elif field == b"version":
            version = value
        else:
            requires_python = value
    if not name or not version:
        return None
    return name, version, requires, requires_python or None


def _read_requires_txt(path: str) -> list[str]:
    """setuptools' requires.txt: plain lines, then `[extra]`, `[extra:marker]` or `[:marker]` sections."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    out: list[str] = []
    section_marker = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = line[1:-1].partition(":")
            extra, marker = extra.strip(), marker.strip()
            if extra and marker:
                section_marker = f'({marker}) and extra == "{extra}"'
            elif extra:
                section_marker = f'extra == "{extra}"'
            else:
                section_marker = marker
            continue
        if not section_marker:
            out.append(line)
        elif ";" in line:
            req, _, own = line.partition(";")
            out.append(f"{req.strip()}; ({own.strip()}) and {section_marker}")
        else:
            out.append(f"{line}; {section_marker}")
    return out


def _read_direct_url(path: str) -> DirectUrl | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _editable_path(direct_url: DirectUrl) -> str | None:
    dir_info = direct_url.get("dir_info")
    url = direct_url.get("url")
    if not (isinstance(dir_info, dict) and dir_info.get("editable") is True and isinstance(url, str)):
        return None
    return file_url_to_path(url)


def file_url_to_path(url: str) -> str | None:
    """file:///x/y%20z -> /x/y z (None for other schemes); urllib.request is too heavy to import for this."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    if os.name == "nt":
        if len(path) >= 3 and path[0] == "/" and path[2] == ":":
            path = path[1:]  # /C:/x -> C:/x
        if parts.netloc and parts.netloc != "localhost":
            path = f"//{parts.netloc}{path}"
        return os.path.normpath(path)
    if parts.netloc and parts.netloc != "localhost":
        return None  # a remote host's path means nothing here
    return path


def requirement_closure(installed: Mapping[str, InstalledDist], roots: Iterable[str],
                        markers: Mapping[str, str]) -> set[str]:
    """`roots` that are installed and every installed distribution they require, transitively.

    Markers are evaluated for `markers` (the target's) with no extra, so optional requirements do not count.
    """
    # Local: this module is on the no-op path, which never needs a requirement parsed.
    from packaging.requirements import InvalidRequirement, Requirement

    found: set[str] = set()
    queue = [canonical_name(r) for r in roots]
    while queue:
        name = queue.pop()
        dist = installed.get(name)
        if dist is None or name in found:
            continue
        found.add(name)
        for line in dist.requires_dist:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({**markers, "extra": ""}):
                queue.append(canonical_name(req.name))
    return found
