"""Resolve from scratch with `uv pip compile`, into the same Resolution the resolver returns.

A baseline installs hundreds of packages into an empty environment: that is a fresh
resolution, which uv does many times faster than resolvelib in Python. The incremental
resolution of `sync` stays ours (it must prefer what is installed and touch the index only
for the delta), and so does a baseline into an environment that already has packages of its
own. The packages the project tree provides are overridden with empty stand-ins, so uv
never fetches them from the index; uv's PEP 751 output gives each pin's file and hashes.
"""

from __future__ import annotations

import base64
import hashlib
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from incrinstall.errors import InstallError, ResolutionError
from incrinstall.resolver import ROOT, Pin, Resolution
from incrinstall.state import read_toml

STAND_IN_VERSION = "0+incrinstall.tree"


def _stand_in_wheel(folder: Path, name: str) -> Path:
    """An empty wheel for a package the tree provides: it satisfies any requirement on it, with no dependencies."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{STAND_IN_VERSION}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {STAND_IN_VERSION}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: incrinstall\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{dist}-{STAND_IN_VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@dataclass(frozen=True)
class LockedFile:
    """The file uv chose for a pin (what the state file records)."""

    url: str
    hashes: dict[str, str]


def parse_pylock(data: dict, skip: set[str]) -> dict[str, tuple[str, list[LockedFile]]]:
    """uv's PEP 751 output -> {canonical name: (version, files)}; packages in `skip` (the tree's) are left out."""
    out = {}
    for entry in data.get("packages", []):
        name = canonicalize_name(entry["name"])
        if name in skip or "version" not in entry:
            continue
        dists = list(entry.get("wheels") or []) + ([entry["sdist"]] if entry.get("sdist") else [])
        files = [LockedFile(d["url"], dict(d.get("hashes", {}))) for d in dists if d.get("url")]
        out[name] = (entry["version"], files)
    return out


def resolve_with_uv(
    requirements: Sequence,
    constraints: Sequence = (),
    *,
    interpreter,
    installed: Mapping[str, object],
    uv_index_args: list[str],
    local_packages: Sequence = (),
    prerelease: str = "if-necessary-or-explicit",
) -> Resolution:
    """Pin the root requirements with uv; raise ResolutionError (with uv's explanation) if impossible."""
    from incrinstall.index_config import uv_prerelease_args
    from incrinstall.uv import run_uv

    local = {lp.name: lp.version for lp in local_packages}
    with tempfile.TemporaryDirectory(prefix="incrinstall-uv-") as tmp:
        folder = Path(tmp)
        (folder / "requirements.in").write_text("".join(f"{r.requirement}\n" for r in requirements))
        output = folder / "pylock.toml"
        args = ["pip", "compile", str(folder / "requirements.in"), "--python", interpreter.executable,
                "--format", "pylock.toml", "--no-header", "--quiet",  # uv_index_args: --index-strategy etc.
                *uv_prerelease_args(prerelease, requirements), "-o", str(output), *uv_index_args]
        if constraints:
            (folder / "constraints.txt").write_text("".join(f"{c.requirement}\n" for c in constraints))
            args += ["-c", str(folder / "constraints.txt")]
        if local:
            overrides = [f"{name} @ {_stand_in_wheel(folder, name).as_uri()}" for name in sorted(local)]
            (folder / "overrides.txt").write_text("\n".join(overrides) + "\n")
            args += ["--override", str(folder / "overrides.txt")]
        try:
            run_uv(args, what="resolving with uv")
        except InstallError as exc:
            said = exc.detail or exc.message
            if "No solution found" not in said:
                raise  # the index or the interpreter failed, not the specs: uv's words say which
            sources = "\n".join(f"  {r.requirement:<30} {r.source}" for r in requirements)
            raise ResolutionError("the requirements cannot be satisfied together (resolved by uv)",
                                  detail=f"{said}\nroot requirements:\n{sources}") from None
        locked = parse_pylock(read_toml(output), set(local))

    root_sources: dict[str, list[str]] = {}
    for r in requirements:
        name = canonicalize_name(Requirement(r.requirement).name)
        root_sources.setdefault(name, []).append(r.source)
    pins: dict[str, Pin] = {}
    for name, (version, files) in locked.items():
        dist = installed.get(name)
        origin = "installed" if dist is not None and dist.version == version else "index"
        hashes = tuple(f"sha256:{f.hashes['sha256']}" for f in files) if all(
            f.hashes.get("sha256") for f in files) and files else ()
        pins[name] = Pin(name, version, origin, (), files[0] if files else None, hashes)
    # uv's lock output does not say who required what; roots are known, the rest is "required".
    required_by = {name: [ROOT] for name in root_sources if name in pins}
    return Resolution(pins=dict(sorted(pins.items())), local=local, required_by=required_by,
                      root_sources=root_sources, index_requests=0)
