"""A lookup made only to explain or complete uv's answer shows its own failure; it never hides behind uv's.

When uv refuses a package whose versions are all pre-releases, incrinstall asks the index itself
(`uv_resolve.has_only_prereleases`) before it allows them. If that request fails (here: TLS, the
way a corporate proxy's CA unknown to incrinstall made it fail in a Docker build), the user must
see that failure (the URL and the TLS reason), not uv's pre-release refusal, which points at the
wrong problem. The other lookups that explain an error say what the index answered instead.
"""

from __future__ import annotations

import ssl
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from incrinstall.cli import render_error
from incrinstall.common import http
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import IndexUnavailable
from incrinstall.environment.interpreter import find_interpreter
from incrinstall.resolve import resolver
from incrinstall.resolve.uv_resolve import has_only_prereleases, resolve_with_uv, why_no_versions
from incrinstall.specs.model import RootRequirement
from tests.support.index_server import LoopbackIndex
from tests.support.resolving import index_client
from tests.support.tls import make_ca, server_context

pytestmark = pytest.mark.slow


def test_uv_refusing_pre_releases_whose_check_fails_on_tls_shows_the_tls_failure(tmp_path: Path, monkeypatch):
    ca = make_ca(tmp_path / "ca")
    with LoopbackIndex(tmp_path / "files", tls=server_context(ca)) as index:
        # Airflow's case: a dependency pins a package that has published only pre-releases.
        index.add_wheel("otel-sdk-lite", "1.0", requires_dist=["semconv-lite==0.36b0"])
        index.add_wheel("semconv-lite", "0.36b0")
        monkeypatch.setenv("SSL_CERT_FILE", str(ca / "ca.pem"))  # uv trusts the index...
        stranger = make_ca(tmp_path / "other")
        # ...and incrinstall's own requests do not (as before the fix, when ssl_context dropped the bundle).
        monkeypatch.setattr(http, "tls_context", lambda: ssl.create_default_context(cafile=str(stranger / "ca.pem")))
        interp = find_interpreter(sys.executable)
        config = IndexConfig(index_url=index.url)
        roots = [RootRequirement(requirement="otel-sdk-lite", source="pyproject.toml:3", kind="requirements")]
        with index_client(interp, config, cache_dir=tmp_path / "http-cache") as client:
            with pytest.raises(IndexUnavailable) as caught:
                resolve_with_uv(roots, [], interpreter=interp, installed={}, uv_index_args=config.uv_args(),
                                only_prereleases=lambda name: has_only_prereleases(client, name))
        page = f"{index.url}semconv-lite/"
    shown = render_error(caught.value)
    assert f"TLS certificate verification failed for {page} (CERTIFICATE_VERIFY_FAILED" in shown, shown
    assert "pre-release rule" in shown and "no version" not in shown.lower(), shown


class _FailingIndex:
    """An index whose every page fails the way `failure` says."""

    def __init__(self, failure: Exception):
        self.failure = failure

    def versions(self, name):
        raise self.failure

    def why_no_versions(self, name):
        return None


def test_a_conflict_explanation_says_the_index_could_not_be_asked():
    provider = SimpleNamespace(local={}, installed={}, index=_FailingIndex(
        IndexUnavailable("cannot reach https://pkgs.example/simple/lib/: Connection refused")))
    said = resolver._available_versions("lib", provider)
    assert said == "the index could not be asked: cannot reach https://pkgs.example/simple/lib/: Connection refused"


def test_a_bug_in_a_secondary_lookup_is_not_turned_into_an_answer():
    with pytest.raises(KeyError):
        why_no_versions(_FailingIndex(KeyError("a bug")), "lib")
    with pytest.raises(KeyError):
        has_only_prereleases(_FailingIndex(KeyError("a bug")), "lib")
    # an index that answers with an error is the answer uv's "no versions of" gets next to it
    assert why_no_versions(_FailingIndex(IndexUnavailable("https://x/simple/lib/ answered HTTP 503")), "lib") == (
        "https://x/simple/lib/ answered HTTP 503")
