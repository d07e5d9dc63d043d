"""The one loopback HTTP server of the harness: a threaded server on 127.0.0.1 (https with `tls`) whose subclass answers.

Every server a test runs is a `LoopbackServer`: the simple index (index_server.LoopbackIndex), the
index that misbehaves on demand (fault_server.FaultIndex), `Routes` below (fixed answers per path,
for archives and spec files), and a test's own scripted server. A subclass implements `answer()`;
`reply()` writes one whole answer. `stop()` also cuts open keep-alive connections, so a stopped
server is really gone.

    with Routes() as server:
        url = server.serve("/main.tar.gz", data)    # http://127.0.0.1:PORT/main.tar.gz
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ssl import SSLContext
from typing import Any, TypeVar

# What a handler hands to `answer()`: the request line, headers, and the socket to answer on.
Request = BaseHTTPRequestHandler
_Server = TypeVar("_Server", bound="LoopbackServer")


class _Threads(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections, so `close_connections()` can cut idle keep-alives."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (or a connection cut by stop()) is normal here, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LoopbackServer:
    """A started-on-demand HTTP server on 127.0.0.1; subclasses implement `answer(request, head)`.

    `protocol_version`: "HTTP/1.0" closes each connection after its answer (a test that breaks a
    connection mid-body relies on that); "HTTP/1.1" keeps connections alive, as real indexes do.
    """

    protocol_version = "HTTP/1.0"
    server_version = "incrinstall-test-server/1"
    thread_name = "loopback-server"

    def __init__(self, *, tls: SSLContext | None = None, port: int = 0) -> None:
        self.tls = tls
        self._port = port
        self._server: _Threads | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self: _Server) -> _Server:
        if self._server is not None:
            return self
        self._server = _Threads(("127.0.0.1", self._port), _handler_for(self))
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.thread_name,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT (https with `tls`), no trailing slash."""
        return f"{'https' if self.tls is not None else 'http'}://127.0.0.1:{self.port}"

    # -- answering ---------------------------------------------------------------------------

    def answer(self, request: Request, head: bool) -> None:
        """Answer one GET (or HEAD, `head`) request, with `reply()` or by writing to `request` directly."""
        raise NotImplementedError

    @staticmethod
    def reply(request: Request, status: int, headers: dict[str, str], body: bytes, *, head: bool = False,
              length: int | None = None) -> None:
        """One answer: status, headers, Content-Length, and the body (not for HEAD).

        `length`: the Content-Length to announce instead of the body's, for an answer that is cut short.
        """
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(body) if length is None else length))
        request.end_headers()
        if not head and body:
            request.wfile.write(body)


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = server.protocol_version
        server_version = server.server_version
        timeout = 60  # an idle keep-alive connection is dropped after this
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK stall every keep-alive response by ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
            pass

        def do_GET(self) -> None:
            server.answer(self, head=False)

        def do_HEAD(self) -> None:
            server.answer(self, head=True)

    return Handler


class Routes(LoopbackServer):
    """Fixed answers per path (404 elsewhere), each after `delay` seconds; `requests` lists the paths asked for."""

    thread_name = "loopback-routes"

    def __init__(self, *, tls: SSLContext | None = None, delay: float = 0.0) -> None:
        super().__init__(tls=tls)
        self.delay = delay
        self.routes: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []

    def serve(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> str:
        """Answer `path` (with its query, if any) with this; returns its URL."""
        self.routes[path] = (status, body, headers or {})
        return self.origin + path

    def answer(self, request: Request, head: bool) -> None:
        self.requests.append(request.path)
        if self.delay:
            time.sleep(self.delay)
        status, body, headers = self.routes.get(request.path, (404, b"not here", {}))
        self.reply(request, status, headers, body, head=head)
