"""The target interpreter: which one, and what it is (markers, tags, paths), asked once and cached.

The interpreter is asked once, in one subprocess (incrinstall/environment/_probe.py), and the answer is cached on
disk keyed by the executable's identity, so a no-op run starts no subprocess at all.  This module sits on the
no-op fast path: it imports only the standard library's light modules at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import InterpreterError
from incrinstall.common.paths import cache_dir

# How the interpreter was found: named with --python, the active virtual environment, or python3 on PATH.
FoundBy = Literal["--python", "VIRTUAL_ENV", "PATH"]

# Bump when _probe.py or the cached layout changes: old cache files are then ignored.
PROBE_VERSION = 1
# What _probe.py reports (its JSON): markers, paths, tags, and raw facts for the tags of an old target.
ProbeInfo = dict[str, Any]

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
    found_by: FoundBy


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


def _describe(exe: str, found_by: FoundBy) -> Interpreter:
    """The probe's answer for `exe`, from the disk cache when the executable is unchanged."""
    if _is_script(exe):
        # A wrapper such as a pyenv shim picks its python at run time (cwd, env): its own mtime says
        # nothing about what it runs, so it is never cached, and the real interpreter is reported.
        info = _run_probe(exe)
        return _to_interpreter(info, info["executable"], found_by)
    key = _cache_key(exe)
    cache_file = _cache_file(exe)
    cached = _load_cache(cache_file, key)
    if cached is None:
        cached = _run_probe(exe)
        _store_cache(cache_file, key, cached)
    return _to_interpreter(cached, exe, found_by)


def _is_script(exe: str) -> bool:
    try:
        with open(exe, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return False  # executable but unreadable: a binary as far as we can tell


def _cache_key(exe: str) -> dict[str, object]:
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
    digest = hashlib.sha256(exe.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return os.path.join(cache_dir(), "interpreters", f"{digest}.json")


def _load_cache(cache_file: str, key: dict[str, object]) -> ProbeInfo | None:
    try:
        with open(cache_file, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("info"), dict):
        return None
    info: ProbeInfo = data["info"]
    return info


def _store_cache(cache_file: str, key: dict[str, object], info: ProbeInfo) -> None:
    # A cache we cannot write only costs the next run a subprocess.
    try:
        write_atomic(cache_file, json.dumps({"key": key, "info": info}))
    except OSError:
        pass


def _run_probe(exe: str) -> ProbeInfo:
    """Ask the interpreter everything in one subprocess: -I -S keeps its environment and .pth files out."""
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
    # Local: this module is on the no-op path, which answers from the cached probe and never imports packaging.
    import packaging

    return os.path.dirname(os.path.abspath(packaging.__file__))


def _fallback_tags(info: ProbeInfo) -> list[str]:
    """Tags for a target too old to import our packaging, from the raw facts the probe reported."""
    # Local: this module is on the no-op path, and only a target too old for our packaging needs its tags module.
    from packaging import tags as t

    major, minor = info["version_info"][:2]
    nodot = info.get("py_version_nodot") or f"{major}{minor}"
    platforms = _fallback_platforms(info)
    interp: str | None
    if info["implementation"] == "cpython":
        found = list(t.cpython_tags((major, minor), info["abis"], platforms))
        interp = f"cp{nodot}"
    else:
        short = t.INTERPRETER_SHORT_NAMES.get(info["implementation"], info["implementation"])
        found = list(t.generic_tags(f"{short}{nodot}", info["abis"], platforms))
        interp = "pp3" if short == "pp" else None
    found += t.compatible_tags((major, minor), interp, platforms)
    return [str(tag) for tag in found]


def _fallback_platforms(info: ProbeInfo) -> list[str]:
    # Local: this module is on the no-op path, and only a target too old for our packaging needs these.
    import sysconfig

    from packaging import tags as t

    same_platform = info["platform"] == sysconfig.get_platform()
    if same_platform and info["is_32bit"] == (sys.maxsize <= 2**32):
        # Same machine, same kind of build: the glibc/musl/macOS facts are ours too.
        return list(t.platform_tags())
    return [re.sub(r"[-.]", "_", info["platform"])]


def _to_interpreter(info: ProbeInfo, exe: str, found_by: FoundBy) -> Interpreter:
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
