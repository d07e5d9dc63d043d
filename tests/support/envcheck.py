"""The environment invariant, checked from the outside: every installed dist complete, every requirement met.

`assert_environment_consistent(python)` fails with every problem it finds:
- each `*.dist-info` in site-packages has RECORD and METADATA, and every file RECORD lists exists with
  the size and hash RECORD gives (a file is hashed only when its size matches, and a file already
  hashed at the same inode, size and mtime is not hashed again);
- `uv pip check` is clean, except for a requirement on a package the project tree provides and a
  baseline or non-editable sync deliberately leaves out, when its specifier admits the tree's version.
  The tree's packages come from the state's JSON copy (`tool.incrinstall.tree-packages`) and from the
  `tree_packages` argument.

It reads the files itself and never trusts incrinstall's own reader.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from tests.support.venvs import pip_check, site_packages

# uv 0.13's `pip check` lines: a missing requirement, and the lines that frame the report.
_NOT_INSTALLED = re.compile(r"The package `(?P<dist>[^`]+)` requires `(?P<req>[^`]+)`, but it's not installed")
_FRAME = re.compile(r"Using Python |Checked \d+ packages? |Found \d+ incompatibilit|All installed packages are compatible")

# (device, inode, size, mtime_ns, algorithm) -> digest: uv hardlinks the same cache file into many venvs.
_HASHED: dict[tuple, str] = {}


def assert_environment_consistent(python: str | os.PathLike, *, tree_packages: Mapping[str, str] | None = None) -> None:
    if not any(_listing(site) for site in _site_dirs(python)):
        return  # nothing installed: spare the uv process (many tests' venvs stay empty)
    problems = record_problems(python) + requirement_problems(python, tree_packages=tree_packages)
    if problems:
        raise AssertionError(f"environment of {python} is inconsistent:\n  " + "\n  ".join(problems))


def record_problems(python: str | os.PathLike) -> list[str]:
    """What is wrong with the dist-info folders: missing RECORD or METADATA, missing or changed files."""
    problems = []
    for site in dict.fromkeys(os.path.realpath(sp) for sp in _site_dirs(python)):
        try:
            folders = sorted(e.path for e in os.scandir(site) if e.name.endswith(".dist-info") and e.is_dir())
        except OSError:
            continue
        for folder in folders:
            problems += dist_info_problems(site, folder)
    return problems


def _listing(site: str) -> list[str]:
    """The metadata folders (and files) of the dists installed in one site folder."""
    try:
        return [name for name in os.listdir(site) if name.endswith((".dist-info", ".egg-info"))]
    except OSError:
        return []


def _site_dirs(python: str | os.PathLike) -> list[str]:
    """A venv's site-packages from its pyvenv.cfg (no interpreter start: the check runs on every venv)."""
    venv = Path(python).parent.parent
    try:
        cfg = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return site_packages(python)
    found = re.search(r"^version(?:_info)?\s*=\s*(\d+)\.(\d+)", cfg, re.MULTILINE)
    site = venv / "lib" / f"python{found[1]}.{found[2]}" / "site-packages" if found else None
    return [str(site)] if site is not None and site.is_dir() and os.name != "nt" else site_packages(python)


def dist_info_problems(site: str, folder: str) -> list[str]:
    """What is wrong with one dist-info folder in `site`: no RECORD or METADATA, a file missing or not as RECORD says."""
    name = os.path.basename(folder)
    missing = [f for f in ("RECORD", "METADATA") if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        return [f"{name}: no {' and no '.join(missing)}"]
    problems = []
    with open(os.path.join(folder, "RECORD"), newline="", encoding="utf-8") as f:
        rows = [row for row in csv.reader(f) if row and row[0]]
    for row in rows:
        rel, digest, size = (row + ["", ""])[:3]
        path = os.path.normpath(os.path.join(site, rel))
        try:
            st = os.stat(path)
        except OSError:
            problems.append(f"{name}: {rel} is missing")
            continue
        if size and st.st_size != int(size):
            problems.append(f"{name}: {rel} has {st.st_size} bytes, RECORD says {size}")
        elif digest:
            algorithm, _, expected = digest.partition("=")
            actual = _digest(path, st, algorithm)
            if actual != expected:
                problems.append(f"{name}: {rel} has {algorithm}={actual}, RECORD says {expected}")
    return problems


def forget_hashes() -> None:
    """Drop the remembered digests. Needed after deleting files and copying others in with their mtimes kept
    (`cp -a`, copytree): a freed inode reused by a file of the same size and mtime would get a stale digest."""
    _HASHED.clear()


def _digest(path: str, st: os.stat_result, algorithm: str) -> str:
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, algorithm)
    if key not in _HASHED:
        h = hashlib.new(algorithm)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHED[key] = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")
    return _HASHED[key]


def requirement_problems(python: str | os.PathLike, *, tree_packages: Mapping[str, str] | None = None) -> list[str]:
    """`uv pip check`'s complaints, less the requirements on tree packages a sync leaves out on purpose."""
    ok, output = pip_check(python)
    if ok:
        return []
    tree = {**recorded_tree_packages(python), **{canonicalize_name(k): v for k, v in (tree_packages or {}).items()}}
    problems, accepted = [], 0
    for line in output.splitlines():
        line = line.strip()
        if not line or _FRAME.match(line):
            continue
        missing = _NOT_INSTALLED.fullmatch(line)
        if missing and _tree_provides(tree, missing["req"]):
            accepted += 1
            continue
        problems.append(f"uv pip check: {line}")
    if not problems and not accepted:  # a failure whose lines we could not read still fails
        problems.append(f"uv pip check failed:\n{output}")
    return problems


def _tree_provides(tree: Mapping[str, str], requirement: str) -> bool:
    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return False
    version = tree.get(canonicalize_name(req.name))
    return version is not None and req.specifier.contains(version, prereleases=True)


def recorded_tree_packages(python: str | os.PathLike) -> dict[str, str]:
    """{canonical name: version} of the project tree's packages, from the state's JSON copy ({} if absent)."""
    try:
        data = json.loads((Path(prefix_of(python)) / ".incrinstall" / "pylock.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("tool", {}).get("incrinstall", {}).get("tree-packages", {}) if isinstance(data, dict) else {}
    return {canonicalize_name(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def prefix_of(python: str | os.PathLike) -> str:
    """The environment's prefix: a venv's folder without asking, anything else asks the interpreter."""
    venv = Path(python).parent.parent
    if (venv / "pyvenv.cfg").is_file():
        return str(venv)
    return subprocess.run([str(python), "-I", "-c", "import sys; print(sys.prefix)"], capture_output=True,
                          text=True, check=True).stdout.strip()
