"""Fetch URLs over HTTP(S) with connection reuse, retries and an on-disk cache that revalidates.

Stdlib only. What it promises:

- Every request that leaves the process is counted (`requests`, `bytes_downloaded`), so
  callers can assert "this made zero requests". A request is counted once it was sent
  on a connection, whether or not an answer came back; the one exception is a request
  written to a kept-alive connection the server had already closed (it never reached
  the server and is resent at once). `file://` URLs are read directly and not counted.
- Connections are kept alive and reused per host and per thread (http.client is not
  thread-safe, a thread-local pool is the simplest correct thing).
- TLS trusts what common/cacerts.py lists: OpenSSL's default store as OpenSSL finds it, plus every
  CA file or folder named by `SSL_CERT_FILE`, `SSL_CERT_DIR` or `REQUESTS_CA_BUNDLE`, loaded as
  named whatever its path (a corporate proxy that re-signs TLS works when any of them holds its
  CA); uv is handed the same list. The context is built once per process, when the first https
  connection is made, and again when those variables (or the files they name) change.
- Proxies come from `https_proxy` / `http_proxy` / `no_proxy` (as urllib reads them);
  loopback hosts never go through a proxy.
- Credentials: a URL's userinfo (`https://user:pass@host/simple/`) is taken off the URL before
  anything else happens (it is never requested, cached, returned or put in a message) and sent
  as Basic auth, then also for every other URL on the same scheme, host and port (the index's
  files), as uv and pip do. A host with no userinfo gets the `machine` entry of `$NETRC` or
  `~/.netrc` when there is one (the Docker `--mount=type=secret,target=/root/.netrc` pattern).
- Redirects (301/302/303/307/308) are followed, at most MAX_REDIRECTS; a caller can refuse
  one from https to plain http. Connection errors (also mid-body), 429 and 5xx answers are
  retried a couple of times with a short backoff, or after the answer's `Retry-After`
  (seconds or a date), waiting at most MAX_RETRY_AFTER.
- `stream()` is the uncached path for one-off files (source archives, spec files by URL): the
  body goes to a file object, hashed and size-capped, restarted on a retry.
- Cache: `get()` stores body + ETag/Last-Modified; a later `get()` revalidates with
  If-None-Match/If-Modified-Since and a 304 reuses the stored body. `immutable=True`
  entries (and `download()`ed files) are served from the cache without any request.
  `offline=True` never sends a request: cached entries or IndexUnavailable.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass_environment  # type: ignore[attr-defined]  # typeshed omits it
from urllib.request import url2pathname

from incrinstall import __version__
from incrinstall.common.atomic import replacing
from incrinstall.common.credentials import auth_hint, basic_auth, netrc_credentials
from incrinstall.common.http_cache import HttpCache
from incrinstall.common.errors import HashMismatch, IndexUnavailable, InsecureRedirect, ResponseTooLarge, SpecError
from incrinstall.common.tls import tls_context
from incrinstall.common.urls import redact, split_credentials

REDIRECTS = (301, 302, 303, 307, 308)
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 5.0  # seconds: a longer Retry-After is waited this long, then the retry may fail
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# A request that hit a connection the server had closed while it sat in our pool.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True)
class Response:
    url: str  # final URL, after redirects (relative links resolve against it)
    status: int  # 200, or 404 for "not there" (404 and 410 both)
    body: bytes
    content_type: str
    from_cache: bool  # True when the body came from disk (304 or immutable or offline)


@dataclass(frozen=True)
class Streamed:
    """What `stream()` got: the final URL (after redirects) and status; size and hashes of a 200 body."""

    url: str
    status: int
    size: int = 0
    hashes: dict[str, str] = field(default_factory=dict)  # algorithm -> hex digest


# Writes a 200 body somewhere as it arrives (stream()): called with the response and the URL it came from; the byte
# count it wrote.
Sink = Callable[[http.client.HTTPResponse, str], int]


class Progress(Protocol):
    """Told about a body as it arrives (archive.py's progress bar); start() again on a retry."""

    def start(self, url: str, total: int | None) -> None: ...

    def update(self, done: int) -> None: ...


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.scheme, (parts.hostname or "").lower(), port


def file_url_path(url: str) -> Path:
    """The local path of a file:// URL."""
    parts = urlsplit(url)
    path = url2pathname(unquote(parts.path))
    if parts.netloc and parts.netloc != "localhost":  # file://server/share on Windows
        path = f"//{parts.netloc}{path}"
    return Path(path)


class HttpClient:
    """GET with a disk cache. Thread-safe; each thread keeps its own keep-alive connections.

    Without a `cache_root` only `stream()` is available (shared_client(): one-off files).
    """

    def __init__(self, cache_root: Path | None, *, offline: bool = False, timeout: float | None = None,
                 retries: int = 2, backoff: float = 0.25):
        self._store = HttpCache(Path(cache_root)) if cache_root is not None else None
        self.offline = offline
        self.timeout = configured_timeout(30.0) if timeout is None else timeout
        self.retries = retries
        self.backoff = backoff
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all_connections: list[http.client.HTTPConnection] = []
        self._requests = 0
        self._bytes = 0
        self._credentials: dict[tuple[str, str, int | None], tuple[str, str]] = {}
        self.user_agent = f"incrinstall/{__version__}"

    @property
    def _cache(self) -> HttpCache:
        if self._store is None:
            raise RuntimeError("this HttpClient has no cache folder; use stream()")  # a bug, never the user's
        return self._store

    # -- counters -----------------------------------------------------------------------

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def bytes_downloaded(self) -> int:
        return self._bytes

    def _count(self, requests: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self._requests += requests
            self._bytes += nbytes

    # -- credentials --------------------------------------------------------------------

    def _strip_credentials(self, url: str) -> str:
        """Remember the URL's userinfo for its origin; return the URL without it."""
        bare, creds = split_credentials(url)
        if creds is not None:
            with self._lock:
                self._credentials[_origin(bare)] = creds
        return bare

    def _auth_header(self, url: str) -> str | None:
        origin = _origin(url)
        with self._lock:
            creds = self._credentials.get(origin)
        if creds is None:
            creds = netrc_credentials(origin[1])
        return basic_auth(creds) if creds is not None else None

    # -- public API ---------------------------------------------------------------------

    def get(self, url: str, *, accept: str | None = None, immutable: bool = False) -> Response:
        """The body at `url`; 404/410 come back as status 404, other failures raise IndexUnavailable."""
        url = self._strip_credentials(url)
        if url.startswith("file:"):
            return self._get_file(url)
        cached = self._cache.read(url)
        entry = None if cached is None else Response(cached.url, cached.status, cached.body, cached.content_type, True)
        if entry is not None and (immutable or self.offline):
            return entry
        if self.offline:
            raise IndexUnavailable(f"{redact(url)} is not in the cache and --offline was given", where=redact(url))
        headers = {"Accept-Encoding": "gzip"}
        if accept:
            headers["Accept"] = accept
        if not immutable:
            # Ask CDNs in front of an index to check with the origin, as pip does.
            headers["Cache-Control"] = "max-age=0"
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        status, hdrs, final, body = self._request(url, headers)
        if status == 304 and entry is not None:
            return entry
        if status == 200:
            assert body is not None
            ctype = hdrs.get("content-type", "")
            self._cache.store_ok(url, final=final, body=body, content_type=ctype, etag=hdrs.get("etag"),
                                 last_modified=hdrs.get("last-modified"))
            return Response(final, 200, body, ctype, False)
        if status in (404, 410):
            self._cache.store_missing(url, final=final)
            return Response(final, 404, b"", "", False)
        raise IndexUnavailable(f"{redact(final)} answered HTTP {status}{auth_hint(status)}", where=redact(url))

    def cached_file(self, url: str, *, filename: str) -> Path | None:
        """The local copy `download()` made (or a file: URL's own file), if there is one: no request."""
        url = self._strip_credentials(url)
        if url.startswith("file:"):
            path = file_url_path(url)
            return path if path.is_file() else None
        dest = self._cache.file(url, filename)
        return dest if dest.is_file() else None

    def get_range(self, url: str, start: int, end: int | None) -> tuple[bytes, int]:
        """Bytes `start..end` (inclusive; a negative start: the last -start bytes) and the file's size.

        A server that ignores the Range header sends the whole file, which is returned as it is
        (the caller then has every byte). Nothing is cached: these are slices of immutable files.
        """
        url = self._strip_credentials(url)
        if self.offline:
            raise IndexUnavailable(f"{redact(url)} is not in the cache and --offline was given", where=redact(url))
        spec = f"bytes={start}" if start < 0 else f"bytes={start}-{'' if end is None else end}"
        status, hdrs, final, body = self._request(url, {"Range": spec, "Accept-Encoding": "identity"})
        body = body or b""
        if status == 200:
            return body, len(body)
        if status != 206:
            raise IndexUnavailable(f"{redact(final)} answered HTTP {status} to a range request{auth_hint(status)}",
                                   where=redact(url))
        m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", hdrs.get("content-range", "").strip())
        if m is None:
            raise IndexUnavailable(f"{redact(final)} sent a partial answer without a usable Content-Range",
                                   where=redact(url))
        return body, int(m.group(3))

    def download(self, url: str, *, filename: str, hashes: dict[str, str] | None = None) -> Path:
        """A local copy of the file at `url` (cached for good: dist files never change), hash-checked."""
        url = self._strip_credentials(url)
        if url.startswith("file:"):
            path = file_url_path(url)
            if not path.is_file():
                raise IndexUnavailable(f"{path} does not exist", where=filename)
            return path
        dest = self._cache.file(url, filename)
        if dest.is_file():
            return dest
        if self.offline:
            raise IndexUnavailable(f"{redact(url)} is not in the cache and --offline was given", where=filename)
        checks = {algo: value.lower() for algo, value in (hashes or {}).items() if algo in hashlib.algorithms_guaranteed}
        with replacing(dest) as fh:  # a file that fails its hash never takes dest's name
            got = self.stream(url, fh, algorithms=tuple(checks))
            if got.status != 200:
                raise IndexUnavailable(f"{redact(got.url)} answered HTTP {got.status}{auth_hint(got.status)}",
                                       where=filename)
            for algo, expected in checks.items():
                if got.hashes[algo] != expected:
                    raise HashMismatch(file=filename, url=redact(url), algorithm=algo, expected=expected,
                                       got=got.hashes[algo])
        return dest

    def stream(self, url: str, out: BinaryIO, *, max_size: int | None = None, progress: Progress | None = None,
               algorithms: tuple[str, ...] = ("sha256",), refuse_downgrade: bool = False) -> Streamed:
        """GET `url` without the cache; a 200 body is written to `out` (rewound and truncated on a retry).

        Any other final status comes back with nothing written, for the caller to word. `max_size`
        caps the body (ResponseTooLarge, from Content-Length before reading when it says so);
        `refuse_downgrade` makes a redirect from https to plain http an InsecureRedirect.
        """
        url = self._strip_credentials(url)
        if self.offline:
            raise IndexUnavailable(f"{redact(url)} is not in the cache and --offline was given", where=redact(url))
        digests: dict[str, hashlib._Hash] = {}  # algorithm -> hash object, fresh for each attempt
        received = 0

        def sink(resp: http.client.HTTPResponse, at: str) -> int:
            nonlocal received
            length = resp.getheader("Content-Length", "")
            total = int(length) if length.isdigit() else None
            if max_size is not None and total is not None and total > max_size:
                raise ResponseTooLarge(url=redact(url), limit=max_size, declared=total)
            out.seek(0)
            out.truncate()
            digests.clear()
            digests.update((algo, hashlib.new(algo)) for algo in algorithms)
            if progress is not None:
                progress.start(at, total)
            nbytes = received = 0
            try:
                while chunk := resp.read(1 << 16):
                    nbytes += len(chunk)
                    if max_size is not None and nbytes > max_size:
                        raise ResponseTooLarge(url=redact(url), limit=max_size, declared=None)
                    out.write(chunk)
                    for d in digests.values():
                        d.update(chunk)
                    if progress is not None:
                        progress.update(nbytes)
                if total is not None and nbytes != total:  # http.client's read() just stops at an early close
                    raise ConnectionError(f"the answer ended after {nbytes} of {total} bytes")
                received = nbytes
            except BaseException:
                self._count(nbytes=nbytes)  # what did arrive still crossed the wire
                raise
            return nbytes

        status, _hdrs, final, _body = self._request(url, {"Accept-Encoding": "identity"}, sink=sink,
                                                    refuse_downgrade=refuse_downgrade)
        if status != 200:
            return Streamed(final, status)
        return Streamed(final, 200, received, {algo: d.hexdigest() for algo, d in digests.items()})

    def forget(self, url: str) -> None:
        """Drop the cached copy of `url` (e.g. a body that failed its hash check)."""
        self._cache.forget(split_credentials(url)[0])

    def close(self) -> None:
        with self._lock:
            conns, self._all_connections = self._all_connections, []
        for conn in conns:
            conn.close()

    def _get_file(self, url: str) -> Response:
        path = file_url_path(url)
        if path.is_dir():
            path = path / "index.html"
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return Response(url, 404, b"", "", False)
        except OSError as exc:
            raise IndexUnavailable(f"cannot read {path}: {exc}", where=url) from exc
        ctype = "application/vnd.pypi.simple.v1+json" if path.suffix == ".json" else "text/html"
        return Response(path.as_uri(), 200, body, ctype, False)

    # -- the wire -----------------------------------------------------------------------

    def _request(self, url: str, headers: dict[str, str], *, sink: Sink | None = None,
                 refuse_downgrade: bool = False) -> tuple[int, dict[str, str], str, bytes | None]:
        """Follow redirects; return (status, lower-cased headers, final url, body or None when sunk)."""
        headers = dict(headers)
        first = url
        for _ in range(MAX_REDIRECTS + 1):
            status, hdrs, body = self._exchange(url, headers, sink)
            if status in REDIRECTS and hdrs.get("location"):
                new = urljoin(url, hdrs["location"])
                if refuse_downgrade and urlsplit(url).scheme == "https" and urlsplit(new).scheme != "https":
                    raise InsecureRedirect(url=redact(new), where=redact(first))
                if urlsplit(new).netloc.rpartition("@")[2] != urlsplit(url).netloc.rpartition("@")[2]:
                    headers.pop("Authorization", None)  # never hand credentials to another host
                url = new
                continue
            return status, hdrs, url, body
        raise IndexUnavailable(f"too many redirects (more than {MAX_REDIRECTS}) fetching {redact(first)}, "
                               f"the last to {redact(url)}", where=redact(first))

    def _exchange(self, url: str, headers: dict[str, str], sink: Sink | None) -> tuple[int, dict[str, str], bytes | None]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise IndexUnavailable(f"unsupported URL {redact(url)}", where=redact(url))
        headers = {"User-Agent": self.user_agent, **headers}
        if "@" in parts.netloc:  # a redirect to a URL with userinfo: take it off the URL too
            url = self._strip_credentials(url)
            parts = urlsplit(url)
        if "Authorization" not in headers:
            auth = self._auth_header(url)
            if auth is not None:
                headers["Authorization"] = auth
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        attempt = 0
        while True:
            conn, via_proxy = self._connection(parts)
            if via_proxy:  # plain HTTP through a proxy: absolute URI, explicit Host
                target_now = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path or "/", parts.query, ""))
                headers.setdefault("Host", parts.netloc.rpartition("@")[2])
            else:
                target_now = target
            reused = conn.sock is not None
            sent = answered = False
            try:
                conn.request("GET", target_now, headers=headers)
                sent = True
                resp = conn.getresponse()
                answered = True
                status = resp.status
                hdrs = {k.lower(): v for k, v in resp.getheaders()}
                if status == 200 and sink is not None:
                    body, nbytes = None, sink(resp, url)
                else:
                    body = resp.read()
                    nbytes = len(body)
            except ssl.SSLCertVerificationError as exc:
                self._drop(conn)
                raise IndexUnavailable(
                    f"TLS certificate verification failed for {redact(url)} ({exc.reason}: "
                    f"{exc.verify_message or exc}); if a proxy re-signs TLS, point SSL_CERT_FILE at a CA bundle "
                    "that includes its certificate", where=redact(url)) from exc
            except IndexUnavailable:
                self._drop(conn)
                self._count(requests=1)
                raise
            except (OSError, http.client.HTTPException) as exc:
                self._drop(conn)
                if reused and not answered and isinstance(exc, _STALE):
                    continue  # the server closed the idle connection; the request never reached it
                if sent:
                    self._count(requests=1)
                attempt += 1
                if attempt > self.retries:
                    raise self._failure(url, exc, sent, answered, attempt) from exc
                time.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            except BaseException:
                self._drop(conn)  # a sink's own error (or ^C) mid-body: the connection is unusable
                raise
            self._count(requests=1, nbytes=nbytes)
            if status in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                wait = _retry_after(hdrs.get("retry-after"))
                time.sleep(self.backoff * 2 ** (attempt - 1) if wait is None else wait)
                continue
            if body and hdrs.get("content-encoding", "").lower() == "gzip":
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError) as exc:
                    raise IndexUnavailable(f"{redact(url)} sent a broken gzip body: {exc}", where=redact(url)) from exc
            return status, hdrs, body

    def _failure(self, url: str, exc: Exception, sent: bool, answered: bool, attempts: int) -> IndexUnavailable:
        """The last network error of a request, worded for the user (the URL without its password)."""
        shown = redact(url)
        if isinstance(exc, TimeoutError):  # socket.timeout too
            what = (f"{shown} stalled: no data for {self.timeout:g} s" if sent
                    else f"cannot reach {shown}: no connection within {self.timeout:g} s")
        else:
            reason = str(exc) or type(exc).__name__
            what = f"{shown} broke off its answer: {reason}" if answered else f"cannot reach {shown}: {reason}"
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        return IndexUnavailable(what + tries, where=shown)

    def _connection(self, parts: SplitResult) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's kept-alive connection to the URL's host (or its proxy); True when plain-HTTP proxied."""
        scheme, host = parts.scheme, parts.hostname or ""  # _exchange refused a URL without a host
        port = parts.port or (443 if scheme == "https" else 80)
        pool = self._local.__dict__.setdefault("pool", {})
        key = (scheme, host, port)
        found = pool.get(key)
        tls = tls_context() if scheme == "https" else None
        if found is not None and found[2] is tls:
            return found[:2]
        if found is not None:
            found[0].close()  # made with a TLS context from before the CA variables changed
        proxy = _proxy_for(scheme, host)
        if proxy is not None:
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            pport = p.port or (443 if p.scheme == "https" else 80)
            proxy_host = p.hostname or ""
            proxy_headers = {}
            if p.username is not None:
                proxy_headers["Proxy-Authorization"] = basic_auth((unquote(p.username), unquote(p.password or "")))
            made: tuple[http.client.HTTPConnection, bool]
            if scheme == "https":
                tunnel = http.client.HTTPSConnection(proxy_host, pport, timeout=self.timeout, context=tls)
                tunnel.set_tunnel(host, port, headers=proxy_headers)
                made = (tunnel, False)
            else:
                made = (http.client.HTTPConnection(proxy_host, pport, timeout=self.timeout), True)
        elif scheme == "https":
            made = (http.client.HTTPSConnection(host, port, timeout=self.timeout, context=tls), False)
        else:
            made = (http.client.HTTPConnection(host, port, timeout=self.timeout), False)
        pool[key] = (*made, tls)
        with self._lock:
            self._all_connections.append(made[0])
        return made

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()  # http.client reconnects on next use; the pool entry can stay


def _retry_after(value: str | None) -> float | None:
    """The wait a Retry-After header asks for (seconds, or an HTTP date), at most MAX_RETRY_AFTER; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _proxy_for(scheme: str, host: str) -> str | None:
    if host in LOOPBACK or host.startswith("127."):
        return None
    proxies = getproxies()
    proxy = proxies.get(scheme)
    if not proxy or proxy_bypass_environment(host, proxies):
        return None
    return proxy


_shared_lock = threading.Lock()
_shared: HttpClient | None = None
_SPEC_MAX_SIZE = 64 * 1024**2  # a requirements file this big is a mistake, not a spec


def configured_timeout(default: float) -> float:
    """Seconds a connection may wait for data: INCRINSTALL_HTTP_TIMEOUT, else `default` (uv has UV_HTTP_TIMEOUT)."""
    text = os.environ.get("INCRINSTALL_HTTP_TIMEOUT", "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value != value or value == float("inf"):
        raise SpecError(f"INCRINSTALL_HTTP_TIMEOUT={text!r} is not a number of seconds above 0",
                        where="INCRINSTALL_HTTP_TIMEOUT")
    return value


def shared_client() -> HttpClient:
    """The process's client for one-off files (source archives, spec files by URL); it has no disk cache."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = HttpClient(None, timeout=configured_timeout(60.0))  # a big archive can take a while to start
        return _shared


def status_text(status: int) -> str:
    """"404 Not Found": the status with its standard phrase, for messages."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def fetch_spec_file(url: str, *, where: str) -> bytes:
    """A requirements/constraints file the user named by URL; SpecError when it cannot be fetched.

    Through shared_client(), so with its TLS rule, retries and credentials; an https URL that
    redirects to plain http is refused. Neither message nor `where` ever shows a password.
    """
    shown, where = redact(url), redact(where)
    body = io.BytesIO()
    try:
        got = shared_client().stream(url, body, max_size=_SPEC_MAX_SIZE, algorithms=(), refuse_downgrade=True)
    except ResponseTooLarge:
        raise SpecError(f"cannot fetch {shown}: larger than {_SPEC_MAX_SIZE} bytes", where=where) from None
    except IndexUnavailable as exc:
        named = redact(split_credentials(url)[0]) in exc.message  # most of the client's messages name the URL
        message = exc.message if named else f"cannot fetch {shown}: {exc.message}"
        raise SpecError(message, where=where) from None
    if got.status != 200:
        raise SpecError(f"cannot fetch {shown}: HTTP {status_text(got.status)}", where=where)
    return body.getvalue()
