"""The measuring kit of `incrinstall bench`, which the benchmark suite (benchmarks/) measures with too.

Pure arithmetic on wall times (median, min, max, ratios) and on environments ({name: version} maps),
a command run against the clock, and tree snapshots that keep mtimes (the no-op fast path and uv
both read them), so each timed run starts from an exact copy of its prepared environment.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from incrinstall.common.errors import IncrinstallError
from incrinstall.common.names import canonical_name

# -- arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Wall times of repeated runs, in seconds."""

    runs: int
    median: float
    min: float
    max: float


def summarize(seconds: Sequence[float]) -> Stats:
    return Stats(runs=len(seconds), median=statistics.median(seconds), min=min(seconds), max=max(seconds))


def ratio(ours: Stats | float, theirs: Stats | float) -> float | None:
    """incrinstall's median time divided by the alternative's (below 1: incrinstall is faster)."""
    a = ours.median if isinstance(ours, Stats) else ours
    b = theirs.median if isinstance(theirs, Stats) else theirs
    return None if b <= 0 else a / b


def speedup(ours: Stats | float, theirs: Stats | float) -> float | None:
    """How many times faster incrinstall is: the alternative's median divided by incrinstall's."""
    r = ratio(ours, theirs)
    return None if not r else 1 / r


def env_diff(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(installed, removed, changed) names between two {name: version} maps of an environment."""
    installed = sorted(n for n in after if n not in before)
    removed = sorted(n for n in before if n not in after)
    changed = sorted(n for n in after if n in before and after[n] != before[n])
    return installed, removed, changed


def compare_to_expected(actual: dict[str, str], expected: dict[str, str],
                        ignore: Iterable[str] = ()) -> dict[str, list[str]]:
    """How an environment differs from the set a fresh resolve wants: extraneous, missing, wrong version."""
    skip = set(ignore)
    return {
        "extraneous": sorted(n for n in actual if n not in expected and n not in skip),
        "missing": sorted(n for n in expected if n not in actual and n not in skip),
        "wrong_version": sorted(n for n in expected if n in actual and actual[n] != expected[n] and n not in skip),
    }


def format_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# -- environments and trees -------------------------------------------------------------------


def copy_tree(src: str | Path, dst: str | Path) -> None:
    """Copy a folder keeping links and timestamps (the no-op fast path and uv both look at mtimes)."""
    if shutil.which("cp") and sys.platform != "win32":
        proc = subprocess.run(["cp", "-a", "--reflink=auto", str(src), str(dst)], capture_output=True, text=True)
        if proc.returncode == 0:
            return
        if Path(dst).exists():
            shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)


def remove_tree(path: str | Path) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path)


def reset_tree(snapshot: str | Path, work: str | Path) -> None:
    """Make `work` an exact copy of `snapshot` again (only what differs is copied or removed)."""
    if not os.path.isdir(work) or os.path.islink(work):
        remove_tree(work)
        copy_tree(snapshot, work)
        return
    _mirror(os.fspath(snapshot), os.fspath(work))


def _remove_entry(path: str, is_dir: bool) -> None:
    if is_dir:
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _mirror(src: str, dst: str) -> None:
    # Files are compared by kind, size, mode and mtime: every tool measured writes new files, so
    # a changed file always has a new mtime. Folders get their mtime back last (uv and the
    # no-op fast path both read the mtimes of *.dist-info folders).
    with os.scandir(src) as it:
        wanted = {e.name: e for e in it}
    with os.scandir(dst) as it:
        present = {e.name: e for e in it}
    for name, entry in present.items():
        if name not in wanted:
            _remove_entry(entry.path, entry.is_dir(follow_symlinks=False))
    for name, entry in wanted.items():
        target = os.path.join(dst, name)
        have = present.get(name)
        if entry.is_symlink():
            link = os.readlink(entry.path)
            if have is not None and have.is_symlink() and os.readlink(have.path) == link:
                continue
            if have is not None:
                _remove_entry(have.path, have.is_dir(follow_symlinks=False))
            os.symlink(link, target)
            st = entry.stat(follow_symlinks=False)
            if os.utime in os.supports_follow_symlinks:
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
        elif entry.is_dir(follow_symlinks=False):
            if have is not None and (have.is_symlink() or not have.is_dir(follow_symlinks=False)):
                _remove_entry(have.path, False)
                have = None
            if have is None:
                copy_tree(entry.path, target)
            else:
                _mirror(entry.path, target)
        else:
            st = entry.stat(follow_symlinks=False)
            if have is not None and not have.is_symlink() and have.is_file(follow_symlinks=False):
                hst = have.stat(follow_symlinks=False)
                if (hst.st_size, hst.st_mtime_ns, hst.st_mode) == (st.st_size, st.st_mtime_ns, st.st_mode):
                    continue
            if have is not None:
                _remove_entry(have.path, have.is_dir(follow_symlinks=False))
            shutil.copy2(entry.path, target, follow_symlinks=False)
    st = os.stat(src)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def dist_versions(site_dirs: Iterable[str]) -> dict[str, str]:
    """{canonical name: version} from the `*.dist-info` folder names (no file is opened)."""
    out: dict[str, str] = {}
    for site in site_dirs:
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info") and "-" in entry:
                name, _, version = entry[: -len(".dist-info")].rpartition("-")
                out[canonical_name(name)] = version
    return out


def site_dirs_of(venv: str | Path) -> list[str]:
    """purelib/platlib of a venv made with uv (lib/pythonX.Y/site-packages, or Lib/site-packages)."""
    venv = Path(venv)
    found = sorted(str(p) for p in venv.glob("lib*/python*/site-packages"))
    return found or [str(venv / "Lib" / "site-packages")]


def venv_python(venv: str | Path) -> str:
    return str(Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))


@dataclass
class Timed:
    seconds: float
    stdout: str
    stderr: str


def timed(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
          what: str | None = None) -> Timed:
    """Run a command and measure its wall time; raise IncrinstallError with its output when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
        raise IncrinstallError(f"{what or cmd[0]} failed (exit {proc.returncode})",
                               where=" ".join(str(c) for c in cmd[:6]), detail=tail)
    return Timed(seconds, proc.stdout, proc.stderr)
