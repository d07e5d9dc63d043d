"""One trust store: the CA files and folders incrinstall's own requests trust are the ones uv is told to trust.

An https loopback index whose certificate a private CA signed, the CA named only the ways a
corporate network names a proxy's CA: added to the system bundle in place (the hashed folder
not regenerated), with or without SSL_CERT_FILE naming that bundle's path, or in a file named
by REQUESTS_CA_BUNDLE or a folder named by SSL_CERT_DIR. incrinstall's index client and a real
uv must both reach the index; the "system" bundle is faked in-process by what
`ssl.get_default_verify_paths()` answers, which is where incrinstall (and so uv's environment)
learns it.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from incrinstall.common import cacerts, tls
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import IndexUnavailable, InstallError
from incrinstall.common.uv import run_uv, uv_env
from incrinstall.index.client import IndexClient
from tests.support.index_server import LoopbackIndex
from tests.support.tls import bundle_with, hashed_folder, make_ca, server_context, system_bundle

TAGS = ["py3-none-any"]


@pytest.fixture
def private_ca(tmp_path: Path) -> Path:
    return make_ca(tmp_path / "ca")


@pytest.fixture
def https_index(tmp_path: Path, private_ca: Path):
    with LoopbackIndex(tmp_path / "files", tls=server_context(private_ca)) as index:
        index.add_wheel("secure", "1.0")
        yield index


@pytest.fixture
def no_ca_variables(monkeypatch):
    for var in cacerts.CA_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def fake_system_bundle(monkeypatch, bundle: Path) -> None:
    """OpenSSL's default bundle file is `bundle`; its hashed folder stays the real one (not regenerated)."""
    real = ssl.get_default_verify_paths()
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: real._replace(cafile=str(bundle),
                                                                               openssl_cafile=str(bundle)))


def incrinstall_reaches(index: LoopbackIndex, tmp_path: Path) -> list[str]:
    config = IndexConfig(index_url=index.url)
    client = IndexClient(config, python_full_version="3.12.4", tags=TAGS, cache_dir=tmp_path / "client-cache")
    return [str(iv.version) for iv in client.versions("secure")]


def uv_reaches(index: LoopbackIndex, tmp_path: Path) -> str:
    wanted = tmp_path / "wanted.in"
    wanted.write_text("secure\n")
    proc = run_uv(["pip", "compile", str(wanted), "--index-url", index.url, "--no-header", "--quiet", "--no-annotate",
                   "--python-version", "3.12"], what="uv pip compile")
    return proc.stdout.strip()


def test_a_ca_added_to_the_system_bundle_in_place_is_trusted_by_incrinstall_and_uv(
        https_index, private_ca, tmp_path, monkeypatch, no_ca_variables):
    # The corporate pattern without any variable: the bundle file replaced, `*.0` links as they were.
    fake_system_bundle(monkeypatch, bundle_with(private_ca / "ca.pem", tmp_path / "system" / "ca-certificates.crt"))
    assert incrinstall_reaches(https_index, tmp_path) == ["1.0"]
    assert uv_reaches(https_index, tmp_path) == "secure==1.0"


def test_ssl_cert_file_naming_the_system_bundle_path_is_loaded_as_named(
        https_index, private_ca, tmp_path, monkeypatch, no_ca_variables):
    # The case: SSL_CERT_FILE names the system bundle's own path, which holds the proxy's CA.
    bundle = bundle_with(private_ca / "ca.pem", tmp_path / "system" / "ca-certificates.crt")
    fake_system_bundle(monkeypatch, bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert incrinstall_reaches(https_index, tmp_path) == ["1.0"]
    assert uv_reaches(https_index, tmp_path) == "secure==1.0"


def test_requests_ca_bundle_is_trusted_by_uv_too(https_index, private_ca, tmp_path, monkeypatch, no_ca_variables):
    # uv itself reads no REQUESTS_CA_BUNDLE: it is handed one bundle of the system's and this file's CAs.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(private_ca / "ca.pem"))
    assert incrinstall_reaches(https_index, tmp_path) == ["1.0"]
    assert uv_reaches(https_index, tmp_path) == "secure==1.0"
    joined = Path(uv_env()["SSL_CERT_FILE"])
    assert joined.read_bytes().startswith(system_bundle().read_bytes().rstrip(b"\n"))
    assert (private_ca / "ca.pem").read_bytes() in joined.read_bytes()


def test_ssl_cert_dir_folders_are_trusted_by_both(https_index, private_ca, tmp_path, monkeypatch, no_ca_variables):
    folder = hashed_folder(tmp_path / "corporate-certs", private_ca / "ca.pem")
    monkeypatch.setenv("SSL_CERT_DIR", f"{tmp_path / 'empty-but-named'}:{folder}")
    (tmp_path / "empty-but-named").mkdir()
    assert incrinstall_reaches(https_index, tmp_path) == ["1.0"]
    assert uv_reaches(https_index, tmp_path) == "secure==1.0"


def test_without_the_ca_neither_trusts_the_index(https_index, tmp_path, no_ca_variables):
    with pytest.raises(IndexUnavailable, match="certificate verif.*SSL_CERT_FILE"):
        incrinstall_reaches(https_index, tmp_path)
    with pytest.raises(InstallError) as caught:
        uv_reaches(https_index, tmp_path)
    assert "UnknownIssuer" in caught.value.detail


def test_a_named_path_that_names_nothing_is_an_error_naming_the_variable(tmp_path, monkeypatch, no_ca_variables):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(IndexUnavailable, match=r"REQUESTS_CA_BUNDLE=.*nowhere\.pem names no file or folder"):
        tls.ssl_context()


def test_the_system_bundle_is_skipped_only_when_its_hashed_folder_holds_every_certificate(
        private_ca, tmp_path, monkeypatch, no_ca_variables):
    other = make_ca(tmp_path / "other")
    folder = hashed_folder(tmp_path / "certs", private_ca / "ca.pem")
    same = tmp_path / "same.crt"
    same.write_bytes(b"# the corporate CA\n" + (private_ca / "ca.pem").read_bytes())
    assert cacerts.covered_by_folders(str(same), [cacerts.CaSource(str(folder), "test")])
    grown = bundle_with(other / "ca.pem", tmp_path / "grown.crt", base=same)  # a CA added in place
    assert not cacerts.covered_by_folders(str(grown), [cacerts.CaSource(str(folder), "test")])
    assert not cacerts.covered_by_folders(str(tmp_path / "empty.crt"), [cacerts.CaSource(str(folder), "test")])

    real = ssl.get_default_verify_paths()
    for bundle, parsed in ((same, 0), (grown, 2)):
        monkeypatch.setattr(ssl, "get_default_verify_paths", lambda b=bundle: real._replace(
            cafile=str(b), openssl_cafile=str(b), capath=str(folder), openssl_capath=str(folder)))
        # The folder is read per handshake; the bundle is parsed up front only when it adds a CA.
        assert tls.ssl_context().cert_store_stats()["x509_ca"] == parsed


def test_uv_is_told_exactly_the_files_and_folders_incrinstall_loads(tmp_path, monkeypatch, no_ca_variables):
    monkeypatch.setenv("UV_SYSTEM_CERTS", "1")
    env = uv_env()
    sources = cacerts.trust_sources()
    assert env["SSL_CERT_FILE"] == sources.files[0].path
    assert env["SSL_CERT_DIR"] == sources.folders[0].path
    assert "UV_SYSTEM_CERTS" not in env  # the files named are the whole answer; uv's switch would change nothing
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    assert uv_env()["SSL_CERT_FILE"] == str(tmp_path / "missing.pem")  # left for uv to refuse, as it would alone
