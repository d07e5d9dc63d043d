"""The target environment: which interpreter, what it is (markers, tags, paths), and what is installed in it.

The interpreter is asked once, in one subprocess (incrinstall/target/_probe.py), and the answer is cached on disk
keyed by the executable's identity, so a no-op run starts no subprocess at all.  Installed distributions
are read straight from ``*.dist-info`` folders, never imported.  This module sits on the no-op fast path:
it imports only the standard library's light modules at import time.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from collections.abc import Iterable, Mapping

from incrinstall.common.errors import InterpreterError
from incrinstall.common.names import canonical_name

# Bump when _probe.py or the cached layout changes: old cache files are then ignored.
PROBE_VERSION = 1

# How many probe subprocesses this process started (tests and --verbose output read it).


@dataclass(frozen=True)
class Interpreter:
    executable: str  # as found: a venv's bin/python stays the venv's (not resolved to the base python)
    version: str  # python_full_version, e.g. "3.12.1"
    markers: dict[str, str]  # PEP 508 marker environment of the target
    prefix: str
    base_prefix: str
    is_venv: bool
    purelib: str
    platlib: str
    scripts: str
    site_dirs: tuple[str, ...]  # purelib and platlib, deduplicated
    tags: tuple[str, ...]  # wheel tags the TARGET supports, most preferred first
    found_by: str  # "--python", "VIRTUAL_ENV" or "PATH"


@dataclass(frozen=True)
class InstalledDist:
    name: str  # canonical
    display_name: str
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    installer: str | None
    editable_path: str | None
    direct_url: dict | None
    dist_info: str  # the .dist-info (or .egg-info) folder


@dataclass
class Target:
    interpreter: Interpreter
    dists: dict[str, InstalledDist]


def inspect(python: str | None = None) -> Target:
    """Find the target interpreter and read what is installed in it."""
    interpreter = find_interpreter(python)
    return Target(interpreter, read_installed(interpreter.site_dirs))


# --- finding and asking the interpreter --------------------------------------------------------


def find_interpreter(python: str | None = None, environ: Mapping[str, str] | None = None) -> Interpreter:
    """--python (path, venv folder, or a name on PATH); else $VIRTUAL_ENV's python; else python3/python on PATH."""
    env = os.environ if environ is None else environ
    if python:
        return _describe(_locate_explicit(python, env), "--python")
    venv = env.get("VIRTUAL_ENV")
    if venv:
        exe = _venv_python(venv)
        if exe is None:
            raise InterpreterError(f"points to {venv}, which has no python in it", where="VIRTUAL_ENV")
        return _describe(exe, "VIRTUAL_ENV")
    import shutil

    for name in ("python3", "python"):
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return _describe(os.path.abspath(found), "PATH")
    raise InterpreterError("no python3 or python found on PATH and no virtual environment is active; "
                           "pass --python PATH")


def _venv_python(folder: str) -> str | None:
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe"):
        candidate = os.path.join(folder, rel)
        if os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return None


def _locate_explicit(python: str, env: Mapping[str, str]) -> str:
    python = os.path.expanduser(python)
    # A bare name is looked up on PATH ("python3.12"), unless it is a venv folder here (".venv").
    looks_like_path = os.sep in python or (os.altsep and os.altsep in python) or os.path.isdir(python)
    if not looks_like_path:
        import shutil

        found = shutil.which(python, path=env.get("PATH"))
        if not found:
            raise InterpreterError("no such interpreter on PATH (given with --python)", where=python)
        return os.path.abspath(found)
    path = os.path.abspath(python)
    if os.path.isdir(path):
        exe = _venv_python(path)
        if exe is None:
            raise InterpreterError("a folder, but not a virtual environment (no bin/python in it)",
                                   where=python)
        return exe
    if not os.path.exists(path):
        raise InterpreterError("no such file (given with --python)", where=python)
    if not os.access(path, os.X_OK):
        raise InterpreterError("not executable (given with --python)", where=python)
    return path


def _describe(exe: str, found_by: str) -> Interpreter:
    """The probe's answer for `exe`, from the disk cache when the executable is unchanged."""
    if _is_script(exe):
        # A wrapper such as a pyenv shim picks its python at run time (cwd, env): its own mtime says
        # nothing about what it runs, so it is never cached, and the real interpreter is reported.
        info = _run_probe(exe)
        return _to_interpreter(info, info["executable"], found_by)
    key = _cache_key(exe)
    cache_file = _cache_file(exe)
    info = _load_cache(cache_file, key)
    if info is None:
        info = _run_probe(exe)
        _store_cache(cache_file, key, info)
    return _to_interpreter(info, exe, found_by)


def _is_script(exe: str) -> bool:
    try:
        with open(exe, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False  # executable but unreadable: a binary as far as we can tell


def _cache_key(exe: str) -> dict:
    """What identifies the interpreter: the path, where it really points, the binary, and pyvenv.cfg."""
    real = os.path.realpath(exe)
    try:
        st = os.stat(real)
    except OSError as exc:
        raise InterpreterError(f"cannot use this interpreter: {exc.strerror}", where=exe) from None
    key = {"probe": PROBE_VERSION, "path": exe, "real": real, "mtime_ns": st.st_mtime_ns, "size": st.st_size}
    exe_dir = os.path.dirname(exe)
    for folder in (exe_dir, os.path.dirname(exe_dir)):
        cfg = os.path.join(folder, "pyvenv.cfg")
        try:
            cst = os.stat(cfg)
        except OSError:
            continue
        key["pyvenv_cfg"] = [cfg, cst.st_mtime_ns, cst.st_size]
        break
    return key


def _cache_file(exe: str) -> str:
    import hashlib

    from incrinstall.common.paths import cache_dir

    digest = hashlib.sha256(exe.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(cache_dir(), "interpreters", f"{digest}.json")


def _load_cache(cache_file: str, key: dict) -> dict | None:
    try:
        with open(cache_file, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data.get("info")


def _store_cache(cache_file: str, key: dict, info: dict) -> None:
    # A cache we cannot write only costs the next run a subprocess.
    from incrinstall.common.atomic import write_atomic

    try:
        write_atomic(cache_file, json.dumps({"key": key, "info": info}))
    except OSError:
        pass


def _run_probe(exe: str) -> dict:
    """Ask the interpreter everything in one subprocess: -I -S keeps its environment and .pth files out."""
    import subprocess

    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_probe.py")
    try:
        proc = subprocess.run([exe, "-I", "-S", probe, _packaging_dir()], capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise InterpreterError(f"cannot run this interpreter: {exc.strerror or exc}", where=exe) from None
    except subprocess.TimeoutExpired:
        raise InterpreterError("the interpreter did not answer within 120 s", where=exe) from None
    try:
        info = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        info = None
    if not isinstance(info, dict):
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-10:])
        raise InterpreterError(f"not a usable Python 3 interpreter (exit {proc.returncode})",
                               where=exe, detail=tail or None)
    if not info.get("tags"):
        info["tags"] = _fallback_tags(info)
    return info


def _packaging_dir() -> str:
    import packaging

    return os.path.dirname(os.path.abspath(packaging.__file__))


def _fallback_tags(info: dict) -> list[str]:
    """Tags for a target too old to import our packaging, from the raw facts the probe reported."""
    from packaging import tags as t

    major, minor = info["version_info"][:2]
    nodot = info.get("py_version_nodot") or f"{major}{minor}"
    platforms = _fallback_platforms(info)
    if info["implementation"] == "cpython":
        found = list(t.cpython_tags((major, minor), info["abis"], platforms))
        interp = f"cp{nodot}"
    else:
        short = t.INTERPRETER_SHORT_NAMES.get(info["implementation"], info["implementation"])
        found = list(t.generic_tags(f"{short}{nodot}", info["abis"], platforms))
        interp = "pp3" if short == "pp" else None
    found += t.compatible_tags((major, minor), interp, platforms)
    return [str(tag) for tag in found]


def _fallback_platforms(info: dict) -> list[str]:
    import sysconfig

    from packaging import tags as t

    same_platform = info["platform"] == sysconfig.get_platform()
    if same_platform and info["is_32bit"] == (sys.maxsize <= 2**32):
        # Same machine, same kind of build: the glibc/musl/macOS facts are ours too.
        return list(t.platform_tags())
    return [re.sub(r"[-.]", "_", info["platform"])]


def _to_interpreter(info: dict, exe: str, found_by: str) -> Interpreter:
    site_dirs = tuple(dict.fromkeys((info["purelib"], info["platlib"])))
    return Interpreter(
        executable=exe,
        version=info["markers"]["python_full_version"],
        markers=dict(info["markers"]),
        prefix=info["prefix"],
        base_prefix=info["base_prefix"],
        is_venv=os.path.normpath(info["prefix"]) != os.path.normpath(info["base_prefix"]),
        purelib=info["purelib"],
        platlib=info["platlib"],
        scripts=info["scripts"],
        site_dirs=site_dirs,
        tags=tuple(info["tags"]),
        found_by=found_by,
    )


# --- what is installed -------------------------------------------------------------------------

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
        except OSError:
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
    except OSError:
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


def _read_direct_url(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _editable_path(direct_url: dict) -> str | None:
    dir_info = direct_url.get("dir_info")
    url = direct_url.get("url")
    if not (isinstance(dir_info, dict) and dir_info.get("editable") is True and isinstance(url, str)):
        return None
    return file_url_to_path(url)


def file_url_to_path(url: str) -> str | None:
    """file:///x/y%20z -> /x/y z (None for other schemes); urllib.request is too heavy to import for this."""
    from urllib.parse import unquote, urlsplit

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
