"""Build small but valid wheels and sdists for tests, byte-for-byte reproducible for the same inputs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.requirements import Requirement
from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

# Fixed timestamps keep the archives (and so their sha256) stable across runs.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_TAR_MTIME = 1577836800


def dist_filename_name(name: str) -> str:
    """The name part of a wheel/sdist filename: normalized, with underscores."""
    return canonicalize_name(name).replace("-", "_")


def module_name(name: str) -> str:
    """The importable top-level module a built dist contains."""
    return dist_filename_name(name)


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{dist_filename_name(name)}-{Version(str(version))}-{tag}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{dist_filename_name(name)}-{Version(str(version))}.tar.gz"


def _with_extra(req: str, extra: str) -> str:
    """`req; extra == "x"`, keeping an existing marker as `(marker) and extra == "x"`."""
    parsed = Requirement(req)
    marker = parsed.marker
    parsed.marker = None
    if marker is None:
        return f'{parsed}; extra == "{extra}"'
    return f'{parsed}; ({marker}) and extra == "{extra}"'


def requires_dist_lines(requires_dist: Iterable[str] = (),
                        extras: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """All Requires-Dist values: the plain ones, then each extra's with its marker."""
    lines = [str(r) for r in requires_dist]
    for extra, reqs in (extras or {}).items():
        lines.extend(_with_extra(r, extra) for r in reqs)
    return lines


def metadata_text(name: str, version: str, *, requires_dist: Iterable[str] = (),
                  requires_python: str | None = None,
                  extras: Mapping[str, Iterable[str]] | None = None,
                  metadata_version: str = "2.1", dynamic: Iterable[str] = (),
                  summary: str | None = None) -> str:
    """The core metadata file (METADATA / PKG-INFO / PEP 658 `.metadata`) for a dist."""
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
    ]
    for field in dynamic:
        lines.append(f"Dynamic: {field}")
    lines.append(f"Summary: {summary if summary is not None else f'Test package {name}'}")
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for req in requires_dist_lines(requires_dist, extras):
        lines.append(f"Requires-Dist: {req}")
    for extra in (extras or {}):
        lines.append(f"Provides-Extra: {extra}")
    return "\n".join(lines) + "\n\n"


def record_hash(data: bytes) -> str:
    """`sha256=<urlsafe base64, unpadded>`: a file's hash as a RECORD line gives it."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _as_bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def _wheel_text(tag: str) -> str:
    tags = sorted(str(t) for t in parse_tag(tag))
    # A wheel with platform-specific tags installs into platlib.
    purelib = all(t.abi == "none" and t.platform == "any" for t in parse_tag(tag))
    lines = ["Wheel-Version: 1.0", "Generator: incrinstall-tests (0)",
             f"Root-Is-Purelib: {'true' if purelib else 'false'}"]
    lines += [f"Tag: {t}" for t in tags]
    return "\n".join(lines) + "\n\n"


def _entry_points_text(entry_points: Mapping[str, Mapping[str, str]]) -> str:
    out = []
    for group, items in entry_points.items():
        out.append(f"[{group}]")
        out += [f"{k} = {v}" for k, v in items.items()]
        out.append("")
    return "\n".join(out)


def build_wheel(out_dir: str | Path, name: str, version: str, *,
                requires_dist: Iterable[str] = (), requires_python: str | None = None,
                extras: Mapping[str, Iterable[str]] | None = None, tag: str = "py3-none-any",
                files: Mapping[str, str | bytes] | None = None, metadata_version: str = "2.1",
                entry_points: Mapping[str, Mapping[str, str]] | None = None, module: str | None = None) -> Path:
    """Write `{name}-{version}-{tag}.whl` into out_dir and return its path.

    The wheel holds `{module}/__init__.py` (which sets `__version__`), any extra `files`
    (relpath -> text or bytes; one named like the `__init__.py` replaces it), and a complete
    `.dist-info` (METADATA, WHEEL, RECORD). `module` names the package folder when it is not the
    dist's own name (jwt-lite shipping `jwt/`); its `__init__.py` then also sets `__distribution__`,
    so two dists that ship the same folder differ in content.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = str(Version(str(version)))
    dist_info = f"{dist_filename_name(name)}-{version}.dist-info"

    init = f'__version__ = "{version}"\n'
    if module is not None:
        init += f'__distribution__ = "{name}"\n'
    contents = {f"{module or module_name(name)}/__init__.py": init.encode()}
    for rel, content in (files or {}).items():
        contents[rel.replace("\\", "/")] = _as_bytes(content)
    entries: list[tuple[str, bytes]] = list(contents.items())
    entries.append((f"{dist_info}/METADATA", metadata_text(
        name, version, requires_dist=requires_dist, requires_python=requires_python,
        extras=extras, metadata_version=metadata_version).encode()))
    entries.append((f"{dist_info}/WHEEL", _wheel_text(tag).encode()))
    if entry_points:
        entries.append((f"{dist_info}/entry_points.txt", _entry_points_text(entry_points).encode()))

    record = "".join(f"{rel},{record_hash(data)},{len(data)}\n" for rel, data in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode()))

    path = out / wheel_filename(name, version, tag)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for rel, data in entries:
            info = zipfile.ZipInfo(rel, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string for the characters tests use.
    return json.dumps(value)


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"


def pyproject_text(name: str, version: str, *, requires_dist: Iterable[str] = (),
                   requires_python: str | None = None,
                   extras: Mapping[str, Iterable[str]] | None = None,
                   build_requires: Iterable[str] = ("hatchling",),
                   build_backend: str = "hatchling.build") -> str:
    """A static-metadata pyproject.toml for a hatchling-built project."""
    lines = [
        "[build-system]",
        f"requires = {_toml_list(build_requires)}",
        f"build-backend = {_toml_str(build_backend)}",
        "",
        "[project]",
        f"name = {_toml_str(name)}",
        f"version = {_toml_str(version)}",
    ]
    if requires_python:
        lines.append(f"requires-python = {_toml_str(requires_python)}")
    lines.append(f"dependencies = {_toml_list(requires_dist)}")
    if extras:
        lines += ["", "[project.optional-dependencies]"]
        lines += [f"{_toml_str(extra)} = {_toml_list(reqs)}" for extra, reqs in extras.items()]
    lines += ["", "[tool.hatch.build.targets.wheel]", f"packages = [{_toml_str(module_name(name))}]"]
    return "\n".join(lines) + "\n"


def build_sdist(out_dir: str | Path, name: str, version: str, *,
                requires_dist: Iterable[str] = (), requires_python: str | None = None,
                extras: Mapping[str, Iterable[str]] | None = None, metadata_version: str = "2.2",
                dynamic: Iterable[str] = (), built_requires_dist: Iterable[str] | None = None,
                files: Mapping[str, str | bytes] | None = None) -> Path:
    """Write `{name}-{version}.tar.gz` (PKG-INFO, pyproject.toml for hatchling, the module).

    PKG-INFO lists `requires_dist`; the pyproject (so the wheel a build makes) lists
    `built_requires_dist` when given, which lets a test model metadata marked `Dynamic`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = str(Version(str(version)))
    base = f"{dist_filename_name(name)}-{version}"
    mod = module_name(name)
    requires_dist = list(requires_dist)
    entries: list[tuple[str, bytes]] = [
        ("PKG-INFO", metadata_text(name, version, requires_dist=requires_dist,
                                   requires_python=requires_python, extras=extras,
                                   metadata_version=metadata_version, dynamic=dynamic).encode()),
        ("pyproject.toml", pyproject_text(
            name, version,
            requires_dist=requires_dist if built_requires_dist is None else list(built_requires_dist),
            requires_python=requires_python, extras=extras).encode()),
        (f"{mod}/__init__.py", f'__version__ = "{version}"\n'.encode()),
    ]
    for rel, content in (files or {}).items():
        entries.append((rel.replace("\\", "/"), _as_bytes(content)))

    path = out / sdist_filename(name, version)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for rel, data in entries:
            info = tarfile.TarInfo(f"{base}/{rel}")
            info.size = len(data)
            info.mtime = _TAR_MTIME
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    # gzip with a fixed mtime so the bytes are reproducible.
    import gzip
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(buf.getvalue())
    return path


def read_wheel_metadata(path: str | Path) -> bytes | None:
    """The raw `.dist-info/METADATA` bytes of a wheel, or None if it has none."""
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            parts = member.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return zf.read(member)
    return None


def read_sdist_metadata(path: str | Path) -> bytes | None:
    """The raw top-level PKG-INFO bytes of a `.tar.gz` sdist, or None."""
    with tarfile.open(path, "r:gz") as tf:
        for member in tf.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                fh = tf.extractfile(member)
                return fh.read() if fh else None
    return None
