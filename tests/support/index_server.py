"""Serve a folder of distribution files as a real PEP 503/691 simple index on 127.0.0.1, with a request log.

Layout of the served URLs (PORT is random):
    /simple/                      project list (HTML or JSON)
    /simple/<normalized-name>/    project page (HTML or JSON); non-normalized names get a 301
    /files/                       flat HTML page of every file (usable as --find-links)
    /files/<filename>             the distribution itself
    /files/<filename>.metadata    PEP 658 core metadata of a wheel (unless serve_metadata=False)
Pages are built per request from the folder, so files added (or removed) after start show at once.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import re
import shutil
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from tests.support import wheels
from tests.support.loopback import LoopbackServer, Request

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
JSON_LATEST = "application/vnd.pypi.simple.latest+json"
HTML_LATEST = "application/vnd.pypi.simple.latest+html"


@dataclass
class FileInfo:
    """What the index knows about one served file (cached by size and mtime)."""

    filename: str
    project: str  # normalized
    version: str
    sha256: str
    size: int
    requires_python: str | None
    metadata: bytes | None  # core metadata for PEP 658 (wheels only)

    @property
    def metadata_sha256(self) -> str | None:
        return hashlib.sha256(self.metadata).hexdigest() if self.metadata is not None else None


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    bytes_sent: int = 0


def _project_of(filename: str) -> tuple[str, str] | None:
    """(normalized project name, version) parsed from a dist filename, or None for other files."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return canonicalize_name(name), str(version)
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return canonicalize_name(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _read_core_metadata(path: Path) -> tuple[bytes | None, bool]:
    """(metadata bytes, is_wheel) of a dist; metadata None if it cannot be read."""
    try:
        if path.name.endswith(".whl"):
            return wheels.read_wheel_metadata(path), True
        if path.name.endswith(".tar.gz"):
            return wheels.read_sdist_metadata(path), False
    except Exception:  # a deliberately broken file must still be listed
        return None, path.name.endswith(".whl")
    return None, False


def _accepts_json(accept: str | None) -> bool:
    """Content negotiation: True when the best-quality acceptable type is a PEP 691 JSON type."""
    if not accept:
        return False
    best_json, best_html = -1.0, -1.0
    for part in accept.split(","):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0].lower()
        q = 1.0
        for b in bits[1:]:
            if b.lower().startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media in (JSON_V1, JSON_LATEST):
            best_json = max(best_json, q)
        elif media in (HTML_V1, HTML_LATEST, "text/html", "*/*"):
            best_html = max(best_html, q)
    return best_json >= 0 and best_json >= best_html


class LoopbackIndex(LoopbackServer):
    """A simple-API index over `root_dir`, served on 127.0.0.1 (a LoopbackServer with keep-alive).

    Options:
      json            serve PEP 691 JSON when asked (False: HTML only, whatever the Accept header)
      serve_metadata  serve PEP 658 `.metadata` files and advertise them (False: clients must fall back)
      etag            send ETag and answer a matching If-None-Match with 304
      cache_control   value of the Cache-Control header on index pages ("max-age=0" by default)
      relative_urls   link files with relative URLs (`../../files/x`) instead of absolute ones
      auth            (user, password): every request without that Basic auth gets 401
      ranges          answer `Range: bytes=...` on files with 206 Partial Content (False: the whole file)
      tls             an ssl.SSLContext (server side): serve https instead (tests/support/tls.py makes one)
      files_from      another LoopbackIndex over the same folder: the pages link every file there, so
                      `files_from.delay` slows the downloads and nothing else
    PEP 700 upload times: `set_upload_time(filename, "2024-01-01T00:00:00Z")` (JSON pages only;
    a file without one has no `upload-time` key, as on indexes that do not record it).
    """

    protocol_version = "HTTP/1.1"  # keep-alive, as real indexes answer
    server_version = "incrinstall-test-index/1"
    thread_name = "loopback-index"

    def __init__(self, root_dir: str | Path, *, json: bool = True, serve_metadata: bool = True,
                 etag: bool = True, cache_control: str | None = "max-age=0",
                 relative_urls: bool = False, port: int = 0, auth: tuple[str, str] | None = None,
                 ranges: bool = True, tls: ssl.SSLContext | None = None,
                 files_from: LoopbackIndex | None = None) -> None:
        super().__init__(tls=tls, port=port)
        self.root = Path(root_dir)
        self.files_from = files_from
        self.root.mkdir(parents=True, exist_ok=True)
        self.json = json
        self.serve_metadata = serve_metadata
        self.etag = etag
        self.cache_control = cache_control
        self.relative_urls = relative_urls
        self.auth = auth
        self.ranges = ranges
        self._upload_times: dict[str, str] = {}
        self.delay = 0.0  # seconds to sleep before answering each request
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self._yanked: dict[str, str] = {}
        self._failures: list[tuple[str, int, int]] = []  # (path prefix, status, remaining or -1)
        self._info_cache: dict[str, tuple[tuple[int, int], FileInfo]] = {}

    # -- where -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.origin + "/"

    @property
    def url(self) -> str:
        """The simple index root, e.g. http://127.0.0.1:PORT/simple/ (for --index-url; https with `tls`)."""
        return self.base_url + "simple/"

    @property
    def files_url(self) -> str:
        """The flat file listing, e.g. http://127.0.0.1:PORT/files/ (for --find-links)."""
        return self.base_url + "files/"

    def project_url(self, name: str) -> str:
        return f"{self.url}{canonicalize_name(name)}/"

    def file_url(self, filename: str) -> str:
        return self.files_url + quote(filename)

    # -- content ---------------------------------------------------------------------------

    def add_wheel(self, name: str, version: str, **kw) -> Path:
        """Build a wheel into the served folder (see wheels.build_wheel for keywords)."""
        return wheels.build_wheel(self.root, name, version, **kw)

    def add_sdist(self, name: str, version: str, **kw) -> Path:
        """Build an sdist into the served folder (see wheels.build_sdist for keywords)."""
        return wheels.build_sdist(self.root, name, version, **kw)

    def add_file(self, path: str | Path) -> Path:
        """Copy an existing distribution file into the served folder."""
        dest = self.root / Path(path).name
        if Path(path).resolve() != dest.resolve():
            shutil.copyfile(path, dest)
        return dest

    def remove(self, filename: str) -> None:
        """Stop serving a file (delete it from the folder)."""
        (self.root / filename).unlink()

    def yank(self, filename: str, reason: str = "") -> None:
        """Mark a file yanked (PEP 592); `reason` may be empty."""
        name = Path(filename).name
        if not (self.root / name).exists():
            raise FileNotFoundError(f"{name} is not served by this index")
        with self._lock:
            self._yanked[name] = reason

    def unyank(self, filename: str) -> None:
        with self._lock:
            self._yanked.pop(Path(filename).name, None)

    def set_upload_time(self, filename: str, when: str | None) -> None:
        """Advertise a PEP 700 `upload-time` for a served file (None: advertise none)."""
        with self._lock:
            if when is None:
                self._upload_times.pop(Path(filename).name, None)
            else:
                self._upload_times[Path(filename).name] = when

    def authorized(self, header: str | None) -> bool:
        """Does this Authorization header carry the required credentials (always True without `auth`)?"""
        if self.auth is None:
            return True
        expected = "Basic " + base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode("ascii")
        return header == expected

    def fail(self, path_prefix: str = "/", status: int = 503, times: int = -1) -> None:
        """Answer requests whose path starts with `path_prefix` with `status` (`times` < 0: forever)."""
        with self._lock:
            self._failures.append((path_prefix, status, times))

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def files(self) -> list[FileInfo]:
        """Every distribution file currently served, sorted by filename."""
        out = []
        for path in sorted(self.root.iterdir()):
            if path.is_file():
                info = self._file_info(path)
                if info is not None:
                    out.append(info)
        return out

    def projects(self) -> dict[str, list[FileInfo]]:
        by_project: dict[str, list[FileInfo]] = {}
        for info in self.files():
            by_project.setdefault(info.project, []).append(info)
        return by_project

    def _file_info(self, path: Path) -> FileInfo | None:
        parsed = _project_of(path.name)
        if parsed is None:
            return None
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._info_cache.get(path.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        data = path.read_bytes()
        metadata, is_wheel = _read_core_metadata(path)
        requires_python = None
        if metadata is not None:
            requires_python = BytesHeaderParser().parsebytes(metadata).get("Requires-Python")
        info = FileInfo(filename=path.name, project=parsed[0], version=parsed[1],
                        sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                        requires_python=requires_python.strip() if requires_python else None,
                        metadata=metadata if is_wheel else None)
        with self._lock:
            self._info_cache[path.name] = (key, info)
        return info

    # -- request log -----------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request so far, in order (path includes any query string)."""
        with self._lock:
            return [(r.method, r.path) for r in self._log]

    @property
    def request_log(self) -> list[LoggedRequest]:
        """Every request with its headers, response status and body size."""
        with self._lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def count(self, prefix: str | None = None, method: str | None = None) -> int:
        """How many requests were made (whose path starts with `prefix`, e.g. "/files/")."""
        with self._lock:
            return sum(1 for r in self._log
                       if (prefix is None or r.path.startswith(prefix))
                       and (method is None or r.method == method))

    @property
    def bytes_sent(self) -> int:
        """Total response body bytes sent."""
        with self._lock:
            return sum(r.bytes_sent for r in self._log)

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def _failure_for(self, path: str) -> int | None:
        with self._lock:
            for i, (prefix, status, times) in enumerate(self._failures):
                if path.startswith(prefix):
                    if times > 0:
                        times -= 1
                        if times == 0:
                            del self._failures[i]
                        else:
                            self._failures[i] = (prefix, status, times)
                    return status
        return None

    def _take_over(self, handler, entry: LoggedRequest, head: bool) -> bool:
        """Hook for a subclass that answers a request itself (True: it did, and logged `entry`)."""
        return False

    def _yank_state(self, filename: str) -> str | None:
        with self._lock:
            return self._yanked.get(filename)

    # -- page rendering --------------------------------------------------------------------

    def _link_for(self, filename: str) -> str:
        if self.files_from is not None:
            return self.files_from.file_url(filename)
        if self.relative_urls:
            return "../../files/" + quote(filename)
        return self.file_url(filename)

    def render_project_list(self, as_json: bool) -> bytes:
        names = sorted(self.projects())
        if as_json:
            return json.dumps({"meta": {"api-version": "1.1"},
                               "projects": [{"name": n} for n in names]}).encode()
        links = "\n".join(f'    <a href="{html.escape(n)}/">{html.escape(n)}</a><br/>' for n in names)
        return (f'<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1">'
                f"<title>Simple index</title></head>\n  <body>\n{links}\n  </body>\n</html>\n").encode()

    def render_project(self, project: str, files: list[FileInfo], as_json: bool) -> bytes:
        if as_json:
            return json.dumps(self._project_json(project, files)).encode()
        rows = []
        for f in files:
            attrs = [f'href="{html.escape(self._link_for(f.filename))}#sha256={f.sha256}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            yanked = self._yank_state(f.filename)
            if yanked is not None:
                attrs.append(f'data-yanked="{html.escape(yanked)}"')
            if self.serve_metadata and f.metadata is not None:
                # PEP 714: emit the new attribute and the old one, for older clients.
                attrs.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
                attrs.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
            rows.append(f'    <a {" ".join(attrs)}>{html.escape(f.filename)}</a><br/>')
        body = "\n".join(rows)
        return (f'<!DOCTYPE html>\n<html>\n  <head><meta name="pypi:repository-version" content="1.1">'
                f"<title>Links for {html.escape(project)}</title></head>\n  <body>\n"
                f"    <h1>Links for {html.escape(project)}</h1>\n{body}\n  </body>\n</html>\n").encode()

    def _project_json(self, project: str, files: list[FileInfo]) -> dict:
        out_files = []
        for f in files:
            yanked = self._yank_state(f.filename)
            entry: dict = {
                "filename": f.filename,
                "url": self._link_for(f.filename),
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "yanked": (yanked or True) if yanked is not None else False,
                "size": f.size,
            }
            with self._lock:
                uploaded = self._upload_times.get(f.filename)
            if uploaded is not None:
                entry["upload-time"] = uploaded
            if self.serve_metadata and f.metadata is not None:
                entry["core-metadata"] = {"sha256": f.metadata_sha256}
                entry["dist-info-metadata"] = {"sha256": f.metadata_sha256}
            else:
                entry["core-metadata"] = False
            out_files.append(entry)
        versions = sorted({f.version for f in files}, key=_version_key)
        return {"meta": {"api-version": "1.1"}, "name": project, "versions": versions, "files": out_files}

    def render_flat(self) -> bytes:
        """Plain link page of every file (a find-links target)."""
        rows = [f'    <a href="{quote(f.filename)}#sha256={f.sha256}">{html.escape(f.filename)}</a><br/>'
                for f in self.files()]
        return ("<!DOCTYPE html>\n<html>\n  <body>\n" + "\n".join(rows) + "\n  </body>\n</html>\n").encode()

    # -- the wire --------------------------------------------------------------------------

    def answer(self, request: Request, head: bool) -> None:
        entry = LoggedRequest(request.command, request.path, {k.lower(): v for k, v in request.headers.items()})
        if self.delay:
            time.sleep(self.delay)
        if self._take_over(request, entry, head):
            return  # a fault layer (tests/support/fault_server.py) answered, or broke the connection
        try:
            status, headers, body = self._route(request)
        except Exception as exc:  # a server bug must show up as a 500, not a hang
            status, headers, body = 500, {"Content-Type": "text/plain"}, repr(exc).encode()
        if self.etag and status == 200 and body:
            tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            headers["ETag"] = tag
            inm = request.headers.get("If-None-Match")
            if inm and tag in [t.strip() for t in inm.split(",")] or inm == "*":
                status, body = 304, b""
        # Log before answering: a client that has its response must find its request logged.
        self._log_answer(entry, status, body, head)
        self.reply(request, status, headers, body, head=head)

    def _log_answer(self, entry: LoggedRequest, status: int, body: bytes, head: bool) -> None:
        entry.status = status
        entry.bytes_sent = 0 if head else len(body)
        self._record(entry)

    def _route(self, request: Request) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(request.path)
        path = unquote(split.path)
        if not self.authorized(request.headers.get("Authorization")):
            return 401, {"Content-Type": "text/plain", "WWW-Authenticate": 'Basic realm="loopback"'}, b"401\n"
        failure = self._failure_for(path)
        if failure is not None:
            return failure, {"Content-Type": "text/plain"}, f"injected failure {failure}\n".encode()
        query = parse_qs(split.query)

        if path.startswith("/files/"):
            return self._serve_file(request, path[len("/files/"):])
        if path in ("/simple", "/simple/"):
            if path == "/simple":
                return _redirect("/simple/")
            as_json = self._wants_json(request, query)
            return 200, self._page_headers(request, as_json), self.render_project_list(as_json)
        if path.startswith("/simple/"):
            rest = path[len("/simple/"):]
            name = rest.rstrip("/")
            if "/" in name or not name:
                return 404, {"Content-Type": "text/plain"}, b"not found\n"
            normalized = canonicalize_name(name)
            if name != normalized or not rest.endswith("/"):
                # PEP 503: the normalized URL is the canonical one.
                return _redirect(f"/simple/{quote(normalized)}/")
            files = self.projects().get(normalized)
            if not files:
                return 404, {"Content-Type": "text/plain"}, f"no project {normalized}\n".encode()
            as_json = self._wants_json(request, query)
            return 200, self._page_headers(request, as_json), self.render_project(normalized, files, as_json)
        return 404, {"Content-Type": "text/plain"}, b"not found\n"

    def _wants_json(self, request: Request, query: dict[str, list[str]]) -> bool:
        if not self.json:
            return False
        fmt = query.get("format")
        if fmt:
            return fmt[0] in (JSON_V1, JSON_LATEST)
        return _accepts_json(request.headers.get("Accept"))

    def _page_headers(self, request: Request, as_json: bool) -> dict[str, str]:
        accept = (request.headers.get("Accept") or "").lower()
        if as_json:
            ctype = JSON_V1
        elif HTML_V1 in accept or HTML_LATEST in accept:
            ctype = HTML_V1
        else:
            ctype = "text/html; charset=utf-8"
        headers = {"Content-Type": ctype, "Vary": "Accept"}
        if self.cache_control:
            headers["Cache-Control"] = self.cache_control
        return headers

    def _serve_file(self, request: Request, filename: str) -> tuple[int, dict[str, str], bytes]:
        if filename == "":
            headers = {"Content-Type": "text/html; charset=utf-8"}
            if self.cache_control:
                headers["Cache-Control"] = self.cache_control
            return 200, headers, self.render_flat()
        if "/" in filename or filename.startswith("."):
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        if filename.endswith(".metadata"):
            dist = self.root / filename[: -len(".metadata")]
            if not self.serve_metadata or not dist.is_file():
                return 404, {"Content-Type": "text/plain"}, b"not found\n"
            info = self._file_info(dist)
            if info is None or info.metadata is None:
                return 404, {"Content-Type": "text/plain"}, b"not found\n"
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, info.metadata
        path = self.root / filename
        if not path.is_file():
            return 404, {"Content-Type": "text/plain"}, b"not found\n"
        data = path.read_bytes()
        wanted = request.headers.get("Range") if self.ranges else None
        if wanted:
            return _partial(data, wanted)
        return 200, {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}, data


def _redirect(location: str) -> tuple[int, dict[str, str], bytes]:
    return 301, {"Location": location, "Content-Type": "text/plain"}, b""


def _version_key(v: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(v))
    except InvalidVersion:
        return (1, v)


def _partial(data: bytes, header: str) -> tuple[int, dict[str, str], bytes]:
    """One `bytes=A-B`, `bytes=A-` or `bytes=-N` range, as RFC 9110 says (several ranges: the whole file)."""
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    size = len(data)
    if m is None or (not m.group(1) and not m.group(2)):
        return 200, {"Content-Type": "application/octet-stream"}, data
    if m.group(1):
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    else:
        start, end = max(0, size - int(m.group(2))), size - 1
    if start >= size or start > end:
        return 416, {"Content-Range": f"bytes */{size}"}, b""
    return 206, {"Content-Type": "application/octet-stream", "Content-Range": f"bytes {start}-{end}/{size}"}, \
        data[start:end + 1]


def serve_folder_index(root_dir: str | Path, *, port: int = 0, **options) -> LoopbackIndex:
    """Start a LoopbackIndex over `root_dir` and return it (the caller stops it)."""
    return LoopbackIndex(root_dir, port=port, **options).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a folder of wheels/sdists as a simple index on 127.0.0.1.")
    parser.add_argument("root", help="folder of distribution files")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-json", action="store_true", help="serve PEP 503 HTML only")
    parser.add_argument("--no-metadata", action="store_true", help="do not serve PEP 658 metadata files")
    args = parser.parse_args(argv)
    idx = serve_folder_index(args.root, port=args.port, json=not args.no_json,
                             serve_metadata=not args.no_metadata)
    try:  # the URL printed inside: a SIGINT right after it must still stop the server's thread
        print(idx.url, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        idx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
