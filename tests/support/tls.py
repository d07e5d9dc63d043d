"""A throwaway certificate authority, a certificate for 127.0.0.1 it signed, and CA stores holding it, for https tests."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest


def make_ca(folder: Path) -> Path:
    """Write ca.pem, server.pem and server.key into `folder` (created); skip the test without openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=incrinstall test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (folder / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return folder


def server_context(folder: Path) -> ssl.SSLContext:
    """A server-side context with the certificate make_ca(folder) wrote (for LoopbackIndex(tls=...))."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return context


def system_bundle() -> Path:
    """The system's CA bundle file as OpenSSL finds it by default (not what SSL_CERT_FILE says)."""
    found = ssl.get_default_verify_paths().openssl_cafile
    if not found or not Path(found).is_file():
        pytest.skip(f"no system CA bundle at {found}")
    return Path(found)


def bundle_with(ca: Path, dest: Path, base: Path | None = None) -> Path:
    """`base` (default: the system bundle) with `ca` appended, written to `dest`: the corporate pattern's file."""
    base = system_bundle() if base is None else base
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(base.read_bytes().rstrip(b"\n") + b"\n" + ca.read_bytes())
    return dest


def hashed_folder(dest: Path, *certificates: Path) -> Path:
    """A folder of `<subject hash>.0` files, as c_rehash leaves them, holding `certificates`."""
    dest.mkdir(parents=True, exist_ok=True)
    for cert in certificates:
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(cert)], check=True,
                                capture_output=True, text=True).stdout.strip()
        (dest / f"{digest}.0").write_bytes(cert.read_bytes())
    return dest
