"""The TLS context of incrinstall's own requests: the system store plus every CA file or folder the user names
(common/cacerts.py lists them), built once per process and again when those variables or files change."""

from __future__ import annotations

import os
import ssl
import threading

from incrinstall.common.cacerts import CA_ENV_VARS, CaSource, covered_by_folders, trust_sources
from incrinstall.common.errors import IndexUnavailable


def ssl_context() -> ssl.SSLContext:
    """A client context trusting the system store and every CA file or folder the user names (cacerts)."""
    sources = trust_sources()
    for source in sources.missing:  # an error that says which variable, not a silent skip
        raise IndexUnavailable(f"cannot load TLS certificates: {source.origin} names no file or folder")
    folders = list(sources.folders)
    # Handed a location, create_default_context() loads that instead of OpenSSL's defaults (which
    # trust_sources() listed already); with none at all, the defaults it loads are empty too.
    ctx = ssl.create_default_context(capath=folders[0].path) if folders else ssl.create_default_context()
    for source in folders[1:]:
        _load(ctx, source, folder=True)
    for source in sources.files:
        # The one speed-up: a bundle whose every certificate is in a hashed folder loaded above adds nothing.
        if not covered_by_folders(source.path, folders):
            _load(ctx, source, folder=False)
    return ctx


def _load(ctx: ssl.SSLContext, source: CaSource, *, folder: bool) -> None:
    try:
        if folder:
            ctx.load_verify_locations(capath=source.path)
        else:
            ctx.load_verify_locations(cafile=source.path)
    except (ssl.SSLError, OSError) as exc:
        raise IndexUnavailable(f"cannot load TLS certificates: the CA certificates of {source.origin} "
                               f"({source.path}): {exc}") from exc


_tls_lock = threading.Lock()
_tls_shared: tuple[tuple[object, ...], ssl.SSLContext] | None = None


def tls_context() -> ssl.SSLContext:
    """ssl_context(), built once per process and again when the CA variables or the files they name change."""
    global _tls_shared
    sources = trust_sources()
    key = (tuple(os.environ.get(var) for var in CA_ENV_VARS),
           tuple((s.path, _stamp(s.path)) for s in (*sources.files, *sources.folders, *sources.missing)))
    with _tls_lock:
        if _tls_shared is None or _tls_shared[0] != key:
            _tls_shared = (key, ssl_context())
        return _tls_shared[1]


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size
