"""Make virtualenvs with uv and inspect them independently of incrinstall's own code."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name


def uv_bin() -> str:
    """The uv binary of the dev environment (the `uv` package), else the one on PATH (INCRINSTALL_UV wins)."""
    from incrinstall.common.uv import uv_binary

    return uv_binary()


def run_uv(args: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
           check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run uv with os.environ (+ `env`); raise with uv's output when `check` and it fails."""
    full_env = dict(os.environ)
    full_env.setdefault("UV_NO_PROGRESS", "1")
    full_env.setdefault("NO_COLOR", "1")
    full_env.setdefault("UV_PYTHON_DOWNLOADS", "never")
    if env:
        full_env.update(env)
    proc = subprocess.run([uv_bin(), *args], env=full_env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"uv {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def find_python(version_prefix: str) -> str | None:
    """An interpreter for e.g. "3.12" (pyenv versions first, then pythonX.Y on PATH), or None."""
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    roots.append(os.path.expanduser("~/.pyenv"))
    candidates: list[tuple[tuple[int, ...], str]] = []
    for root in roots:
        for exe in glob.glob(os.path.join(root, "versions", f"{version_prefix}*", "bin", "python")):
            name = Path(exe).parent.parent.name
            # "3.1" must not match "3.12": the prefix has to end at a version boundary.
            rest = name[len(version_prefix):]
            if rest and not rest.startswith("."):
                continue
            if re.fullmatch(r"[\d.]+", name) and os.access(exe, os.X_OK):
                candidates.append((_version_tuple(name), exe))
        if candidates:
            return max(candidates)[1]
    found = shutil.which(f"python{version_prefix}")
    if found:
        return found
    if sys.version.startswith(version_prefix + ".") or sys.version.startswith(version_prefix + " "):
        return sys.executable
    return None


def venv_python(venv: str | Path) -> Path:
    venv = Path(venv)
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


# Every python make_venv() returned, in order: tests/conftest.py checks those a test made, at its teardown.
created_venvs: list[Path] = []


def make_venv(path: str | Path, python: str | None = None, *, seed: bool = False) -> Path:
    """Create a virtualenv at `path` with `uv venv` and return its python executable.

    `python` is an interpreter path or a version request ("3.12"); by default the
    interpreter running the tests. `seed` also installs pip (needed to test pip itself).
    The venv is registered in `created_venvs`.
    """
    args = ["venv", "--quiet", "--no-config", "--python", python or sys.executable, str(path)]
    if seed:
        args.insert(1, "--seed")
    run_uv(args)
    exe = venv_python(path)
    if not exe.exists():
        raise AssertionError(f"uv venv did not create {exe}")
    created_venvs.append(exe)
    return exe


_PATHS_CACHE: dict[str, list[str]] = {}


def site_packages(python: str | Path) -> list[str]:
    """purelib and platlib of the interpreter (asked once per python)."""
    key = str(python)
    if key not in _PATHS_CACHE:
        out = subprocess.run(
            [key, "-I", "-c",
             "import json, sysconfig; p = sysconfig.get_paths(); print(json.dumps([p['purelib'], p['platlib']]))"],
            capture_output=True, text=True, check=True).stdout
        _PATHS_CACHE[key] = list(dict.fromkeys(json.loads(out)))
    return _PATHS_CACHE[key]


def installed(python: str | Path) -> dict[str, str]:
    """{normalized name: version} of every dist installed in the interpreter's site-packages.

    Reads `*.dist-info/METADATA` directly so tests check the environment without trusting
    incrinstall's own reader.
    """
    result: dict[str, str] = {}
    for sp in site_packages(python):
        for meta in glob.glob(os.path.join(glob.escape(sp), "*.dist-info", "METADATA")):
            with open(meta, "rb") as fh:
                headers = BytesHeaderParser().parse(fh)
            if headers.get("Name") and headers.get("Version"):
                result[canonicalize_name(headers["Name"])] = headers["Version"].strip()
    return result


def installed_files(python: str | Path, name: str) -> list[str]:
    """The RECORD paths of an installed dist (empty when it is not installed)."""
    want = canonicalize_name(name)
    for sp in site_packages(python):
        for record in glob.glob(os.path.join(glob.escape(sp), "*.dist-info", "RECORD")):
            dist = Path(record).parent.name[: -len(".dist-info")].rsplit("-", 1)[0]
            if canonicalize_name(dist) == want:
                return [line.split(",")[0] for line in Path(record).read_text().splitlines() if line]
    return []


def pip_check(python: str | Path) -> tuple[bool, str]:
    """(ok, output) of `uv pip check` on the interpreter: every installed requirement satisfied."""
    proc = run_uv(["pip", "check", "--no-config", "--python", str(python)], check=False)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def uv_pip_install(python: str | Path, *args: str, index_url: str | None = None,
                   env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """`uv pip install --python PY ARGS` (with `--index-url` when given), isolated from uv config."""
    cmd = ["pip", "install", "--no-config", "--python", str(python)]
    if index_url:
        cmd += ["--index-url", index_url]
    return run_uv([*cmd, *args], env=env, check=check)
