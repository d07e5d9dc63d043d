"""The test infrastructure works against real clients: uv and pip install from the loopback index."""

from __future__ import annotations

import base64
import csv
import hashlib
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest

from tests.support import real_wheels
from tests.support.index_server import JSON_V1, LoopbackIndex
from tests.support.loopback import LoopbackServer, Routes
from tests.support.real_wheels import ensure_real_wheels
from tests.support.venvs import find_python, installed, installed_files, pip_check, run_uv, uv_pip_install
from tests.support.wheels import build_sdist, build_wheel, metadata_text
from tests.support.paths import REPO_ROOT
from tests.support.world import World

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, accept: str | None = None, headers: dict[str, str] | None = None,
          follow: bool = True) -> tuple[int, dict[str, str], bytes]:
    """GET url; (status, headers, body) whatever the status."""
    req = urllib.request.Request(url, headers={**({"Accept": accept} if accept else {}), **(headers or {})})
    opener = urllib.request.build_opener(*([] if follow else [_NoRedirect]))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _metadata_of(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return BytesHeaderParser().parsebytes(zf.read(name))


# -- wheels.py -------------------------------------------------------------------------------


def test_built_wheel_has_spec_filename_and_record_matching_its_contents(tmp_path):
    whl = build_wheel(tmp_path, "My.Package", "1.0.0", files={"my_package/data.txt": "hello"})
    assert whl.name == "my_package-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(whl) as zf:
        names = set(zf.namelist())
        record = zf.read("my_package-1.0.0.dist-info/RECORD").decode()
        rows = list(csv.reader(io.StringIO(record)))
        assert {r[0] for r in rows} == names
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                assert digest == size == ""
                continue
            data = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}"
            assert int(size) == len(data)
        wheel_txt = zf.read("my_package-1.0.0.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: true" in wheel_txt and "Tag: py3-none-any" in wheel_txt


def test_extra_requirements_combine_existing_marker_with_extra_marker(tmp_path):
    whl = build_wheel(tmp_path, "pkg", "1", requires_dist=["a>=1"], requires_python=">=3.8",
                      extras={"fast": ["b; sys_platform == 'linux' or sys_platform == 'darwin'", "c"]})
    meta = _metadata_of(whl)
    assert meta["Requires-Python"] == ">=3.8"
    assert meta.get_all("Provides-Extra") == ["fast"]
    reqs = meta.get_all("Requires-Dist")
    assert reqs[0] == "a>=1"
    assert reqs[1] == 'b; (sys_platform == "linux" or sys_platform == "darwin") and extra == "fast"'
    assert reqs[2] == 'c; extra == "fast"'
    from packaging.requirements import Requirement
    marker = Requirement(reqs[1]).marker
    assert not marker.evaluate({"extra": "", "sys_platform": "linux"})
    assert marker.evaluate({"extra": "fast", "sys_platform": "linux"})
    assert not marker.evaluate({"extra": "fast", "sys_platform": "win32"})


def test_platform_tag_names_the_file_and_makes_a_platlib_wheel(tmp_path):
    whl = build_wheel(tmp_path, "native", "2.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    assert whl.name == "native-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(whl) as zf:
        wheel_txt = zf.read("native-2.0.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: false" in wheel_txt
    assert "Tag: cp311-cp311-manylinux2014_x86_64" in wheel_txt
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64" in wheel_txt


def test_same_inputs_build_byte_identical_dists(tmp_path):
    a = build_wheel(tmp_path / "a", "pkg", "1", requires_dist=["x"])
    b = build_wheel(tmp_path / "b", "pkg", "1", requires_dist=["x"])
    assert a.read_bytes() == b.read_bytes()
    c = build_sdist(tmp_path / "a", "pkg", "1")
    d = build_sdist(tmp_path / "b", "pkg", "1")
    assert c.read_bytes() == d.read_bytes()


def test_sdist_has_pkg_info_with_dynamic_fields_and_static_pyproject(tmp_path):
    sd = build_sdist(tmp_path, "Some_Pkg", "0.3", requires_dist=["a"], requires_python=">=3.9",
                     extras={"x": ["b"]}, dynamic=["Requires-Dist"])
    assert sd.name == "some_pkg-0.3.tar.gz"
    with tarfile.open(sd) as tf:
        names = tf.getnames()
        pkg_info = tf.extractfile("some_pkg-0.3/PKG-INFO").read()
        pyproject = tf.extractfile("some_pkg-0.3/pyproject.toml").read().decode()
    assert "some_pkg-0.3/some_pkg/__init__.py" in names
    meta = BytesHeaderParser().parsebytes(pkg_info)
    assert meta["Metadata-Version"] == "2.2"
    assert meta.get_all("Dynamic") == ["Requires-Dist"]
    assert meta.get_all("Requires-Dist") == ["a", 'b; extra == "x"']
    assert 'requires = ["hatchling"]' in pyproject and 'build-backend = "hatchling.build"' in pyproject
    assert 'dependencies = ["a"]' in pyproject and '"x" = ["b"]' in pyproject
    assert 'requires-python = ">=3.9"' in pyproject


# -- index_server.py: protocol ---------------------------------------------------------------


def test_json_requested_by_accept_header_gets_pep691_json(index):
    whl = index.add_wheel("demo", "1.0", requires_python=">=3.8")
    status, headers, body = fetch(index.project_url("demo"), accept=JSON_ACCEPT)
    assert status == 200
    assert headers["Content-Type"] == JSON_V1
    data = json.loads(body)
    assert data["meta"]["api-version"].startswith("1.")
    assert data["name"] == "demo"
    (f,) = data["files"]
    assert f["filename"] == whl.name
    assert f["hashes"]["sha256"] == hashlib.sha256(whl.read_bytes()).hexdigest()
    assert f["requires-python"] == ">=3.8"
    assert f["yanked"] is False
    assert f["size"] == whl.stat().st_size
    assert fetch(f["url"])[2] == whl.read_bytes()


def test_html_served_without_json_accept_and_when_json_is_disabled(index, index_factory):
    whl = index.add_wheel("demo", "1.0", requires_python=">=3.8,<4")
    status, headers, body = fetch(index.project_url("demo"))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    text = body.decode()
    sha = hashlib.sha256(whl.read_bytes()).hexdigest()
    assert f'{whl.name}#sha256={sha}"' in text
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in text

    html_only = index_factory(json=False)
    html_only.add_wheel("demo", "1.0")
    status, headers, body = fetch(html_only.project_url("demo"), accept=JSON_ACCEPT)
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+html"
    assert body.lstrip().startswith(b"<!DOCTYPE html>")


def test_project_list_names_every_project_normalized(index):
    index.add_wheel("Foo.Bar", "1")
    index.add_sdist("baz_qux", "2")
    _, _, body = fetch(index.url, accept=JSON_ACCEPT)
    assert [p["name"] for p in json.loads(body)["projects"]] == ["baz-qux", "foo-bar"]
    _, _, html_body = fetch(index.url)
    assert 'href="foo-bar/"' in html_body.decode() and 'href="baz-qux/"' in html_body.decode()


def test_pep658_metadata_file_is_served_and_matches_advertised_hash(index):
    whl = index.add_wheel("demo", "1.0", requires_dist=["dep>=2"])
    _, _, body = fetch(index.project_url("demo"), accept=JSON_ACCEPT)
    (f,) = json.loads(body)["files"]
    status, _, metadata = fetch(f["url"] + ".metadata")
    assert status == 200
    assert metadata == metadata_text("demo", "1.0", requires_dist=["dep>=2"]).encode()
    assert f["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert f["dist-info-metadata"] == f["core-metadata"]
    _, _, page = fetch(index.project_url("demo"))
    digest = hashlib.sha256(metadata).hexdigest()
    assert f'data-core-metadata="sha256={digest}"' in page.decode()
    assert f'data-dist-info-metadata="sha256={digest}"' in page.decode()
    assert whl.exists()


def test_metadata_files_can_be_switched_off_and_uv_falls_back_to_the_wheel(index_factory, venv_factory):
    idx = index_factory(serve_metadata=False)
    idx.add_wheel("demo", "1.0", requires_dist=["dep"])
    idx.add_wheel("dep", "1.0")
    _, _, body = fetch(idx.project_url("demo"), accept=JSON_ACCEPT)
    (f,) = json.loads(body)["files"]
    assert f["core-metadata"] is False
    assert "data-core-metadata" not in fetch(idx.project_url("demo"))[2].decode()
    assert fetch(f["url"] + ".metadata")[0] == 404
    idx.reset_log()
    py = venv_factory()
    uv_pip_install(py, "demo", index_url=idx.url)
    assert installed(py) == {"demo": "1.0", "dep": "1.0"}
    assert idx.count("/files/", method="GET") >= 2
    assert not any(path.endswith(".metadata") for _, path in idx.requests)


def test_sdist_requires_python_comes_from_pkg_info(index):
    index.add_sdist("demo", "1.0", requires_python=">=3.11")
    _, _, body = fetch(index.project_url("demo"), accept=JSON_ACCEPT)
    (f,) = json.loads(body)["files"]
    assert f["requires-python"] == ">=3.11"
    assert f["core-metadata"] is False  # PEP 658 files are served for wheels only


def test_yanked_file_is_marked_in_json_and_html_and_skipped_by_uv(index, venv_factory):
    index.add_wheel("demo", "1.0")
    bad = index.add_wheel("demo", "2.0")
    index.yank(bad.name, reason="broken build")
    index.add_wheel("other", "1.0")
    index.yank("other-1.0-py3-none-any.whl")
    files = {f["filename"]: f for f in json.loads(fetch(index.project_url("demo"), accept=JSON_ACCEPT)[2])["files"]}
    assert files[bad.name]["yanked"] == "broken build"
    assert files["demo-1.0-py3-none-any.whl"]["yanked"] is False
    other = json.loads(fetch(index.project_url("other"), accept=JSON_ACCEPT)[2])["files"][0]
    assert other["yanked"] is True
    page = fetch(index.project_url("demo"))[2].decode()
    assert f'>{bad.name}<' in page and 'data-yanked="broken build"' in page
    assert 'data-yanked=""' in fetch(index.project_url("other"))[2].decode()
    py = venv_factory()
    uv_pip_install(py, "demo", index_url=index.url)
    assert installed(py) == {"demo": "1.0"}


def test_non_normalized_project_url_redirects_permanently(index, venv_factory):
    index.add_wheel("Foo.Bar", "1.0")
    status, headers, _ = fetch(index.url + "Foo_Bar/", follow=False)
    assert status == 301 and headers["Location"] == "/simple/foo-bar/"
    status, headers, _ = fetch(index.url + "foo-bar", follow=False)
    assert status == 301 and headers["Location"] == "/simple/foo-bar/"
    assert fetch(index.url + "FOO.bar/")[0] == 200
    assert fetch(index.url + "nope/")[0] == 404
    py = venv_factory()
    uv_pip_install(py, "Foo_Bar==1.0", index_url=index.url)
    assert installed(py) == {"foo-bar": "1.0"}


def test_etag_revalidation_answers_304_until_the_page_changes(index):
    index.add_wheel("demo", "1.0")
    url = index.project_url("demo")
    status, headers, body = fetch(url, accept=JSON_ACCEPT)
    etag = headers["ETag"]
    assert status == 200 and headers["Cache-Control"] == "max-age=0"
    assert fetch(url, accept=JSON_ACCEPT, headers={"If-None-Match": etag})[:1] == (304,)
    index.reset_log()
    index.add_wheel("demo", "1.1")  # visible at once: pages are built per request
    status, headers, body = fetch(url, accept=JSON_ACCEPT, headers={"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    assert [f["filename"] for f in json.loads(body)["files"]] == [
        "demo-1.0-py3-none-any.whl", "demo-1.1-py3-none-any.whl"]
    assert index.request_log[0].headers["if-none-match"] == etag
    assert index.request_log[0].status == 200


def test_request_log_counts_requests_and_bytes_in_order(index):
    whl = index.add_wheel("demo", "1.0")
    fetch(index.project_url("demo"))
    fetch(index.file_url(whl.name))
    fetch(index.url + "missing/")
    assert index.requests == [("GET", "/simple/demo/"), ("GET", f"/files/{whl.name}"), ("GET", "/simple/missing/")]
    assert index.count() == 3
    assert index.count("/simple/") == 2
    assert index.count("/files/") == 1
    assert index.bytes_sent > whl.stat().st_size
    index.reset_log()
    assert index.count() == 0 and index.bytes_sent == 0


def test_injected_failures_make_uv_fail_then_recover(index, venv_factory):
    index.add_wheel("demo", "1.0")
    index.fail("/simple/", status=500)
    py = venv_factory()
    proc = uv_pip_install(py, "demo", index_url=index.url, check=False, env={"UV_HTTP_RETRIES": "0"})
    assert proc.returncode != 0
    assert index.count("/simple/demo/") >= 1
    index.clear_failures()
    uv_pip_install(py, "demo", index_url=index.url)
    assert installed(py) == {"demo": "1.0"}


# -- real clients -----------------------------------------------------------------------------


def test_wheels_with_dependencies_extras_and_markers_install_with_uv(index, venv_factory):
    index.add_wheel("app", "1.0", requires_dist=["lib>=2", "never; python_version < '3'"],
                    extras={"extra1": ["plugin; python_version >= '3'"]})
    index.add_wheel("lib", "1.0")
    index.add_wheel("lib", "2.5", requires_python=">=3.8")
    index.add_wheel("lib", "3.0", requires_python=">=3.99")  # too new for any interpreter here
    index.add_wheel("plugin", "0.1")
    py = venv_factory()
    uv_pip_install(py, "app[extra1]", index_url=index.url)
    assert installed(py) == {"app": "1.0", "lib": "2.5", "plugin": "0.1"}
    ok, output = pip_check(py)
    assert ok, output
    out = subprocess.run([str(py), "-c", "import app, lib; print(app.__version__, lib.__version__)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1.0", "2.5"]
    assert "app/__init__.py" in installed_files(py, "app")


def test_relative_file_urls_and_find_links_page_work_with_uv(index_factory, venv_factory):
    idx = index_factory(relative_urls=True)
    idx.add_wheel("demo", "1.0")
    _, _, body = fetch(idx.project_url("demo"), accept=JSON_ACCEPT)
    assert json.loads(body)["files"][0]["url"] == "../../files/demo-1.0-py3-none-any.whl"
    py = venv_factory()
    uv_pip_install(py, "demo", index_url=idx.url)
    assert installed(py) == {"demo": "1.0"}
    py2 = venv_factory()
    uv_pip_install(py2, "--no-index", "--find-links", idx.files_url, "demo")
    assert installed(py2) == {"demo": "1.0"}


@pytest.mark.inconsistent_env_ok("breaks a requirement on purpose to prove pip_check reports it")
def test_pip_check_reports_an_unsatisfied_requirement(index, venv_factory):
    index.add_wheel("app", "1.0", requires_dist=["lib>=2"])
    index.add_wheel("lib", "2.0")
    index.add_wheel("lib", "1.0")
    py = venv_factory()
    uv_pip_install(py, "app", index_url=index.url)
    assert pip_check(py)[0]
    uv_pip_install(py, "--no-deps", "lib==1.0", index_url=index.url)
    ok, output = pip_check(py)
    assert not ok and "lib" in output


def test_built_wheel_installs_with_pip(index, tmp_path, venv_factory):
    index.add_wheel("demo", "1.0", requires_dist=["dep"])
    index.add_wheel("dep", "3.0")
    py = venv_factory()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--isolated", "--no-cache-dir",
         "--index-url", index.url, "demo"],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(py) == {"demo": "1.0", "dep": "3.0"}


@pytest.mark.slow
def test_venvs_for_other_pythons_see_their_own_markers(index, venv_factory):
    py312 = find_python("3.12")
    if py312 is None:
        pytest.skip("no Python 3.12 on this machine")
    index.add_wheel("app", "1.0", requires_dist=["new; python_version >= '3.12'", "old; python_version < '3.12'"])
    index.add_wheel("new", "1")
    index.add_wheel("old", "1")
    py = venv_factory("v312", py312)
    uv_pip_install(py, "app", index_url=index.url)
    assert installed(py) == {"app": "1.0", "new": "1"}


def test_find_python_matches_whole_version_components():
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = find_python(here)
    assert found is not None
    out = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == str(sys.version_info[:2])
    loose = find_python("3.1")  # must never pick 3.10-3.13 for "3.1"
    assert loose is None or "python3.1" in loose or "/3.1." in loose
    assert find_python("9.9") is None


# -- real wheels + sdist builds ---------------------------------------------------------------


def test_real_wheels_cache_is_complete_for_every_supported_python(real_wheels_dir):
    names = {p.name.split("-")[0] for p in real_wheels_dir.glob("*.whl")}
    assert {"hatchling", "packaging", "pathspec", "pluggy", "trove_classifiers", "tomli"} <= names
    for version in real_wheels.PYTHON_VERSIONS:
        assert real_wheels.missing_requirements(real_wheels_dir, version) == []


def test_second_ensure_real_wheels_call_uses_no_network(real_wheels_dir, monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError("ensure_real_wheels ran a subprocess although the cache is complete")

    monkeypatch.setattr(real_wheels.subprocess, "run", no_subprocess)
    assert ensure_real_wheels(real_wheels_dir) == real_wheels_dir


def test_failed_download_says_how_to_run_the_setup_step(tmp_path, monkeypatch):
    monkeypatch.setenv("INCRINSTALL_TEST_WHEELS_INDEX", "http://127.0.0.1:9/simple/")
    monkeypatch.setattr(real_wheels, "PIP_RETRIES", 0)
    with pytest.raises(real_wheels.RealWheelsUnavailable, match="python -m tests.support.real_wheels"):
        ensure_real_wheels(tmp_path / "empty")


def test_sdist_builds_with_hatchling_from_the_real_wheels_index(tmp_path, real_wheels_index, venv_factory,
                                                                monkeypatch):
    sdist = build_sdist(tmp_path / "dists", "built-pkg", "0.5", requires_python=">=3.8")
    monkeypatch.setenv("UV_INDEX_URL", real_wheels_index.url)
    py = venv_factory()
    run_uv(["pip", "install", "--python", str(py), str(sdist)])
    assert installed(py) == {"built-pkg": "0.5"}
    out = subprocess.run([str(py), "-c", "import built_pkg; print(built_pkg.__version__)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0.5"
    assert real_wheels_index.count("/simple/hatchling/") >= 1


def test_index_served_sdist_builds_with_dependencies_from_both_indexes(index, real_wheels_index, venv_factory):
    index.add_sdist("app", "1.0", requires_dist=["stale-dep"], dynamic=["Requires-Dist"],
                    built_requires_dist=["lib"])
    index.add_wheel("lib", "1.0")
    py = venv_factory()
    uv_pip_install(py, "app", "--extra-index-url", real_wheels_index.url, index_url=index.url)
    # the wheel built from the sdist decides the dependencies, not the PKG-INFO marked Dynamic
    assert installed(py) == {"app": "1.0", "lib": "1.0"}


def test_index_server_module_serves_a_folder_until_killed(tmp_path):
    build_wheel(tmp_path, "demo", "1.0")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.index_server", str(tmp_path)],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/simple/")
        status, _, body = fetch(url + "demo/", accept=JSON_ACCEPT)
        assert status == 200 and json.loads(body)["files"][0]["filename"] == "demo-1.0-py3-none-any.whl"
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0


def test_index_started_as_context_manager_stops_listening(tmp_path):
    with LoopbackIndex(tmp_path) as idx:
        url = idx.url
        assert fetch(url)[0] == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)


def test_stopping_the_index_cuts_open_keep_alive_connections(tmp_path):
    idx = LoopbackIndex(tmp_path).start()
    conn = http.client.HTTPConnection("127.0.0.1", idx.port, timeout=5)
    conn.request("GET", "/simple/")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200 and resp.getheader("Connection") != "close"
    idx.stop()
    with pytest.raises((OSError, http.client.HTTPException)):
        conn.request("GET", "/simple/")
        conn.getresponse().read()
    conn.close()


# -- loopback.py: the server base --------------------------------------------------------------------


def test_routes_answer_their_paths_after_the_delay_and_404_elsewhere():
    with Routes(delay=0.3) as server:
        url = server.serve("/a.tar.gz", b"archive", headers={"X-Kind": "tar"})
        started = time.monotonic()
        status, headers, body = fetch(url)
        assert time.monotonic() - started >= 0.3
        assert (status, headers["X-Kind"], headers["Content-Length"], body) == (200, "tar", "7", b"archive")
        assert fetch(server.origin + "/other")[0] == 404
        head = urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5)
        assert head.headers["Content-Length"] == "7" and head.read() == b""  # HEAD: the headers, no body
        assert server.requests == ["/a.tar.gz", "/other", "/a.tar.gz"]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)  # stopped with its `with`


def test_a_reply_announcing_more_than_it_sends_is_a_cut_answer():
    class Cut(LoopbackServer):
        def answer(self, request, head):
            self.reply(request, 200, {}, b"half", length=8)
            request.close_connection = True

    with Cut() as server:
        with pytest.raises(http.client.IncompleteRead):
            urllib.request.urlopen(server.origin + "/", timeout=5).read()


def test_world_on_another_venv_keeps_the_trees_and_indexes(tmp_path, index):
    world = World(tmp_path, index, tmp_path / "one" / "bin" / "python", extra_index="http://127.0.0.1:9/simple/")
    other = world.on(tmp_path / "two" / "bin" / "python")
    assert (other.main, other.work, other.index_args) == (world.main, world.work, world.index_args)
    assert other.prefix == tmp_path / "two" and other.state_dir == tmp_path / "two" / ".incrinstall"
    assert world.prefix == tmp_path / "one"  # the first is unchanged
    assert other.argv("sync", "x")[-6:] == ["--python", tmp_path / "two" / "bin" / "python", *world.index_args]
