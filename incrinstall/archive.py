"""Fetch, verify and safely unpack a project's source archive (URL, file or directory) into a temporary folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from incrinstall.common.errors import ArchiveError, IndexUnavailable, InsecureRedirect, ResponseTooLarge
from incrinstall.common.http import shared_client, status_text
from incrinstall.common.unpack import SUPPORTED as UNPACKS
from incrinstall.common.unpack import Member, unpack

DEFAULT_MAX_SIZE = 2 * 1024**3
# What a source names: a URL to download, an archive file, or a folder used in place.
SourceKind = Literal["url", "file", "dir"]
SUPPORTED = UNPACKS + " or a directory"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class UnpackedArchive:
    """A project tree ready to read. Call `cleanup()` (or use `unpacked()`) when done."""

    source: str  # what the user gave, normalized for display (absolute path or URL without credentials)
    sha256: str | None  # of the archive file; None for a directory source
    root: Path  # the project root (a single top-level folder stripped)
    workdir: Path | None  # temporary folder owning everything unpacked; None for a directory used in place

    def cleanup(self) -> None:
        """Delete the temporary folder; a directory source is never touched."""
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def unpacked(source: str, *, dest_parent: Path | None = None, sha256: str | None = None,
             allow_insecure_http: bool = False, max_size: int | None = None,
             progress: bool | None = None) -> Iterator[UnpackedArchive]:
    """`open_archive()` as a context manager that removes the temporary folder afterwards (`max_size` None: the default)."""
    archive = open_archive(source, dest_parent=dest_parent, sha256=sha256, allow_insecure_http=allow_insecure_http,
                           max_size=DEFAULT_MAX_SIZE if max_size is None else max_size, progress=progress)
    try:
        yield archive
    finally:
        archive.cleanup()


def open_archive(
    source: str,
    *,
    dest_parent: Path | None = None,
    sha256: str | None = None,
    allow_insecure_http: bool = False,
    max_size: int = DEFAULT_MAX_SIZE,
    progress: bool | None = None,
) -> UnpackedArchive:
    """Fetch `source` if it is a URL, verify `sha256`, and unpack it safely under a new folder in `dest_parent`.

    A directory is used in place and never written to. Every refusal raises ArchiveError and leaves nothing behind.
    """
    if not source.strip():
        # An empty argument would be taken for the current folder: say so rather than guess.
        raise ArchiveError("no archive given (an empty argument); name a source archive, a URL or a folder",
                           where="ARCHIVE")
    expected = _normalize_sha256(sha256, source)
    kind, location, display = _classify(source, allow_insecure_http)
    if kind != "dir" and _file_name(location).lower().endswith(".whl"):
        raise ArchiveError("a wheel is a built distribution, not a source archive: give the project's source "
                           f"archive ({UNPACKS}) or its folder", where=display)
    if kind == "dir":
        if expected:
            raise ArchiveError("--sha256 cannot verify a directory; give an archive file or URL", where=display)
        return UnpackedArchive(source=display, sha256=None, root=Path(location), workdir=None)

    if dest_parent is not None:
        Path(dest_parent).mkdir(parents=True, exist_ok=True)
    _remove_orphans(Path(dest_parent) if dest_parent is not None else Path(tempfile.gettempdir()))
    workdir = Path(tempfile.mkdtemp(prefix=f"{_WORKDIR_PREFIX}{os.getpid()}-", dir=dest_parent))
    try:
        if kind == "url":
            archive, actual = _download(location, display, workdir, max_size, allow_insecure_http, progress)
        else:
            archive, actual = Path(location), _sha256_of(Path(location), display)
        if expected and actual != expected:
            raise ArchiveError(
                "sha256 mismatch: the archive was not unpacked",
                where=display,
                detail=f"expected {expected}\nactual   {actual}",
            )
        tree = workdir / "tree"
        tree.mkdir()
        members = unpack(archive, tree, display=display, max_size=max_size, supported=SUPPORTED)
        if kind == "url":
            archive.unlink()  # the tree is what callers need; don't keep a second copy on disk
        return UnpackedArchive(source=display, sha256=actual, root=_project_root(members, tree), workdir=workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


_WORKDIR_PREFIX = "incrinstall-archive-"  # + the owner's pid: a killed run's folder is found by the next one


def _remove_orphans(parent: Path) -> None:
    """Delete the unpack folders of runs that were killed (SIGKILL leaves no chance to clean up)."""
    try:
        entries = [e for e in os.scandir(parent) if e.name.startswith(_WORKDIR_PREFIX) and e.is_dir()]
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(_WORKDIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, and belongs to someone else
        return True
    return True


# -- what the user gave us ---------------------------------------------------------------------------------------


def _normalize_sha256(value: str | None, source: str) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    digest = digest.removeprefix("sha256:").removeprefix("sha256=")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ArchiveError(f"--sha256 must be 64 hexadecimal digits, got {value!r}", where=source)
    return digest


def _classify(source: str, allow_insecure_http: bool) -> tuple[SourceKind, str, str]:
    """Return (kind, location, display)."""
    if "://" in source:
        parts = urlsplit(source)
        scheme = parts.scheme.lower()
        # never show credentials in messages or in the state file
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        display = urlunsplit((scheme, netloc, parts.path, parts.query, ""))
        if parts.username is not None or parts.password is not None:
            raise ArchiveError("credentials in the archive URL are not supported", where=display)
        if scheme == "https":
            return "url", source, display
        if scheme == "http":
            if not allow_insecure_http:
                raise ArchiveError(
                    "refusing to download over plain http; use https, or pass --allow-insecure-http", where=display
                )
            return "url", source, display
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ArchiveError(f"file:// URL names a remote host {parts.netloc!r}", where=display)
            return _classify_path(url2pathname(parts.path), source)
        raise ArchiveError(f"unsupported URL scheme {scheme!r} (use https, http or file)", where=display)
    return _classify_path(source, source)


def _classify_path(path_text: str, source: str) -> tuple[SourceKind, str, str]:
    path = Path(path_text).expanduser().resolve()
    if path.is_dir():
        return "dir", str(path), str(path)
    if path.is_file():
        return "file", str(path), str(path)
    raise ArchiveError("no such archive file or directory", where=source)


def _sha256_of(path: Path, display: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK * 16):
                digest.update(chunk)
    except OSError as exc:
        raise ArchiveError(f"cannot read the archive: {exc.strerror or exc}", where=display) from None
    return digest.hexdigest()


# -- download ------------------------------------------------------------------------------------------------------


def _download(
    url: str, display: str, workdir: Path, max_size: int, allow_insecure_http: bool, progress: bool | None
) -> tuple[Path, str]:
    """Stream `url` into workdir through a temporary file (common/http.py's client); return (path, sha256).

    The client brings the TLS rule, retries (connection errors, 429, 5xx) and the redirect limit;
    here are the archive's rules: no redirect from https to plain http without --allow-insecure-http,
    at most `max_size` bytes, 200 only, and every failure an ArchiveError.
    """
    fd, part = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=workdir)
    bar = _Progress(progress)
    try:
        with os.fdopen(fd, "wb") as out:
            got = shared_client().stream(url, out, max_size=max_size, progress=bar,
                                         refuse_downgrade=not allow_insecure_http)
    except InsecureRedirect as exc:
        raise ArchiveError(f"refusing a redirect to plain http ({exc.url}); pass --allow-insecure-http to allow it",
                           where=display) from None
    except ResponseTooLarge as exc:
        what = f"is {exc.declared} bytes, above" if exc.declared is not None else "is larger than"
        raise ArchiveError(f"the archive {what} the limit of {max_size} bytes", where=display) from None
    except IndexUnavailable as exc:
        raise ArchiveError(f"cannot download: {exc.message}", where=display) from None
    finally:
        bar.close()
    if got.status != 200:
        raise ArchiveError(f"download failed: HTTP {status_text(got.status)}", where=display)
    final = workdir / f"archive-{_file_name(got.url)}"
    os.replace(part, final)  # only a complete download ever carries the archive's name
    return final, got.hashes["sha256"]


def _file_name(url: str) -> str:
    """The last part of the URL's path, made safe for a file name and a terminal."""
    name = posixpath.basename(unquote(urlsplit(url).path))
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "archive"


class _Progress:
    """One updating line on stderr while downloading, only when stderr is a TTY (or asked for)."""

    def __init__(self, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = enabled
        self.label = "archive"
        self.total: int | None = None
        self.last = 0.0
        self.width = 0
        self.shown = False
        self.done = 0

    def start(self, url: str, total: int | None) -> None:
        """A 200 answer from `url` (the final one, after redirects) begins; again on a retry."""
        self.label = _file_name(url)
        self.total = total
        self.update(0)

    def update(self, done: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        self.done = done
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        text = f"downloading {self.label}: {_human(done)}"
        if self.total:
            text += f" / {_human(self.total)} ({done * 100 // self.total}%)"
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = max(self.width, len(text))
        self.shown = True

    def close(self) -> None:
        if self.enabled and self.shown:
            self.update(self.done, force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _project_root(members: list[Member], tree: Path) -> Path:
    """GitHub-style archives hold one top-level folder: that folder is the project root."""
    tops = {m.name.split("/", 1)[0] for m in members}
    if len(tops) == 1:
        top = tree / tops.pop()
        if top.is_dir() and not top.is_symlink():
            return top
    return tree
