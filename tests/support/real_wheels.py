"""One-time setup step: download the real wheels that build-backend tests need (the backends and their deps).

Run once with network access before the test suite:

    python -m tests.support.real_wheels

The wheels land in $INCRINSTALL_TEST_WHEELS (default ~/.cache/incrinstall-tests/wheels); a marker
file records completion, so later calls (and every test run) use no network at all.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import harness_cache

# Pure-Python wheels, so one set per Python version covers every platform. `editables` lets
# hatchling build editable wheels for tests of editable installs; the other backends (and one
# hatchling metadata plugin) are what the corpus of project shapes (tests/e2e/test_corpus.py)
# builds with. Each group is one pip download: `poetry-core<2` beside the newest poetry-core.
PACKAGES = ("hatchling", "editables", "setuptools", "flit-core", "pdm-backend", "poetry-core",
            "hatch-requirements-txt")
OLDER_RELEASES = ("poetry-core<2",)
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
MARKER = ".complete.json"
SETUP_COMMAND = "python -m tests.support.real_wheels"
PIP_RETRIES = 5  # pip's default; a test that expects failure lowers it

# Values the test conftest uses to block the network; never hand them to pip.
_GUARD_PROXY = "http://127.0.0.1:9"


class RealWheelsUnavailable(RuntimeError):
    """The real wheels are not cached and could not be downloaded."""


def default_cache_dir() -> Path:
    return harness_cache("wheels", "INCRINSTALL_TEST_WHEELS")


def _marker_ok(cache: Path) -> bool:
    marker = cache / MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        return False
    # A cache filled for more packages (a newer checkout's list) serves this one too.
    if not set(PACKAGES + OLDER_RELEASES) <= set(recorded.get("packages", [])):
        return False
    if recorded.get("pythons") != list(PYTHON_VERSIONS):
        return False
    return all((cache / name).is_file() for name in recorded.get("files", []))


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_",))}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        if env.get(key) == _GUARD_PROXY:
            del env[key]
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _download(dest: Path, python_version: str, requirements: tuple[str, ...] = PACKAGES) -> None:
    # --isolated: ignore this machine's pip.conf (find-links, extra indexes, constraints),
    # so what we fetch is what a fresh CI machine with only PyPI would fetch.
    cmd = [sys.executable, "-m", "pip", "download", "--isolated", "--quiet",
           "--only-binary=:all:", "--retries", str(PIP_RETRIES), "--python-version", python_version,
           "--dest", str(dest), *requirements]
    index = os.environ.get("INCRINSTALL_TEST_WHEELS_INDEX")
    if index:
        cmd[5:5] = ["--index-url", index]
    try:
        proc = subprocess.run(cmd, env=_pip_env(), capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RealWheelsUnavailable(
            f"could not download {', '.join(PACKAGES)} for Python {python_version} ({exc}); "
            f"run `{SETUP_COMMAND}` once with network access") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RealWheelsUnavailable(
            f"could not download {', '.join(PACKAGES)} for Python {python_version}; "
            f"run `{SETUP_COMMAND}` once with network access.\npip said:\n{tail}")


def missing_requirements(folder: Path, python_version: str) -> list[str]:
    """Requirements of the wheels in `folder` that apply to `python_version` and no wheel there meets."""
    import zipfile
    from email.parser import BytesHeaderParser

    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename

    available: dict[str, list] = {}
    metadata = []
    for whl in folder.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(whl.name)
        available.setdefault(canonicalize_name(name), []).append(version)
        with zipfile.ZipFile(whl) as zf:
            member = next(m for m in zf.namelist() if m.count("/") == 1 and m.endswith(".dist-info/METADATA"))
            metadata.append(BytesHeaderParser().parsebytes(zf.read(member)))
    env = default_environment()
    env.update(python_version=python_version, python_full_version=python_version + ".0")
    missing = []
    for meta in metadata:
        requires_python = meta.get("Requires-Python")
        if requires_python:
            from packaging.specifiers import SpecifierSet
            if not SpecifierSet(requires_python).contains(python_version + ".0", prereleases=True):
                continue
        for line in meta.get_all("Requires-Dist") or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
            versions = available.get(canonicalize_name(req.name), [])
            if not any(req.specifier.contains(v, prereleases=True) for v in versions):
                req.marker = None
                missing.append(str(req))
    return sorted(set(missing))


def ensure_real_wheels(cache_dir: str | Path | None = None) -> Path:
    """Return a folder holding the build backends and their dependencies as wheels, downloading them once."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if _marker_ok(cache):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache):
        if _marker_ok(cache):  # another process finished while we waited
            return cache
        _fill(cache)
    return cache


@contextlib.contextmanager
def _locked(cache: Path):
    """Serialize downloads between concurrent test processes (e.g. pytest-xdist workers)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    with open(cache / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _fill(cache: Path) -> None:
    for python_version in PYTHON_VERSIONS:
        _download(cache, python_version)
        for older in OLDER_RELEASES:
            _download(cache, python_version, (older,))
        # pip evaluates markers for the running interpreter, not --python-version, so a
        # dependency like `tomli; python_version < "3.11"` can be missed: fetch what is.
        for _ in range(5):
            missing = missing_requirements(cache, python_version)
            if not missing:
                break
            _download(cache, python_version, tuple(missing))
        else:
            raise RealWheelsUnavailable(f"cannot complete the wheel set for Python {python_version}: {missing}")
    # Only wheels are served; pip may leave other artifacts behind.
    for path in cache.iterdir():
        if path.is_file() and not path.name.endswith(".whl") and path.name not in (MARKER, ".lock"):
            path.unlink()
    files = sorted(p.name for p in cache.glob("*.whl"))
    if not any(name.startswith("hatchling-") for name in files):
        raise RealWheelsUnavailable(f"no hatchling wheel in {cache}; run `{SETUP_COMMAND}` with network access")
    tmp = cache / (MARKER + ".tmp")
    tmp.write_text(json.dumps({"packages": list(PACKAGES + OLDER_RELEASES), "pythons": list(PYTHON_VERSIONS),
                               "files": files}, indent=1))
    tmp.replace(cache / MARKER)


def main() -> int:
    try:
        cache = ensure_real_wheels(sys.argv[1] if len(sys.argv) > 1 else None)
    except RealWheelsUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(cache)
    for path in sorted(cache.glob("*.whl")):
        print(f"  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
