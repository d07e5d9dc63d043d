"""Fetch, verify and safely unpack a project's source archive (URL, file or directory) into a temporary folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from incrinstall.common.errors import ArchiveError
from incrinstall.common.unpack import SUPPORTED as UNPACKS
from incrinstall.common.unpack import Member, unpack

DEFAULT_MAX_SIZE = 2 * 1024**3
SUPPORTED = UNPACKS + " or a directory"
_CHUNK = 1 << 16
_TIMEOUT = 60.0  # seconds without progress on the socket before a download gives up


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
def unpacked(source: str, **options) -> Iterator[UnpackedArchive]:
    """`open_archive()` as a context manager that removes the temporary folder afterwards."""
    archive = open_archive(source, **options)
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
    expected = _normalize_sha256(sha256, source)
    kind, location, display = _classify(source, allow_insecure_http)
    if kind == "dir":
        if expected:
            raise ArchiveError("--sha256 cannot verify a directory; give an archive file or URL", where=display)
        return UnpackedArchive(source=display, sha256=None, root=Path(location), workdir=None)

    if dest_parent is not None:
        Path(dest_parent).mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="incrinstall-archive-", dir=dest_parent))
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


# -- what the user gave us ---------------------------------------------------------------------------------------


def _normalize_sha256(value: str | None, source: str) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    digest = digest.removeprefix("sha256:").removeprefix("sha256=")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ArchiveError(f"--sha256 must be 64 hexadecimal digits, got {value!r}", where=source)
    return digest


def _classify(source: str, allow_insecure_http: bool) -> tuple[str, str, str]:
    """Return (kind, location, display): kind is "url", "file" or "dir"."""
    from urllib.parse import urlsplit, urlunsplit

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
            from urllib.request import url2pathname

            if parts.netloc not in ("", "localhost"):
                raise ArchiveError(f"file:// URL names a remote host {parts.netloc!r}", where=display)
            return _classify_path(url2pathname(parts.path), source)
        raise ArchiveError(f"unsupported URL scheme {scheme!r} (use https, http or file)", where=display)
    return _classify_path(source, source)


def _classify_path(path_text: str, source: str) -> tuple[str, str, str]:
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


def _tls_context():
    """The one TLS rule of incrinstall (common/http.py): the system store plus SSL_CERT_FILE / SSL_CERT_DIR / REQUESTS_CA_BUNDLE."""
    from incrinstall.common.errors import IndexUnavailable
    from incrinstall.common.http import ssl_context

    try:
        return ssl_context()
    except IndexUnavailable as exc:
        raise ArchiveError(exc.message) from None


def _download(
    url: str, display: str, workdir: Path, max_size: int, allow_insecure_http: bool, progress: bool | None
) -> tuple[Path, str]:
    """Stream `url` into workdir through a temporary file, hashing as it goes; return (path, sha256)."""
    import http.client
    import urllib.error
    import urllib.request
    from urllib.parse import unquote, urlsplit

    from incrinstall import __version__

    class RedirectGuard(urllib.request.HTTPRedirectHandler):
        # GitHub archive URLs redirect (to codeload); an https -> http hop would silently drop TLS
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if urlsplit(newurl).scheme.lower() == "http" and not allow_insecure_http:
                raise ArchiveError(
                    f"refusing a redirect to plain http ({newurl}); pass --allow-insecure-http to allow it",
                    where=display,
                )
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    handlers = [RedirectGuard()]
    if urlsplit(url).scheme.lower() == "https" or allow_insecure_http:
        handlers.append(urllib.request.HTTPSHandler(context=_tls_context()))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(
        url, headers={"User-Agent": f"incrinstall/{__version__}", "Accept-Encoding": "identity"}
    )
    network_errors = (OSError, http.client.HTTPException, ValueError)
    try:
        response = opener.open(request, timeout=_TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise ArchiveError(f"download failed: HTTP {exc.code} {exc.reason}", where=display) from None
    except urllib.error.URLError as exc:
        raise ArchiveError(f"cannot download: {exc.reason}", where=display) from None
    except network_errors as exc:
        raise ArchiveError(f"cannot download: {exc}", where=display) from None

    with response:
        if response.status != 200:
            raise ArchiveError(f"download failed: HTTP {response.status} {response.reason}", where=display)
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_size:
            raise ArchiveError(f"the archive is {total} bytes, above the limit of {max_size} bytes", where=display)
        name = posixpath.basename(unquote(urlsplit(response.geturl() or url).path))
        safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "archive"
        fd, part = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=workdir)
        digest = hashlib.sha256()
        received = 0
        bar = _Progress(safe_name, total, progress)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := response.read(_CHUNK):
                    received += len(chunk)
                    if received > max_size:
                        raise ArchiveError(f"the archive is larger than the limit of {max_size} bytes", where=display)
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(received)
        except network_errors as exc:
            raise ArchiveError(f"download interrupted after {received} bytes: {exc}", where=display) from None
        finally:
            bar.close()
        if total is not None and received != total:
            raise ArchiveError(f"download truncated: got {received} of {total} bytes", where=display)
    final = workdir / f"archive-{safe_name}"
    os.replace(part, final)  # only a complete download ever carries the archive's name
    return final, digest.hexdigest()


class _Progress:
    """One updating line on stderr while downloading, only when stderr is a TTY (or asked for)."""

    def __init__(self, label: str, total: int | None, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = enabled
        self.label = label
        self.total = total
        self.last = 0.0
        self.width = 0
        self.shown = False
        self.done = 0

    def update(self, done: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        self.done = done
        import time

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
