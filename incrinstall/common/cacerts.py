"""Which CA certificates TLS trusts: one answer, for incrinstall's own requests and for uv's.

The answer is OpenSSL's default store, as OpenSSL itself finds it (its bundle file and its
hashed folder; `SSL_CERT_FILE` / `SSL_CERT_DIR` take their places when set), plus every CA file
or folder the user names with `SSL_CERT_FILE`, `SSL_CERT_DIR` (folders joined by os.pathsep) or
`REQUESTS_CA_BUNDLE`. A named path is loaded as named, whatever it is: the corporate pattern
replaces the system bundle in place and names it, without regenerating the hashed folder.

`trust_sources()` lists those files and folders; `tls.ssl_context()` loads them, and
`uv_tls_env()` hands the same ones to uv (uv reads one `SSL_CERT_FILE` and any number of
`SSL_CERT_DIR` folders, and then trusts exactly those instead of its bundled roots).
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from incrinstall.common.atomic import write_atomic

CA_ENV_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")
SYSTEM_STORE = "the system's CA store"
# OpenSSL's hashed-folder entries: `<subject hash>.<n>` (c_rehash, update-ca-certificates).
_HASHED = re.compile(r"[0-9a-f]{8}\.[0-9]+")


@dataclass(frozen=True)
class CaSource:
    path: str
    origin: str  # "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", or SYSTEM_STORE


@dataclass(frozen=True)
class TrustSources:
    files: tuple[CaSource, ...] = ()
    folders: tuple[CaSource, ...] = ()
    missing: tuple[CaSource, ...] = ()  # named paths that name nothing: an error, never a silent skip


def trust_sources(environ: dict[str, str] | None = None) -> TrustSources:
    """The CA files and folders to trust, each once (by real path), the system's first."""
    env = os.environ if environ is None else environ
    defaults = ssl.get_default_verify_paths()
    files: dict[str, CaSource] = {}
    folders: dict[str, CaSource] = {}
    missing: list[CaSource] = []

    def add(path: str, origin: str, *, named: bool) -> None:
        real = os.path.realpath(path)
        if os.path.isdir(real):
            folders.setdefault(real, CaSource(path, origin))
        elif os.path.isfile(real):
            files.setdefault(real, CaSource(path, origin))
        elif named:
            missing.append(CaSource(path, origin))
        # OpenSSL's own default file or folder may be absent (no ca-certificates installed): nothing to trust there.

    named_file = env.get("SSL_CERT_FILE")
    named_dirs = env.get("SSL_CERT_DIR")
    # OpenSSL's defaults first, as OpenSSL reads them: the variables replace the built-in file and folder.
    if named_file:
        add(named_file, f"SSL_CERT_FILE={named_file}", named=True)
    elif defaults.openssl_cafile:
        add(defaults.openssl_cafile, SYSTEM_STORE, named=False)
    if named_dirs:
        for folder in named_dirs.split(os.pathsep):
            if folder:
                add(folder, f"SSL_CERT_DIR={named_dirs}", named=True)
    elif defaults.openssl_capath:
        add(defaults.openssl_capath, SYSTEM_STORE, named=False)
    bundle = env.get("REQUESTS_CA_BUNDLE")
    if bundle:
        add(bundle, f"REQUESTS_CA_BUNDLE={bundle}", named=True)
    return TrustSources(tuple(files.values()), tuple(folders.values()), tuple(missing))


def covered_by_folders(file: str, folders: tuple[CaSource, ...] | list[CaSource]) -> bool:
    """Is every certificate of `file` in one of the hashed `folders` already? Then loading it trusts nothing more.

    OpenSSL reads a hashed folder lazily, one file for the issuer a handshake asks about, while a
    bundle is parsed whole up front (the system's 150-odd certificates: 20-120 ms). Skipping the
    bundle is safe only when it adds nothing: each of its certificates is, byte for byte, a
    certificate under a `<hash>.<n>` name in a folder that is loaded (as update-ca-certificates
    leaves them). A bundle with a certificate added in place, or with anything but certificates
    in it, is loaded.
    """
    try:
        bundle = Path(file).read_bytes()
    except OSError:
        return False  # loading it will say why, naming the variable
    certificates = _certificates(bundle)
    wanted = set(certificates)
    if not wanted or bundle.count(b"-----BEGIN ") != len(certificates):
        # None, or something besides plain certificates (TRUSTED CERTIFICATE with OpenSSL's trust
        # settings, CRLs): only the file itself says what those mean.
        return False
    found: set[bytes] = set()
    for folder in folders:
        try:
            names = [name for name in os.listdir(folder.path) if _HASHED.fullmatch(name)]
        except OSError:
            continue
        for name in names:
            try:
                text = Path(folder.path, name).read_bytes()
            except OSError:
                continue
            found.update(_certificates(text))
        if wanted <= found:
            return True
    return False


def _certificates(pem: bytes) -> list[bytes]:
    """The base64 bodies of the PEM `CERTIFICATE` blocks in `pem`, whitespace removed (a regex is 5x slower)."""
    begin, end = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"
    out = []
    at = pem.find(begin)
    while at >= 0:
        stop = pem.find(end, at)
        if stop < 0:
            break
        out.append(b"".join(pem[at + len(begin):stop].split()))
        at = pem.find(begin, stop)
    return out


def uv_tls_env(cache_folder: Path) -> dict[str, str | None]:
    """uv's SSL_CERT_FILE and SSL_CERT_DIR for the same trust as ours (None: unset it); {} to leave uv's alone.

    uv trusts exactly one SSL_CERT_FILE plus the SSL_CERT_DIR folders when either is set. Several
    files (a named REQUESTS_CA_BUNDLE beside the system bundle) are joined into one bundle under
    `cache_folder`, named by its content. When a named path names nothing, uv is left to its own
    reading of the variables: incrinstall's first https request stops with the clear error.
    """
    sources = trust_sources()
    if sources.missing or not (sources.files or sources.folders):
        return {}
    out: dict[str, str | None] = {
        "SSL_CERT_DIR": os.pathsep.join(s.path for s in sources.folders) if sources.folders else None}
    if len(sources.files) == 1:
        out["SSL_CERT_FILE"] = sources.files[0].path
    elif sources.files:
        try:
            out["SSL_CERT_FILE"] = str(_joined_bundle(sources.files, cache_folder))
        except OSError:
            return {}  # an unreadable named file: incrinstall's own TLS loading stops with its name and reason
    else:
        out["SSL_CERT_FILE"] = None
    return out


def _joined_bundle(files: tuple[CaSource, ...], cache_folder: Path) -> Path:
    data = b"".join(Path(s.path).read_bytes().rstrip(b"\n") + b"\n" for s in files)
    path = cache_folder / "ca-bundles" / f"{hashlib.sha256(data).hexdigest()[:32]}.pem"
    if not path.is_file():
        write_atomic(path, data)
    return path
