"""The HTTP client's disk cache: one file per URL (a JSON header line, then the body, replaced atomically) that
later requests revalidate, and the downloaded dist files, kept for good. Keys are the URL without its password."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from incrinstall.common.atomic import write_atomic
from incrinstall.common.urls import redact


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: the final URL (redacted), 200 or 404, its body and what revalidates it."""

    url: str
    status: int
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: str | None = None


def _key(url: str) -> str:
    return hashlib.sha256(redact(url).encode("utf-8")).hexdigest()


class HttpCache:
    """Answers under `root/web-v1/`, downloads under `root/files-v1/`; a cache that cannot be written is skipped."""

    def __init__(self, root: Path):
        self.root = root

    def _entry(self, url: str) -> Path:
        key = _key(url)
        return self.root / "web-v1" / key[:2] / key

    def read(self, url: str) -> CachedAnswer | None:
        """The stored answer for `url`, or None (none, or unreadable)."""
        try:
            raw = self._entry(url).read_bytes()
        except OSError:
            return None
        head, sep, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
        except ValueError:
            return None
        if not sep:
            return None
        return CachedAnswer(meta["url"], meta["status"], body, meta.get("content_type", ""), meta.get("etag"),
                            meta.get("last_modified"))

    def store_ok(self, url: str, *, final: str, body: bytes, content_type: str, etag: str | None,
                 last_modified: str | None) -> None:
        """Keep a 200 answer with its validators."""
        self._write(url, {"url": redact(final), "status": 200, "content_type": content_type, "etag": etag,
                          "last_modified": last_modified}, body)

    def store_missing(self, url: str, *, final: str) -> None:
        """Keep a 404/410 answer (as 404)."""
        self._write(url, {"url": redact(final), "status": 404, "content_type": ""}, b"")

    def _write(self, url: str, meta: dict[str, object], body: bytes) -> None:
        try:
            write_atomic(self._entry(url), b"".join((json.dumps(meta).encode("utf-8"), b"\n", body)))
        except OSError:
            pass  # a read-only or full cache must not break a resolution

    def forget(self, url: str) -> None:
        """Drop the stored answer for `url`."""
        try:
            os.unlink(self._entry(url))
        except OSError:
            pass

    def file(self, url: str, filename: str) -> Path:
        """Where the download of `url` is kept (it may not be there yet)."""
        return self.root / "files-v1" / _key(url) / filename
