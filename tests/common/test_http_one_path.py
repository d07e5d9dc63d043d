"""One HTTP path: source archives, spec files by URL and the index all go through common/http.py's client.

Real loopback servers that answer from a script (a 503 first, a reset mid-body, a stall, a
redirect loop); the archive download (`open_archive`) and the spec-file fetch
(`fetch_spec_file`) are shown to behave alike because they are the same client.
"""

from __future__ import annotations

import base64
import io
import socket
import ssl
import struct
import tarfile
import threading
import time
from email.utils import formatdate

import pytest

from incrinstall.archive import open_archive, unpacked
from incrinstall.cli import render_error
from incrinstall.common import http as client_http
from incrinstall.common import tls as client_tls
from incrinstall.common.errors import ArchiveError, IndexUnavailable, SpecError
from incrinstall.common.http import HttpClient, fetch_spec_file, shared_client
from tests.support.loopback import LoopbackServer, Request
from tests.support.tls import make_ca, server_context

SECRET = "s3cret-Pw-77"


def tar_gz() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b'[project]\nname = "demo"\nversion = "1.0"\n'
        info = tarfile.TarInfo("demo-main/pyproject.toml")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


ARCHIVE = tar_gz()
REQUIREMENTS = b"six==1.16.0\n"


class Scripted(LoopbackServer):
    """A loopback server whose answers per path come from a script: each request takes the next step.

    A step is (status, headers, body) or one of "reset" (headers and a tenth of the body, then a
    TCP reset), "short" (the same, then a clean close), "stall" (headers, then silence). The last
    step of a path repeats. Every request's path and Authorization header are logged.
    """

    def __init__(self, tls: ssl.SSLContext | None = None):
        super().__init__(tls=tls)
        self.script: dict[str, list] = {}
        self.log: list[tuple[str, str | None]] = []
        self.release = threading.Event()

    def answer(self, request: Request, head: bool) -> None:
        self.log.append((request.path, request.headers.get("Authorization")))
        steps = self.script.get(request.path) or [(404, {}, b"not here")]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if len(step) == 3:
            status, headers, body = step
            self.reply(request, status, headers, body, head=head)
            return
        kind, body = step
        if kind == "stall":
            self.reply(request, 200, {}, b"", length=len(body))
            self.release.wait(10)
            return
        self.reply(request, 200, {}, body[: len(body) // 10], length=len(body))
        request.wfile.flush()
        if kind == "reset":  # SO_LINGER 0: close() sends RST, not FIN
            request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.connection.close()

    def on(self, path: str, *steps) -> str:
        self.script[path] = list(steps)
        return self.origin + path

    def paths(self) -> list[str]:
        return [path for path, _ in self.log]

    def close(self):
        self.release.set()
        self.stop()


@pytest.fixture
def server():
    srv = Scripted().start()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    """The one shared client, with a short backoff so failing tests stay fast."""
    monkeypatch.setattr(shared_client(), "backoff", 0.01)


def ok(body: bytes, **headers: str) -> tuple[int, dict, bytes]:
    return 200, headers, body


def spec(url: str) -> bytes:
    return fetch_spec_file(url, where="requirements.txt:3")


# -- the same client, the same retries ------------------------------------------------------------------------


def test_both_retry_a_503_then_succeed(server, tmp_path):
    busy = (503, {"Retry-After": "0"}, b"busy")
    archive_url = server.on("/a.tar.gz", busy, ok(ARCHIVE))
    spec_url = server.on("/r.txt", busy, ok(REQUIREMENTS))
    before = shared_client().requests

    with unpacked(archive_url, dest_parent=tmp_path, allow_insecure_http=True) as result:
        assert (result.root / "pyproject.toml").exists()
    assert spec(spec_url) == REQUIREMENTS
    assert server.paths() == ["/a.tar.gz", "/a.tar.gz", "/r.txt", "/r.txt"]
    assert shared_client().requests - before == 4  # all four counted by the one shared client


def test_both_retry_a_429_honouring_retry_after(server, tmp_path):
    limited = (429, {"Retry-After": "1"}, b"slow down")
    archive_url = server.on("/a.tar.gz", limited, ok(ARCHIVE))
    spec_url = server.on("/r.txt", limited, ok(REQUIREMENTS))
    start = time.monotonic()
    open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True).cleanup()
    assert spec(spec_url) == REQUIREMENTS
    assert time.monotonic() - start >= 1.9  # one second each, as asked
    assert server.paths() == ["/a.tar.gz", "/a.tar.gz", "/r.txt", "/r.txt"]


@pytest.mark.parametrize("how", ["reset", "short"])
def test_both_retry_a_body_cut_off_mid_way(server, tmp_path, how):
    archive_url = server.on("/a.tar.gz", (how, ARCHIVE), ok(ARCHIVE))
    spec_url = server.on("/r.txt", (how, REQUIREMENTS * 100), ok(REQUIREMENTS))
    with unpacked(archive_url, dest_parent=tmp_path, allow_insecure_http=True, progress=False) as result:
        assert result.sha256 is not None and (result.root / "pyproject.toml").exists()
        assert [p.name for p in result.workdir.iterdir()] == ["tree"]  # the cut-off first try left nothing
    assert spec(spec_url) == REQUIREMENTS
    assert server.paths() == ["/a.tar.gz", "/a.tar.gz", "/r.txt", "/r.txt"]


def test_both_give_up_after_the_retries_with_the_last_status(server, tmp_path):
    archive_url = server.on("/a.tar.gz", (502, {}, b"bad gateway"))
    spec_url = server.on("/r.txt", (502, {}, b"bad gateway"))
    with pytest.raises(ArchiveError, match="download failed: HTTP 502 Bad Gateway"):
        open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True)
    with pytest.raises(SpecError, match="HTTP 502 Bad Gateway") as caught:
        spec(spec_url)
    assert caught.value.where == "requirements.txt:3"
    assert server.paths().count("/a.tar.gz") == server.paths().count("/r.txt") == 1 + shared_client().retries


# -- redirects ------------------------------------------------------------------------------------------------


def test_a_redirect_loop_is_a_bounded_clear_error_for_both(server, tmp_path):
    archive_url = server.on("/loop.tar.gz", (302, {"Location": "/loop.tar.gz"}, b""))
    spec_url = server.on("/loop.txt", (302, {"Location": "/loop.txt"}, b""))
    with pytest.raises(ArchiveError, match=r"too many redirects \(more than 10\)") as archive_error:
        open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True)
    with pytest.raises(SpecError, match=r"too many redirects \(more than 10\)") as spec_error:
        spec(spec_url)
    assert archive_url in archive_error.value.message and spec_url in spec_error.value.message
    assert server.paths().count("/loop.tar.gz") == server.paths().count("/loop.txt") == 11
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tls(tmp_path, monkeypatch):
    """A CA trusted through SSL_CERT_FILE and an https loopback server with a certificate it signed."""
    d = make_ca(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(d / "ca.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    srv = Scripted(tls=server_context(d)).start()
    yield srv
    srv.close()


def test_both_refuse_a_redirect_from_https_to_plain_http(tls, server, tmp_path):
    plain_archive = server.on("/a.tar.gz", ok(ARCHIVE))
    plain_spec = server.on("/r.txt", ok(REQUIREMENTS))
    archive_url = tls.on("/a.tar.gz", (302, {"Location": plain_archive}, b""))
    spec_url = tls.on("/r.txt", (302, {"Location": plain_spec}, b""))

    with pytest.raises(ArchiveError, match="redirect to plain http .*--allow-insecure-http"):
        open_archive(archive_url, dest_parent=tmp_path)
    with pytest.raises(SpecError, match="refusing a redirect from https to plain http") as caught:
        spec(spec_url)
    assert plain_spec in caught.value.message
    assert server.log == []  # the plain http server was never asked
    # the flag allows it for the archive; https itself works for both
    open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True).cleanup()
    assert spec(tls.on("/direct.txt", ok(REQUIREMENTS))) == REQUIREMENTS


def test_plain_http_needs_the_flag_for_an_archive_and_is_allowed_for_a_spec_file(server, tmp_path):
    # spec files by plain http URL always worked (as with pip); only the downgrade from https is refused
    archive_url = server.on("/a.tar.gz", ok(ARCHIVE))
    with pytest.raises(ArchiveError, match="refusing to download over plain http"):
        open_archive(archive_url, dest_parent=tmp_path)
    assert server.log == []
    assert spec(server.on("/r.txt", ok(REQUIREMENTS))) == REQUIREMENTS


def test_the_tls_context_is_built_once_and_again_when_the_ca_variables_change(tls, tmp_path, monkeypatch):
    first = client_tls.tls_context()
    assert client_tls.tls_context() is first
    other = tmp_path / "other.pem"
    other.write_bytes((tmp_path / "tls" / "ca.pem").read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(other))
    assert client_tls.tls_context() is not first
    # and a pooled connection made with the old context is not reused with it
    assert spec(tls.on("/r.txt", ok(REQUIREMENTS))) == REQUIREMENTS


# -- credentials and stalls -------------------------------------------------------------------------------------


def test_credentials_in_a_spec_url_are_sent_as_basic_auth_and_never_shown(server):
    spec_url = server.on("/private/r.txt", (401, {}, b"who are you"))
    with_password = spec_url.replace("http://", f"http://alice:{SECRET}@")
    with pytest.raises(SpecError) as caught:
        fetch_spec_file(with_password, where=f"{with_password}:1")
    rendered = render_error(caught.value)
    assert "HTTP 401 Unauthorized" in rendered and SECRET not in rendered and "alice:***@" in rendered
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert server.log == [("/private/r.txt", expected)]


def test_credentials_reached_through_a_redirect_never_show_in_an_archive_error(server, tmp_path):
    target = server.origin.replace("http://", f"http://alice:{SECRET}@") + "/gone.tar.gz"
    archive_url = server.on("/a.tar.gz", (302, {"Location": target}, b""))
    with pytest.raises(ArchiveError, match="HTTP 404") as caught:
        open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True)
    assert SECRET not in render_error(caught.value)
    loop = server.origin.replace("http://", f"http://alice:{SECRET}@") + "/loop"
    server.on("/loop", (302, {"Location": loop}, b""))
    with pytest.raises(SpecError) as caught:
        spec(loop)
    assert "too many redirects" in caught.value.message and SECRET not in render_error(caught.value)


def test_an_unreachable_host_names_the_url_for_both(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://alice:{SECRET}@127.0.0.1:{port}/r.txt"
    with pytest.raises(SpecError, match=rf"^cannot reach http://127.0.0.1:{port}/r.txt: .*refused") as caught:
        fetch_spec_file(url, where="requirements.txt:1")
    assert SECRET not in render_error(caught.value)
    with pytest.raises(ArchiveError, match="cannot download: cannot reach .*refused"):
        open_archive(f"http://127.0.0.1:{port}/a.tar.gz", dest_parent=tmp_path, allow_insecure_http=True)


def test_a_stalled_answer_is_a_clear_error_naming_the_url(server, tmp_path, monkeypatch):
    monkeypatch.setattr(shared_client(), "timeout", 0.3)
    monkeypatch.setattr(shared_client(), "retries", 1)
    archive_url = server.on("/slow.tar.gz", ("stall", ARCHIVE))
    spec_url = server.on("/slow.txt", ("stall", REQUIREMENTS))
    start = time.monotonic()
    with pytest.raises(ArchiveError, match=rf"{archive_url} stalled: no data for 0.3 s \(2 attempts\)"):
        open_archive(archive_url, dest_parent=tmp_path, allow_insecure_http=True)
    with pytest.raises(SpecError, match=rf"{spec_url} stalled: no data for 0.3 s"):
        spec(spec_url)
    assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


# -- the client itself: Retry-After ---------------------------------------------------------------------------


def test_retry_after_is_honoured_up_to_a_cap():
    assert client_http._retry_after("1") == 1.0
    assert client_http._retry_after("0") == 0.0
    assert client_http._retry_after("3600") == client_http.MAX_RETRY_AFTER == 5.0
    assert 1.0 <= client_http._retry_after(formatdate(time.time() + 3, usegmt=True)) <= 3.0
    assert client_http._retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert client_http._retry_after("soon") is None and client_http._retry_after(None) is None


def test_the_index_client_retries_a_503_with_retry_after_too(server, tmp_path):
    client = HttpClient(tmp_path / "cache", backoff=5)  # Retry-After: 0 is what is waited, not the backoff
    url = server.on("/simple/", (503, {"Retry-After": "0"}, b""), ok(b"<html></html>", **{"Content-Type": "text/html"}))
    start = time.monotonic()
    assert client.get(url).status == 200
    assert time.monotonic() - start < 2 and client.requests == 2


def test_a_stalled_index_answer_names_the_url(server, tmp_path):
    client = HttpClient(tmp_path / "cache", timeout=0.3, retries=0)
    url = server.on("/files/x.whl", ("stall", b"x" * 1000))
    with pytest.raises(IndexUnavailable, match=rf"{url} stalled: no data for 0.3 s"):
        client.download(url, filename="x.whl")


def test_the_timeout_comes_from_incrinstall_http_timeout(monkeypatch):
    from incrinstall.common.errors import SpecError
    from incrinstall.common.http import HttpClient, configured_timeout

    monkeypatch.delenv("INCRINSTALL_HTTP_TIMEOUT", raising=False)
    assert HttpClient(None).timeout == 30.0 and configured_timeout(60.0) == 60.0
    monkeypatch.setenv("INCRINSTALL_HTTP_TIMEOUT", "2.5")
    assert HttpClient(None).timeout == 2.5 and configured_timeout(60.0) == 2.5
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv("INCRINSTALL_HTTP_TIMEOUT", bad)
        with pytest.raises(SpecError, match="INCRINSTALL_HTTP_TIMEOUT"):
            configured_timeout(30.0)
