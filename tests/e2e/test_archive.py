"""incrinstall.archive: fetching (file, file://, loopback http/https), sha256 checks and safe unpacking."""

from __future__ import annotations

import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from incrinstall.archive import open_archive, unpacked
from incrinstall.cli import render_error
from incrinstall.common.errors import ArchiveError
from tests.support.archives import Entry, tar_file, tar_folder, tar_link, tar_special, write_tar, write_zip
from tests.support.loopback import Routes
from tests.support.tls import make_ca, server_context

PYPROJECT = b'[project]\nname = "demo"\nversion = "1.0"\ndependencies = ["attrs"]\n'


# -- building archives -------------------------------------------------------------------------------------------


def project_entries(top: str = "demo-main/") -> list[Entry]:
    script = b"#!/bin/sh\necho hi\n"
    entries = [
        tar_file(f"{top}pyproject.toml", PYPROJECT),
        tar_file(f"{top}src/demo/__init__.py", b"X = 1\n"),
        tar_file(f"{top}bin/run", script, mode=0o755),
    ]
    return ([tar_folder(top.rstrip("/") or ".")] if top else []) + entries


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # this machine's proxy settings must not reroute loopback downloads
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


@pytest.fixture
def dest(tmp_path) -> Path:
    """Where open_archive makes its temporary folder; tests check it is empty after a refusal."""
    d = tmp_path / "dest"
    d.mkdir()
    return d


# -- a loopback server --------------------------------------------------------------------------------------------


@pytest.fixture
def server():
    with Routes() as srv:
        yield srv


# -- formats and top-level folder -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, mode", [
    (".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz"),
])  # fmt: skip
def test_tar_formats_unpack_with_top_folder_stripped(tmp_path, dest, suffix, mode):
    path = write_tar(tmp_path / f"demo{suffix}", project_entries(), mode)
    result = open_archive(str(path), dest_parent=dest)
    try:
        assert result.root.name == "demo-main"
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT
        assert (result.root / "src/demo/__init__.py").read_text() == "X = 1\n"
        assert os.access(result.root / "bin/run", os.X_OK)
        assert not os.access(result.root / "pyproject.toml", os.X_OK)
        assert result.sha256 == sha256_of(path)
        assert result.source == str(path.resolve())
        assert result.workdir is not None and result.workdir.parent == dest
        assert result.root.is_relative_to(result.workdir)
    finally:
        result.cleanup()
    assert not result.workdir.exists()
    assert path.exists()  # the user's archive file is left alone


def test_zip_unpacks_with_top_folder_stripped(tmp_path, dest):
    path = write_zip(tmp_path / "demo.zip", {"demo-main/pyproject.toml": PYPROJECT, "demo-main/src/demo/__init__.py": b""})
    with unpacked(str(path), dest_parent=dest) as result:
        assert result.root.name == "demo-main"
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT
        assert result.sha256 == sha256_of(path)
    assert list(dest.iterdir()) == []


def test_tar_without_directory_entries_still_strips_single_top_folder(tmp_path, dest):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries()[1:], "w:gz")
    with unpacked(str(path), dest_parent=dest) as result:
        assert result.root.name == "demo-main"
        assert (result.root / "pyproject.toml").exists()


def test_several_top_level_entries_keep_the_unpack_folder_as_root(tmp_path, dest):
    path = write_tar(tmp_path / "flat.tar.gz", project_entries(top=""), "w:gz")
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT
        assert sorted(p.name for p in result.root.iterdir()) == ["bin", "pyproject.toml", "src"]


def test_dot_slash_prefixed_members_unpack_into_the_root(tmp_path, dest):
    path = write_tar(tmp_path / "dot.tar.gz", project_entries(top="./"), "w:gz")
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT


def test_single_top_level_file_is_not_stripped(tmp_path, dest):
    path = write_zip(tmp_path / "one.zip", {"pyproject.toml": PYPROJECT})
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT


def test_links_inside_the_tree_are_kept(tmp_path, dest):
    link = tar_link("demo-main/docs/README.md", "../pyproject.toml")
    hard = tar_link("demo-main/copy.toml", "demo-main/pyproject.toml", tarfile.LNKTYPE)
    path = write_tar(tmp_path / "links.tar.gz", project_entries() + [link, hard], "w:gz")
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "docs/README.md").is_symlink()
        assert (result.root / "docs/README.md").read_bytes() == PYPROJECT
        assert (result.root / "copy.toml").read_bytes() == PYPROJECT


def test_zip_symlink_inside_the_tree_is_kept(tmp_path, dest):
    path = write_zip(tmp_path / "l.zip", {"p/pyproject.toml": PYPROJECT}, symlinks={"p/alias.toml": "pyproject.toml"})
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "alias.toml").is_symlink()
        assert (result.root / "alias.toml").read_bytes() == PYPROJECT


def test_extension_is_not_needed_when_content_is_recognised(tmp_path, dest):
    path = write_tar(tmp_path / "main", project_entries(), "w:gz")  # like codeload.github.com/.../tar.gz/main
    with unpacked(str(path), dest_parent=dest) as result:
        assert (result.root / "pyproject.toml").exists()


# -- directories and file:// ------------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_directory_is_used_in_place_and_never_written_or_deleted(tmp_path, dest):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_bytes(PYPROJECT)
    before = _snapshot(project)
    with unpacked(str(project), dest_parent=dest) as result:
        assert result.root == project.resolve()
        assert result.workdir is None
        assert result.sha256 is None
        assert result.source == str(project.resolve())
    assert _snapshot(project) == before
    assert list(dest.iterdir()) == []


def test_directory_with_sha256_is_refused(tmp_path):
    (tmp_path / "project").mkdir()
    with pytest.raises(ArchiveError, match="cannot verify a directory"):
        open_archive(str(tmp_path / "project"), sha256="0" * 64)


def test_file_url_is_read_like_a_local_file(tmp_path, dest):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    with unpacked(path.as_uri(), dest_parent=dest, sha256=sha256_of(path)) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT
        assert result.sha256 == sha256_of(path)


def test_file_url_to_a_directory_uses_it_in_place(tmp_path):
    (tmp_path / "project").mkdir()
    result = open_archive((tmp_path / "project").as_uri())
    assert result.root == (tmp_path / "project").resolve() and result.workdir is None


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(ArchiveError, match="no such archive file or directory"):
        open_archive(str(tmp_path / "nope.tar.gz"))


# -- sha256 -----------------------------------------------------------------------------------------------------


def test_good_sha256_accepts_in_any_case_and_with_prefix(tmp_path, dest):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    with unpacked(str(path), dest_parent=dest, sha256="sha256:" + sha256_of(path).upper()) as result:
        assert result.sha256 == sha256_of(path)


def test_bad_sha256_refuses_before_unpacking_and_shows_both_digests(tmp_path, dest):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    wrong = "ab" * 32
    with pytest.raises(ArchiveError) as caught:
        open_archive(str(path), dest_parent=dest, sha256=wrong)
    rendered = render_error(caught.value)
    assert "sha256 mismatch" in rendered
    assert wrong in rendered and sha256_of(path) in rendered
    assert list(dest.iterdir()) == []


def test_malformed_sha256_is_an_error(tmp_path):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    with pytest.raises(ArchiveError, match="64 hexadecimal digits"):
        open_archive(str(path), sha256="abc")


# -- http on loopback -------------------------------------------------------------------------------------------


def test_http_download_needs_allow_insecure_http(tmp_path, dest, server):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    url = server.serve("/archive/main.tar.gz", path.read_bytes())
    with pytest.raises(ArchiveError, match="--allow-insecure-http"):
        open_archive(url, dest_parent=dest)
    assert server.requests == []  # refused before any connection
    assert list(dest.iterdir()) == []


def test_http_download_with_good_sha256_unpacks(tmp_path, dest, server):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    url = server.serve("/archive/main.tar.gz", path.read_bytes())
    with unpacked(url, dest_parent=dest, allow_insecure_http=True, sha256=sha256_of(path), progress=False) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT
        assert result.sha256 == sha256_of(path)
        assert result.source == url
        # only the tree remains: no partial download, no archive copy
        assert [p.name for p in result.workdir.iterdir()] == ["tree"]
    assert server.requests == ["/archive/main.tar.gz"]
    assert list(dest.iterdir()) == []


def test_http_download_with_bad_sha256_is_refused_and_cleaned_up(tmp_path, dest, server):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    url = server.serve("/main.tar.gz", path.read_bytes())
    with pytest.raises(ArchiveError) as caught:
        open_archive(url, dest_parent=dest, allow_insecure_http=True, sha256="0" * 64)
    assert sha256_of(path) in render_error(caught.value) and "0" * 64 in render_error(caught.value)
    assert caught.value.where == url
    assert list(dest.iterdir()) == []


def test_http_error_status_is_reported(dest, server):
    with pytest.raises(ArchiveError, match="HTTP 404") as caught:
        open_archive(server.origin + "/missing.tar.gz", dest_parent=dest, allow_insecure_http=True)
    assert caught.value.where == server.origin + "/missing.tar.gz"
    assert list(dest.iterdir()) == []


def test_non_200_success_status_is_refused(dest, server):
    url = server.serve("/partial.tar.gz", b"", status=204)
    with pytest.raises(ArchiveError, match="HTTP 204"):
        open_archive(url, dest_parent=dest, allow_insecure_http=True)


def test_redirect_is_followed(tmp_path, dest, server):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    server.serve("/codeload/p.zip", path.read_bytes())
    url = server.serve("/archive/main.zip", b"", status=302, headers={"Location": server.origin + "/codeload/p.zip"})
    with unpacked(url, dest_parent=dest, allow_insecure_http=True) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT


def test_unreachable_server_names_url_and_reason(dest):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.tar.gz"
    with pytest.raises(ArchiveError, match="cannot download") as caught:
        open_archive(url, dest_parent=dest, allow_insecure_http=True)
    assert caught.value.where == url and "refused" in caught.value.message.lower()
    assert list(dest.iterdir()) == []


def test_download_larger_than_limit_is_refused(tmp_path, dest, server):
    path = write_tar(tmp_path / "demo.tar", project_entries(), "w")
    url = server.serve("/demo.tar", path.read_bytes())
    with pytest.raises(ArchiveError, match="above the limit"):
        open_archive(url, dest_parent=dest, allow_insecure_http=True, max_size=1000)
    assert list(dest.iterdir()) == []


def test_credentials_in_url_are_refused_and_not_shown(dest):
    with pytest.raises(ArchiveError, match="credentials") as caught:
        open_archive("https://user:s3cret@127.0.0.1:1/x.tar.gz", dest_parent=dest)
    assert "s3cret" not in render_error(caught.value)


def test_unsupported_scheme_is_an_error():
    with pytest.raises(ArchiveError, match="unsupported URL scheme 'ftp'"):
        open_archive("ftp://127.0.0.1/x.tar.gz")


def test_progress_is_one_updating_line_when_asked(tmp_path, dest, server, capsys):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    url = server.serve("/p.zip", path.read_bytes())
    with unpacked(url, dest_parent=dest, allow_insecure_http=True, progress=True):
        pass
    err = capsys.readouterr().err
    assert err.startswith("\rdownloading p.zip:") and err.endswith("(100%)\n")
    assert err.count("\n") == 1


def test_no_progress_output_when_stderr_is_not_a_tty(tmp_path, dest, server, capsys):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    url = server.serve("/p.zip", path.read_bytes())
    with unpacked(url, dest_parent=dest, allow_insecure_http=True):
        pass
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# -- https on loopback with our own CA --------------------------------------------------------------------------


@pytest.fixture
def tls_files(tmp_path):
    """A throwaway CA and a certificate for 127.0.0.1 signed by it (needs the openssl command)."""
    return make_ca(tmp_path / "tls")


@pytest.fixture
def tls_server(tls_files):
    with Routes(tls=server_context(tls_files)) as srv:
        yield srv


def test_https_download_trusts_ssl_cert_file(tmp_path, dest, tls_files, tls_server, monkeypatch):
    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    url = tls_server.serve("/main.tar.gz", path.read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files / "ca.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with unpacked(url, dest_parent=dest, sha256=sha256_of(path)) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT


def test_https_download_refuses_an_untrusted_certificate(tmp_path, dest, tls_files, tls_server, monkeypatch):
    url = tls_server.serve("/main.tar.gz", b"whatever")
    # trust a CA that did not sign the server's certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files / "server.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ArchiveError, match="CERTIFICATE_VERIFY_FAILED"):
        open_archive(url, dest_parent=dest)
    assert tls_server.requests == []
    assert list(dest.iterdir()) == []


def test_https_redirect_to_plain_http_is_refused(tmp_path, dest, tls_files, tls_server, server, monkeypatch):
    path = write_zip(tmp_path / "p.zip", {"p/pyproject.toml": PYPROJECT})
    plain = server.serve("/p.zip", path.read_bytes())
    url = tls_server.serve("/main.zip", b"", status=302, headers={"Location": plain})
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files / "ca.pem"))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ArchiveError, match="redirect to plain http"):
        open_archive(url, dest_parent=dest)
    assert server.requests == []
    with unpacked(url, dest_parent=dest, allow_insecure_http=True) as result:
        assert (result.root / "pyproject.toml").read_bytes() == PYPROJECT


def test_unreadable_ssl_cert_file_is_an_error(dest, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ArchiveError, match="cannot load TLS certificates"):
        open_archive("https://127.0.0.1:1/x.tar.gz", dest_parent=dest)
    assert list(dest.iterdir()) == []


# -- refusals ---------------------------------------------------------------------------------------------------


REFUSED_TARS = {
    "absolute path": ([tar_file("/tmp/evil.txt", b"x")], "/tmp/evil.txt", "absolute path"),
    "dotdot": ([tar_file("demo/../../evil.txt", b"x")], "demo/../../evil.txt", "'..'"),
    "symlink escaping": ([tar_link("demo/etc", "../../etc")], "demo/etc", "outside"),
    "symlink absolute": ([tar_link("demo/passwd", "/etc/passwd")], "demo/passwd", "absolute"),
    "hardlink escaping": ([tar_link("demo/h", "../outside.txt", tarfile.LNKTYPE)], "demo/h", "outside"),
    "hardlink absolute": ([tar_link("demo/h", "/etc/passwd", tarfile.LNKTYPE)], "demo/h", "outside"),
    "hardlink to unknown member": ([tar_link("demo/h", "demo/nothing", tarfile.LNKTYPE)], "demo/h", "not an earlier"),
    "character device": ([tar_special("demo/tty", tarfile.CHRTYPE)], "demo/tty", "character device"),
    "block device": ([tar_special("demo/sda", tarfile.BLKTYPE)], "demo/sda", "block device"),
    "fifo": ([tar_special("demo/pipe", tarfile.FIFOTYPE)], "demo/pipe", "fifo"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_TARS))
def test_dangerous_tar_member_is_refused_and_nothing_is_left(tmp_path, dest, case):
    bad, member, reason = REFUSED_TARS[case]
    # good members first, so a refusal mid-way would leave files if cleanup were missing
    path = write_tar(tmp_path / "bad.tar.gz", project_entries("demo/") + bad, "w:gz")
    with pytest.raises(ArchiveError) as caught:
        open_archive(str(path), dest_parent=dest)
    assert repr(member) in caught.value.message
    assert reason in caught.value.message
    assert caught.value.where == str(path.resolve())
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("order", ["link first", "link last"])
def test_symlink_escaping_through_another_symlink_is_refused(tmp_path, dest, order):
    # each target looks inside on its own; together demo/x resolves to the parent of the tree
    pair = [tar_link("demo/y", "."), tar_link("demo/x", "y/../..")]
    if order == "link first":
        pair.reverse()
    path = write_tar(tmp_path / "chain.tar", project_entries("demo/") + pair, "w")
    with pytest.raises(ArchiveError, match="outside"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_member_written_through_an_escaping_symlink_is_refused(tmp_path, dest):
    # through demo/y -> "." twice, demo/x really is the folder holding the temporary folder: `dest`
    pair = [tar_link("demo/x", "y/y/../../.."), tar_link("demo/y", "."), tar_file("demo/x/evil.txt", b"x")]
    path = write_tar(tmp_path / "through.tar", project_entries("demo/") + pair, "w")
    with pytest.raises(ArchiveError, match="outside"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_total_size_above_limit_is_refused_from_declared_sizes(tmp_path, dest):
    big = b"x" * 5000
    path = write_tar(tmp_path / "big.tar.gz", project_entries() + [tar_file("demo-main/big.bin", big)], "w:gz")
    with pytest.raises(ArchiveError) as caught:
        open_archive(str(path), dest_parent=dest, max_size=4096)
    assert "'demo-main/big.bin'" in caught.value.message and "4096" in caught.value.message
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_total_size_is_also_counted_while_writing(tmp_path, dest, monkeypatch, kind):
    # if declared sizes lied, the bytes actually written still stop at the limit
    from incrinstall.common import unpack

    monkeypatch.setattr(unpack, "_check_declared_size", lambda *args: None)
    big = b"x" * 5000
    if kind == "tar":
        path = write_tar(tmp_path / "big.tar", project_entries() + [tar_file("demo-main/big.bin", big)], "w")
    else:
        path = write_zip(tmp_path / "big.zip", {"demo-main/pyproject.toml": PYPROJECT, "demo-main/big.bin": big})
    with pytest.raises(ArchiveError, match="'demo-main/big.bin': unpacked size exceeds the limit of 4096"):
        open_archive(str(path), dest_parent=dest, max_size=4096)
    assert list(dest.iterdir()) == []


def test_zip_with_dotdot_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "bad.zip", {"p/pyproject.toml": PYPROJECT, "p/../../evil.txt": b"x"})
    with pytest.raises(ArchiveError, match=r"'p/\.\./\.\./evil\.txt': '\.\.'"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_zip_with_windows_style_dotdot_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "bad.zip", {"p/pyproject.toml": PYPROJECT, "p\\..\\..\\evil.txt": b"x"})
    with pytest.raises(ArchiveError, match="'..'"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_zip_with_absolute_path_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "bad.zip", {"p/pyproject.toml": PYPROJECT, "/tmp/evil.txt": b"x"})
    with pytest.raises(ArchiveError, match="'/tmp/evil.txt': absolute path"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_zip_symlink_escaping_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "bad.zip", {"p/pyproject.toml": PYPROJECT}, symlinks={"p/etc": "../../etc"})
    with pytest.raises(ArchiveError, match="refusing symlink 'p/etc'.*outside"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_zip_device_file_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "bad.zip", {"p/pyproject.toml": PYPROJECT}, devices=["p/tty"])
    with pytest.raises(ArchiveError, match="'p/tty': special file"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_zip_total_size_above_limit_is_refused(tmp_path, dest):
    path = write_zip(tmp_path / "big.zip", {"p/pyproject.toml": PYPROJECT, "p/big.bin": b"\0" * 100_000})
    assert path.stat().st_size < 4096  # compresses well: only the unpacked size trips the limit
    with pytest.raises(ArchiveError, match="'p/big.bin': unpacked size would exceed"):
        open_archive(str(path), dest_parent=dest, max_size=4096)
    assert list(dest.iterdir()) == []


def test_unknown_format_is_an_error_and_leaves_nothing(tmp_path, dest):
    path = tmp_path / "project.rar"
    path.write_bytes(b"Rar!\x1a\x07\x00 not something we read")
    with pytest.raises(ArchiveError, match="unknown archive format") as caught:
        open_archive(str(path), dest_parent=dest)
    assert ".tar.gz" in caught.value.message and ".zip" in caught.value.message
    assert list(dest.iterdir()) == []


def test_corrupt_archive_is_an_error_and_leaves_nothing(tmp_path, dest):
    good = write_tar(tmp_path / "good.tar.gz", project_entries(), "w:gz").read_bytes()
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveError, match="cannot unpack the tar archive"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_empty_archive_is_an_error(tmp_path, dest):
    path = write_tar(tmp_path / "empty.tar", [], "w")
    with pytest.raises(ArchiveError, match="empty"):
        open_archive(str(path), dest_parent=dest)
    assert list(dest.iterdir()) == []


def test_the_unpack_folder_of_a_killed_run_is_removed_by_the_next_one(tmp_path):
    # SIGKILL leaves a baseline no chance to delete its unpacked tree; the next unpack in the same
    # place deletes folders whose owner is gone, and leaves a live process's folder alone.
    import subprocess
    import sys

    path = write_tar(tmp_path / "demo.tar.gz", project_entries(), "w:gz")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan = tmp_path / "parent" / f"incrinstall-archive-{dead}-abc123"
    (orphan / "tree").mkdir(parents=True)
    live = tmp_path / "parent" / f"incrinstall-archive-{os.getppid()}-def456"
    live.mkdir()
    with unpacked(str(path), dest_parent=tmp_path / "parent") as result:
        assert result.root.is_dir()
        assert not orphan.exists()
        assert live.exists()
