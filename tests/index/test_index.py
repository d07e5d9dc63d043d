"""The package index client against a real loopback simple index: parsing, filtering, metadata, cache, counting."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from packaging.version import Version

from incrinstall.common.errors import IndexUnavailable
from incrinstall.index.client import IndexClient
from incrinstall.common.config import IndexConfig
from tests.support import wheels

PY312_TAGS = [
    "cp312-cp312-manylinux_2_17_x86_64",
    "cp312-abi3-manylinux_2_17_x86_64",
    "cp312-none-any",
    "py312-none-any",
    "py3-none-any",
]


def client(*urls: str, find_links: tuple[str, ...] = (), offline: bool = False, no_index: bool = False,
           python: str = "3.12.4", tags: list[str] = PY312_TAGS, cache_dir: Path | None = None,
           **kw) -> IndexClient:
    config = IndexConfig(index_url=urls[0] if urls else "http://127.0.0.1:9/simple/",
                         extra_index_urls=tuple(urls[1:]), find_links=find_links, offline=offline,
                         no_index=no_index or not urls)
    return IndexClient(config, python_full_version=python, tags=tags, cache_dir=cache_dir, **kw)


def server_log(idx, at_least: int):
    """The server's request log once it holds `at_least` entries (it records a request after answering it)."""
    deadline = time.monotonic() + 5
    while len(idx.request_log) < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.02)  # let any further (unexpected) entry land too
    return idx.request_log


def summary(versions) -> list[tuple]:
    """What a resolver sees, without the server's port in it."""
    return [(str(iv.version), iv.yanked,
             [(f.filename, f.kind, f.tag_rank, f.hashes, f.requires_python, f.yanked,
               f.metadata_url is not None, f.metadata_hashes) for f in iv.files])
            for iv in versions]


def populate(idx) -> None:
    idx.add_wheel("alpha", "1.0", requires_dist=["beta>=1"])
    idx.add_wheel("alpha", "2.0", requires_python=">=3.8,<4", extras={"fast": ["gamma"]})
    idx.add_sdist("alpha", "2.0")
    idx.add_wheel("alpha", "3.0", requires_python=">=3.13")
    idx.yank(wheels.wheel_filename("alpha", "1.0"), "broken build")


def test_json_and_html_pages_give_the_same_versions(index_factory):
    json_idx = index_factory()
    html_idx = index_factory(json=False, relative_urls=True)
    for idx in (json_idx, html_idx):
        populate(idx)
    from_json = client(json_idx.url).versions("alpha")
    from_html = client(html_idx.url).versions("alpha")
    assert summary(from_json) == summary(from_html)
    assert [str(v.version) for v in from_json] == ["2.0", "1.0"]
    # The JSON client asked for JSON and the server answered JSON; the HTML-only one got HTML.
    assert "json" in json_idx.request_log[0].headers["accept"]
    # Relative links on the HTML page resolve against the page URL.
    assert from_html[0].files[0].url == html_idx.file_url("alpha-2.0-py3-none-any.whl")


def test_requires_python_hides_files_for_other_interpreters(index):
    populate(index)
    on_312 = [str(v.version) for v in client(index.url).versions("alpha")]
    on_313 = [str(v.version) for v in client(index.url, python="3.13.1").versions("alpha")]
    assert on_312 == ["2.0", "1.0"]
    assert on_313 == ["3.0", "2.0", "1.0"]


def test_requires_python_upper_bounds_are_ignored_unless_strict(index):
    index.add_wheel("capped", "1.0", requires_python=">=3.8,<3.11")
    index.add_wheel("capped", "2.0", requires_python="~=3.13.0")
    index.add_wheel("capped", "3.0", requires_python=">=3.12.5")
    assert [str(v.version) for v in client(index.url).versions("capped")] == ["1.0"]
    assert client(index.url, strict_requires_python=True).versions("capped") == []
    # A release candidate counts as its release: 3.13.0rc1 meets ~=3.13.0.
    assert [str(v.version) for v in client(index.url, python="3.13.0rc1").versions("capped")] == ["3.0", "2.0", "1.0"]


def test_wheel_tags_select_files_and_sdist_is_the_fallback(index):
    index.add_wheel("native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    index.add_wheel("native", "2.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    index.add_sdist("native", "2.0")
    index.add_wheel("native", "3.0", tag="py3-none-any")
    index.add_wheel("native", "3.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    versions = client(index.url).versions("native")
    # 1.0 has only a cp313 wheel: invisible for a 3.12 target.
    assert [str(v.version) for v in versions] == ["3.0", "2.0"]
    v3, v2 = versions
    assert [f.filename for f in v3.files] == ["native-3.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                                              "native-3.0-py3-none-any.whl"]
    assert [f.tag_rank for f in v3.files] == [0, 4]
    assert v3.best.filename.endswith("cp312-cp312-manylinux_2_17_x86_64.whl")
    assert [(f.filename, f.kind, f.tag_rank) for f in v2.files] == [("native-2.0.tar.gz", "sdist", len(PY312_TAGS))]


def test_yanked_files_are_reported_not_hidden(index):
    index.add_wheel("yk", "1.0")
    index.add_wheel("yk", "2.0")
    index.add_sdist("yk", "2.0")
    index.yank("yk-1.0-py3-none-any.whl", "security issue")
    index.yank("yk-2.0-py3-none-any.whl")
    for versions in (client(index.url).versions("yk"),):
        v2, v1 = versions
        assert v1.yanked and v1.files[0].yanked == "security issue"
        # 2.0 still has an sdist that is not yanked: the version is not yanked and its best file is the sdist.
        assert not v2.yanked
        assert v2.files[0].yanked == "" and v2.best.filename == "yk-2.0.tar.gz"


def test_yanked_reason_survives_html(index_factory):
    idx = index_factory(json=False)
    idx.add_wheel("yk", "1.0")
    idx.yank("yk-1.0-py3-none-any.whl", "use 1.1 & not this")
    (v1,) = client(idx.url).versions("yk")
    assert v1.yanked and v1.files[0].yanked == "use 1.1 & not this"


def test_unknown_project_has_no_versions(index):
    c = client(index.url)
    assert c.versions("does-not-exist") == []
    assert c.requests == 1


def test_pep658_metadata_file_is_used_without_downloading_the_wheel(index):
    index.add_wheel("meta", "1.0", requires_dist=["dep>=2; python_version>='3.8'"], requires_python=">=3.9",
                    extras={"Speed_Up": ["fastdep"]})
    c = client(index.url)
    (iv,) = c.versions("meta")
    md = c.metadata(iv)
    assert (md.name, md.version, md.requires_python, md.provides_extra) == ("meta", "1.0", ">=3.9", ("speed-up",))
    assert [r.split(";")[0] for r in md.requires_dist] == ["dep>=2", "fastdep"]
    paths = [r.path for r in server_log(index, c.requests)]
    assert paths == ["/simple/meta/", "/files/meta-1.0-py3-none-any.whl.metadata"]


def test_without_metadata_files_the_wheel_is_downloaded(index_factory):
    with_658 = index_factory()
    without = index_factory(serve_metadata=False)
    for idx in (with_658, without):
        idx.add_wheel("meta", "1.0", requires_dist=["dep>=2"], extras={"x": ["xdep"]})
    c1, c2 = client(with_658.url), client(without.url)
    assert c1.metadata(c1.versions("meta")[0]) == c2.metadata(c2.versions("meta")[0])
    assert [r.path for r in server_log(without, 2)] == ["/simple/meta/", "/files/meta-1.0-py3-none-any.whl"]
    assert c2.bytes_downloaded == without.bytes_sent


def test_static_sdist_pkg_info_is_used_without_a_build(index, monkeypatch):
    import incrinstall.backends.backend

    def no_build(*a, **kw):
        raise AssertionError("static PKG-INFO must not be built")

    monkeypatch.setattr(incrinstall.backends.backend, "sdist_metadata", no_build)
    index.add_sdist("plain", "1.0", requires_dist=["dep<3"], metadata_version="2.2")
    c = client(index.url)
    md = c.metadata(c.versions("plain")[0])
    assert md.requires_dist == ("dep<3",)


@pytest.mark.parametrize("kind", ["dynamic", "old-metadata-version"])
def test_sdist_with_untrustworthy_pkg_info_is_built(index, monkeypatch, kind):
    import incrinstall.backends.backend

    calls = []

    def fake_build(sdist_path, *, python, index):
        calls.append((Path(sdist_path).name, python, index))
        return wheels.metadata_text("dyn", "1.0", requires_dist=["built-dep"])

    monkeypatch.setattr(incrinstall.backends.backend, "sdist_metadata", fake_build)
    if kind == "dynamic":
        index.add_sdist("dyn", "1.0", requires_dist=["stale-dep"], dynamic=["Requires-Dist"])
    else:
        index.add_sdist("dyn", "1.0", requires_dist=["stale-dep"], metadata_version="2.1")
    c = client(index.url, build_python="/opt/target/python")
    md = c.metadata(c.versions("dyn")[0])
    assert md.requires_dist == ("built-dep",)
    assert calls == [("dyn-1.0.tar.gz", "/opt/target/python", c.config)]


def test_find_links_folder_and_page(tmp_path, index):
    folder = tmp_path / "wheelhouse"
    wheels.build_wheel(folder, "local", "1.0")
    wheels.build_sdist(folder, "local", "1.1")
    wheels.build_wheel(folder, "other", "1.0")
    (folder / "local-1.2.egg").write_bytes(b"eggs are not installable")
    (folder / "local-notaversion!.tar.gz").write_bytes(b"junk")
    (folder / "README.txt").write_text("not a dist")
    c = client(find_links=(str(folder),))
    versions = c.versions("local")
    assert [(str(v.version), v.best.kind) for v in versions] == [("1.1", "sdist"), ("1.0", "wheel")]
    assert versions[1].best.url == (folder / "local-1.0-py3-none-any.whl").resolve().as_uri()
    assert c.metadata(versions[1]).name == "local" and c.requests == 0

    # The same folder as a file:// URL, and a remote page of links, merged with an index.
    index.add_wheel("local", "2.0")
    c2 = client(index.url, find_links=(folder.as_uri(),))
    assert [str(v.version) for v in c2.versions("local")] == ["2.0", "1.1", "1.0"]
    page = client(find_links=(index.files_url,))
    (v2,) = page.versions("local")
    assert v2.best.hashes["sha256"] and v2.best.url == index.file_url("local-2.0-py3-none-any.whl")


def test_rebuilt_local_wheel_is_not_answered_from_stale_metadata(tmp_path):
    folder, cache = tmp_path / "wheelhouse", tmp_path / "cache"
    wheels.build_wheel(folder, "local", "1.0", requires_dist=["old"])
    first = client(find_links=(str(folder),), cache_dir=cache)
    assert first.metadata(first.versions("local")[0]).requires_dist == ("old",)
    time.sleep(0.01)
    wheels.build_wheel(folder, "local", "1.0", requires_dist=["new"])
    second = client(find_links=(str(folder),), cache_dir=cache)
    assert second.metadata(second.versions("local")[0]).requires_dist == ("new",)


def test_missing_find_links_folder_is_an_error(tmp_path):
    with pytest.raises(IndexUnavailable, match="does not exist"):
        client(find_links=(str(tmp_path / "nope"),)).versions("anything")


def test_second_client_revalidates_pages_and_reuses_cached_metadata(index, tmp_path):
    populate(index)
    cache = tmp_path / "cache"
    first = client(index.url, cache_dir=cache)
    first_versions = first.versions("alpha")
    first_md = [first.metadata(v) for v in first_versions]
    assert first.requests == 1 + len(first_versions) == len(server_log(index, first.requests))
    index.reset_log()

    second = client(index.url, cache_dir=cache)
    assert summary(second.versions("alpha")) == summary(first_versions)
    assert [second.metadata(v) for v in second.versions("alpha")] == first_md
    log = server_log(index, 1)
    assert [(r.path, r.status) for r in log] == [("/simple/alpha/", 304)]
    assert log[0].headers.get("if-none-match")
    assert second.requests == 1 and second.bytes_downloaded == 0


def test_changed_page_is_fetched_again_after_revalidation(index, tmp_path):
    index.add_wheel("grow", "1.0")
    cache = tmp_path / "cache"
    assert [str(v.version) for v in client(index.url, cache_dir=cache).versions("grow")] == ["1.0"]
    index.add_wheel("grow", "1.1")
    assert [str(v.version) for v in client(index.url, cache_dir=cache).versions("grow")] == ["1.1", "1.0"]
    assert [r.status for r in server_log(index, 2)] == [200, 200]


def test_offline_works_from_the_cache_alone(index, tmp_path):
    populate(index)
    cache = tmp_path / "cache"
    online = client(index.url, cache_dir=cache)
    expected = [(v.version, online.metadata(v)) for v in online.versions("alpha")]
    server_log(index, online.requests)
    index.reset_log()
    offline = client(index.url, cache_dir=cache, offline=True)
    assert [(v.version, offline.metadata(v)) for v in offline.versions("alpha")] == expected
    assert offline.requests == 0 and index.requests == []


def test_offline_cache_miss_is_a_clear_error(index, tmp_path):
    index.add_wheel("cold", "1.0")
    with pytest.raises(IndexUnavailable, match="not in the cache and --offline") as err:
        client(index.url, cache_dir=tmp_path / "empty", offline=True).versions("cold")
    assert index.project_url("cold") in err.value.message
    assert index.requests == []


def test_offline_metadata_not_cached_is_an_error(index_factory, tmp_path):
    idx = index_factory(serve_metadata=False)
    idx.add_wheel("half", "1.0")
    cache = tmp_path / "cache"
    client(idx.url, cache_dir=cache).versions("half")  # page cached, wheel never fetched
    offline = client(idx.url, cache_dir=cache, offline=True)
    with pytest.raises(IndexUnavailable, match="--offline"):
        offline.metadata(offline.versions("half")[0])
    assert offline.requests == 0


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_index_names_the_url_and_reason():
    url = f"http://127.0.0.1:{_closed_port()}/simple/"
    c = client(url)
    c.http.backoff = 0.01
    with pytest.raises(IndexUnavailable) as err:
        c.versions("anything")
    assert f"{url}anything/" in err.value.message
    assert "refused" in err.value.message.lower()
    assert c.requests == 0  # nothing ever left: the connection was refused


def test_prefetch_remembers_failures_for_versions_to_report():
    url = f"http://127.0.0.1:{_closed_port()}/simple/"
    c = client(url)
    c.http.backoff = 0.01
    c.prefetch(["one", "two"])  # warming up never raises
    start = time.monotonic()
    with pytest.raises(IndexUnavailable, match="cannot reach"):
        c.versions("two")
    assert time.monotonic() - start < 0.05  # the remembered error, no second round of retries


def test_proxy_from_the_environment_is_used_for_non_loopback_hosts():
    # conftest points http(s)_proxy at a dead port on 127.0.0.1; a host that does not even
    # resolve must fail by "connection refused" at that proxy, never by a DNS lookup.
    c = client("http://pypi.invalid/simple/")
    c.http.backoff = 0.01
    with pytest.raises(IndexUnavailable, match="(?i)refused"):
        c.versions("anything")


def test_server_errors_are_retried_then_reported(index):
    index.add_wheel("flaky", "1.0")
    index.fail("/simple/flaky/", 503, times=1)
    c = client(index.url)
    c.http.backoff = 0.01
    assert [str(v.version) for v in c.versions("flaky")] == ["1.0"]
    assert c.requests == 2 == len(server_log(index, 2))

    index.fail("/simple/down/", 500)
    c2 = client(index.url)
    c2.http.backoff = 0.01
    with pytest.raises(IndexUnavailable, match="HTTP 500"):
        c2.versions("down")
    assert c2.requests == 3  # one try and two retries


def test_request_counter_matches_the_server_log_exactly(index_factory):
    idx = index_factory(serve_metadata=False)
    populate(idx)
    idx.add_wheel("beta", "1.0")
    c = client(idx.url)
    c.prefetch(["alpha", "beta", "missing"])
    for name in ("alpha", "beta", "missing", "alpha"):
        for iv in c.versions(name):
            c.metadata(iv)
    c.http.get(idx.base_url + "simple")  # one redirect hop: two requests
    assert c.requests == len(server_log(idx, c.requests)) == 3 + 3 + 2
    assert c.bytes_downloaded == idx.bytes_sent


def test_hash_mismatch_of_a_download_is_refused(index_factory):
    # No ranges: the whole wheel is downloaded, so its hash is checked. (METADATA read by ranges is
    # not hash-checked, as in uv; the install step checks the wheel's hash with uv --require-hashes.)
    idx = index_factory(serve_metadata=False, ranges=False)
    idx.add_wheel("tamper", "1.0", requires_dist=["a"])
    c = client(idx.url)
    (iv,) = c.versions("tamper")
    idx.add_wheel("tamper", "1.0", requires_dist=["b"])  # same filename, other bytes
    with pytest.raises(IndexUnavailable, match="does not match its sha256 hash"):
        c.metadata(iv)


def test_metadata_file_with_a_wrong_hash_is_refused_and_not_kept(index, tmp_path):
    index.add_wheel("liar", "1.0", requires_dist=["a"])
    cache = tmp_path / "cache"
    c = client(index.url, cache_dir=cache)
    (iv,) = c.versions("liar")
    index.add_wheel("liar", "1.0", requires_dist=["b"])  # the page advertised the old metadata hash
    with pytest.raises(IndexUnavailable, match="does not match its sha256 hash"):
        c.metadata(iv)
    fresh = client(index.url, cache_dir=cache)
    assert fresh.metadata(fresh.versions("liar")[0]).requires_dist == ("b",)


def test_prefetch_fetches_pages_concurrently_over_reused_connections(index, monkeypatch):
    names = [f"pkg{i}" for i in range(8)]
    for name in names:
        index.add_wheel(name, "1.0")
    connects = []
    real_create = socket.create_connection

    def counting_create(*a, **kw):
        connects.append(a[0])
        return real_create(*a, **kw)

    monkeypatch.setattr(socket, "create_connection", counting_create)
    index.delay = 0.5  # one at a time, 8 pages would take at least 4 s
    c = client(index.url, max_workers=8)
    start = time.monotonic()
    c.prefetch(names)
    elapsed = time.monotonic() - start
    assert elapsed < 2.5, f"prefetch of 8 pages took {elapsed:.2f}s: not concurrent"
    assert c.requests == 8
    assert all(len(c.versions(n)) == 1 for n in names) and c.requests == 8  # memoized

    # Sequential requests from one thread share one kept-alive connection.
    index.delay = 0
    connects.clear()
    seq = client(index.url, max_workers=1)
    for name in names:
        seq.metadata(seq.versions(name)[0])
    assert seq.requests == 16 and len(connects) == 1


def test_file_index_urls_are_read_directly(tmp_path, index):
    index.add_wheel("onfile", "1.0")
    simple = tmp_path / "simple" / "onfile"
    simple.mkdir(parents=True)
    (simple / "index.html").write_bytes(index.render_project("onfile", index.files(), False))
    c = client((tmp_path / "simple").as_uri())
    (iv,) = c.versions("onfile")
    assert iv.version == Version("1.0") and c.versions("absent") == []
    assert c.requests == 0


def _self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls_trusts_the_ca_named_by_ssl_cert_file(tmp_path, index_factory, monkeypatch):
    index = index_factory(relative_urls=True)  # its absolute links would say http://
    index.add_wheel("secure", "1.0")
    cert, key = _self_signed_cert(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    index._server.socket = ctx.wrap_socket(index._server.socket, server_side=True)
    url = f"https://127.0.0.1:{index.port}/simple/"
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)

    # Like a corporate proxy's re-signed certificate: unknown to the system store...
    with pytest.raises(IndexUnavailable, match="certificate verif.*SSL_CERT_FILE"):
        client(url).versions("secure")
    # ...and trusted once SSL_CERT_FILE names it.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    c = client(url)
    assert [str(v.version) for v in c.versions("secure")] == ["1.0"]
    assert c.metadata(c.versions("secure")[0]).name == "secure"


@pytest.mark.parametrize("filename", [
    "pkg-1.0-py3-none-any.whl",
    "pkg-1.0-py2.py3-none-any.whl",
    "pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "pkg-1.0-CP312-CP312-MANYLINUX_2_17_X86_64.whl",
    "pkg-1.0-1-cp312-abi3-manylinux_2_28_x86_64.whl",
    "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "pkg-1.0-cp312-cp312-win_amd64.whl",
    "pkg-1.0-cp312-cp312-macosx_11_0_arm64.whl",
    "pkg-1.0-cp39.cp310.cp311.cp312-abi3-musllinux_1_2_x86_64.whl",
    "broken-name.whl",
])
def test_the_quick_tag_look_never_drops_a_wheel_the_full_parse_would_keep(tmp_path, filename):
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    tags = ["cp312-cp312-manylinux_2_17_x86_64", "cp312-abi3-manylinux_2_28_x86_64", "py3-none-any"]
    index = client(tags=tags, python="3.12.1", cache_dir=tmp_path)
    try:
        fits = any(str(tag) in tags for tag in parse_wheel_filename(filename)[3])
    except InvalidWheelFilename:
        fits = None  # the full parse refuses it: the quick look must let it through to that refusal
    quick = index._some_tag_fits(filename)
    assert quick == (fits if fits is not None else True), (filename, quick, fits)
