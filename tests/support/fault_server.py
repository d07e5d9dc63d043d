"""A LoopbackIndex that misbehaves on demand: the faults real indexes, mirrors and CDNs have.

    idx = FaultIndex(folder).start()
    idx.inject("/simple/gamma/", "status", status=503, times=1)        # one 503, then normal again
    idx.inject("/simple/gamma/", "status", status=429, retry_after=1)   # 429 with Retry-After, forever
    idx.inject("/files/gamma-*.whl", "reset")                           # headers, half the body, then RST
    idx.inject("/files/gamma-*.whl", "stall")                           # headers, half the body, then silence
    idx.inject("/simple/gamma/", "redirect-loop")                       # A -> A?loop -> A -> ...
    idx.inject("/simple/gamma/", "answer", content_type=..., body=...)  # any 200 answer (a broken page)
    idx.serve_bytes("gamma-1.0-py3-none-any.whl", data, advertise="original" | "served")
    idx.override_metadata("gamma-1.0-py3-none-any.whl", b"Metadata-Version: ...")

A transport fault matches a request whose unquoted path (query left off) matches its pattern
(fnmatch: "/files/gamma-*.whl" is the wheel and not its ".metadata" file); `times` < 0 means forever. Content faults (`serve_bytes`, `override_metadata`) change what a
file is: `advertise="served"` makes the pages list the served bytes' hash and size (a broken
upload, consistent with itself); "original" keeps the real file's (a mirror that serves other
bytes than the index promised). An overridden metadata file is advertised with its own hash, so
it is not a hash mismatch: it simply disagrees with the wheel's METADATA.

`clear_faults()` drops them all and wakes every stalled answer, so a test's stall never leaks
into the next one. `faults_applied` counts how many requests each fault broke.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import struct
import tempfile
import threading
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tests.support.index_server import FileInfo, LoggedRequest, LoopbackIndex, _read_core_metadata
from tests.support.loopback import Request

KINDS = ("status", "reset", "stall", "redirect-loop", "answer")


@dataclass
class Fault:
    pattern: str
    kind: str
    times: int = -1  # requests left to break (< 0: every one)
    status: int = 503
    retry_after: str | None = None
    content_type: str = "text/plain"
    body: bytes = b""
    stall_seconds: float = 120.0  # an upper bound only: clear_faults() ends a stall at once
    applied: int = 0


@dataclass
class _Served:
    data: bytes
    advertise: str  # "served" | "original"
    info: dict = field(default_factory=dict)


class FaultIndex(LoopbackIndex):
    """LoopbackIndex plus per-path faults (see the module docstring)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._faults: list[Fault] = []
        self._served: dict[str, _Served] = {}
        self._metadata_overrides: dict[str, bytes] = {}
        self._release = threading.Event()
        self._times: list[float] = []  # when each logged request came, in the log's order

    # -- configuration -----------------------------------------------------------------------

    def inject(self, pattern: str, kind: str, *, times: int = -1, **options) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(KINDS)})")
        fault = Fault(pattern, kind, times, **options)
        with self._lock:
            self._faults.append(fault)
            self._release.clear()
        return fault

    def serve_bytes(self, filename: str, data: bytes, *, advertise: str = "original") -> None:
        """Answer /files/<filename> with `data` instead of the file (see the module docstring)."""
        if advertise not in ("served", "original"):
            raise ValueError("advertise is 'served' or 'original'")
        with self._lock:
            self._served[filename] = _Served(data, advertise)
            self._info_cache.pop(filename, None)

    def override_metadata(self, filename: str, metadata: bytes) -> None:
        """Serve (and advertise the hash of) `metadata` as the PEP 658 file of `filename`."""
        with self._lock:
            self._metadata_overrides[filename] = metadata
            self._info_cache.pop(filename, None)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._served.clear()
            self._metadata_overrides.clear()
            self._info_cache.clear()
            self._release.set()  # every stalled answer gives up now

    def _record(self, entry: LoggedRequest) -> None:
        with self._lock:  # one lock for both lists, so they stay in step
            self._times.append(time.monotonic())
            self._log.append(entry)

    def reset_log(self) -> None:
        with self._lock:
            self._times.clear()
            self._log.clear()

    def hits(self, pattern: str) -> list[tuple[float, LoggedRequest]]:
        """(monotonic time, request) of every logged request whose path (query left off) matches `pattern`."""
        with self._lock:
            logged = list(zip(self._times, self._log))
        return [(t, r) for t, r in logged if fnmatchcase(unquote(urlsplit(r.path).path), pattern)]

    @property
    def faults_applied(self) -> int:
        with self._lock:
            return sum(f.applied for f in self._faults)

    # -- what the pages say about a file ------------------------------------------------------

    def _file_info(self, path) -> FileInfo | None:
        info = super()._file_info(path)
        if info is None:
            return None
        with self._lock:
            served = self._served.get(info.filename)
            metadata = self._metadata_overrides.get(info.filename)
        if served is not None and served.advertise == "served":
            # A broken upload: the index lists what it has, hash, size and (un)readable metadata.
            meta = _metadata_of_bytes(info.filename, served.data)
            info = dataclasses.replace(info, sha256=hashlib.sha256(served.data).hexdigest(),
                                       size=len(served.data), metadata=meta)
        if metadata is not None:
            info = dataclasses.replace(info, metadata=metadata)
        return info

    # -- the wire ---------------------------------------------------------------------------

    def _take_over(self, request: Request, entry: LoggedRequest, head: bool) -> bool:
        path = unquote(urlsplit(request.path).path)
        fault = self._fault_for(path)
        if fault is None:
            served = self._served_for(path)
            if served is None:
                return False
            return self._answer(request, entry, head, 200, {"Content-Type": "application/octet-stream"}, served.data)
        if fault.kind == "status":
            headers = {"Content-Type": "text/plain"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return self._answer(request, entry, head, fault.status, headers,
                                f"injected fault: HTTP {fault.status}\n".encode())
        if fault.kind == "answer":
            return self._answer(request, entry, head, 200, {"Content-Type": fault.content_type}, fault.body)
        if fault.kind == "redirect-loop":
            # Two URLs that send the client to each other; the query keeps them apart.
            location = path if urlsplit(request.path).query else f"{path}?loop=1"
            return self._answer(request, entry, head, 302, {"Location": location, "Content-Type": "text/plain"}, b"")
        # reset / stall: the real answer, broken half-way through its body.
        served = self._served_for(path)
        if served is not None:
            status, headers, body = 200, {"Content-Type": "application/octet-stream"}, served.data
        else:
            status, headers, body = self._route(request)
        entry.status = status
        self._record(entry)
        request.close_connection = True
        try:
            self.reply(request, status, headers, body[: len(body) // 2], length=len(body))
            entry.bytes_sent = len(body) // 2
            if fault.kind == "stall":
                self._release.wait(fault.stall_seconds)
                return True  # then an ordinary close: the body stays short
            time.sleep(0.05)  # let the client read the headers and half the body
            # SO_LINGER 0: close() sends RST, not FIN (a peer or middlebox that drops the connection).
            request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.connection.close()
        except OSError:
            pass  # the client hung up first
        return True

    def _answer(self, request: Request, entry: LoggedRequest, head: bool, status: int, headers: dict[str, str],
                body: bytes) -> bool:
        self._log_answer(entry, status, body, head)
        self.reply(request, status, headers, body, head=head)
        return True

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fnmatchcase(path, fault.pattern) and fault.times != 0:
                    fault.times -= 1 if fault.times > 0 else 0
                    fault.applied += 1
                    return fault
        return None

    def _served_for(self, path: str) -> _Served | None:
        if not path.startswith("/files/"):
            return None
        with self._lock:
            return self._served.get(path[len("/files/"):])


def _metadata_of_bytes(filename: str, data: bytes) -> bytes | None:
    """Core metadata of a wheel given as bytes (None when it cannot be read, as for a cut file)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / filename
        path.write_bytes(data)
        return _read_core_metadata(path)[0]
