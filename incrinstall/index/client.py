"""Ask package indexes and find-links which versions of a project can be installed into the target, and their metadata.

Sources: every `config.index_urls` root (PEP 691 JSON preferred, PEP 503 HTML otherwise)
and every `config.find_links` entry (a local folder of dist files, or an HTML page of
links, local or remote). Indexes are asked in uv's priority order (extra indexes first, the
default index last) and combined by `config.index_strategy`, with uv's meanings:

- `first-index` (the default): a project's files come from the first index that knows the
  project (answers anything but 404); later indexes are not asked. This is what keeps a
  public index from shadowing a private package of the same name (dependency confusion).
- `unsafe-first-match`: every index is asked; all versions of the first index that has the
  project come first, then the versions only later indexes have (`versions()` is then in that
  order, not strictly newest first).
- `unsafe-best-match`: the files of every index are merged per version, newest first.

find-links files are always added, whatever the strategy, and win a filename tie (a local
copy is cheapest); between indexes the higher-priority one wins.

`config.exclude_newer`: a file whose PEP 700 `upload-time` is at or after the cutoff is
dropped, and so is an index file with no upload time at all (uv does the same, with a
warning); find-links files have no upload time and are kept (uv keeps flat-index files too).

This module chooses nothing: it filters out what cannot be installed into the target
(requires-python, wheel tags, unparsable names) and reports what is left, yanked files
included (PEP 592 leaves that choice to the resolver).

requires-python: like uv (which installs what we pick), only its lower bounds count by
default: `<`, `<=` and `!=` clauses are ignored, since upper caps are nearly always
defensive guesses. `strict_requires_python=True` evaluates the whole specifier, as pip
does. Either way the target's release number is used (a 3.13.0rc1 target is "3.13.0").
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urldefrag, urlsplit

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from incrinstall.common import paths
from incrinstall.common.atomic import write_atomic
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import IndexUnavailable, InvalidMetadata
from incrinstall.common.exclude_newer import exclude_newer_cutoff
from incrinstall.common.http import HttpClient, Response, file_url_path
from incrinstall.common.names import canonical_name
from incrinstall.common.urls import redact
from incrinstall.index.metadata_files import (
    check_hashes, hashes_match, is_static, same_version, sdist_pkg_info, to_metadata, wheel_metadata,
)
from incrinstall.index.model import DistFile, DistKind, IndexVersion, Metadata
from incrinstall.index.pages import Link, fragment_hash, parse_page, project_of
from incrinstall.index.remote_wheel import RangesUnsupported, read_metadata

if TYPE_CHECKING:
    from incrinstall.common.coremetadata import CoreMetadata

__all__ = ["DistFile", "IndexClient", "IndexVersion", "Metadata"]  # the types are index/model.py's, named here too

_K = TypeVar("_K")
_V = TypeVar("_V")

ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
METADATA_CACHE = "metadata-v1"


class IndexClient:
    """Versions and metadata of projects, from the configured indexes and find-links, for one target."""

    def __init__(self, config: IndexConfig, *, python_full_version: str, tags: list[str],
                 cache_dir: Path | None = None, max_workers: int = 8, build_python: str | None = None,
                 strict_requires_python: bool = False):
        self.config = config
        self.python_full_version = _python_version(python_full_version)
        self._python_release = Version(".".join(map(str, self.python_full_version.release[:3])))
        self.strict_requires_python = strict_requires_python
        self.tags = list(tags)
        self._rank: dict[str, int] = {}
        for i, tag in enumerate(self.tags):
            self._rank.setdefault(tag, i)
        self.max_workers = max_workers
        self.build_python = build_python
        self.cache_root = Path(cache_dir) if cache_dir is not None else paths.cache_dir() / "http"
        self.http = HttpClient(self.cache_root, offline=config.offline)
        self._python_verdicts: dict[str, bool] = {}
        self._any_cutoff = bool(config.exclude_newer or any(c for _n, c in config.exclude_newer_package))
        self._lock = threading.Lock()
        self._projects: dict[str, Future[tuple[IndexVersion, ...]]] = {}
        self._metadata: dict[tuple[str, str], Future[Metadata]] = {}
        self._find_links: dict[str, Future[tuple[Link, ...]]] = {}  # one entry: every find-links file, read once
        self._page_notes: dict[str, list[str]] = {}  # project -> index pages that answered 404 or listed nothing

    # -- counters (every request that left the process; file:// reads are not requests) --

    @property
    def requests(self) -> int:
        return self.http.requests

    @property
    def bytes_downloaded(self) -> int:
        return self.http.bytes_downloaded

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- versions -----------------------------------------------------------------------

    def versions(self, name: str) -> list[IndexVersion]:
        """Installable versions of `name`, newest first. A project no source knows gives []."""
        found = _once(self._lock, self._projects, canonical_name(name), self._load_project)
        return list(found)

    def why_no_versions(self, name: str) -> str | None:
        """What the index pages said about a project of which no version was found (for an error message)."""
        with self._lock:
            notes = self._page_notes.get(canonical_name(name))
        return "; ".join(notes) if notes else None

    def prefetch(self, names: Iterable[str]) -> None:
        """Fetch many project pages concurrently; errors surface later from versions()."""
        todo = list(dict.fromkeys(canonical_name(n) for n in names))
        with self._lock:
            todo = [n for n in todo if n not in self._projects]
        if not todo:
            return
        if len(todo) == 1 or self.max_workers <= 1:
            for n in todo:
                self._quietly(self.versions, n)
            return
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(todo)), thread_name_prefix="index") as pool:
            list(pool.map(lambda n: self._quietly(self.versions, n), todo))

    @staticmethod
    def _quietly(fn: Callable[[_K], object], arg: _K) -> None:
        try:
            fn(arg)
        except Exception:  # remembered in the memo; the caller sees it when it asks
            pass

    def _load_project(self, name: str) -> tuple[IndexVersion, ...]:
        local: list[Link] = list(self._find_links_for(name))
        strategy = self.config.index_strategy
        per_index: list[list[Link]] = []
        notes = []
        for root in self.config.index_urls:
            links = self._index_links(root, name)
            page = redact(root.rstrip("/") + "/" + name + "/")
            if links is None:
                notes.append(f"{page} answered 404")
                continue  # this index does not know the project
            if not links:
                notes.append(f"{page} lists no files for this interpreter")
            per_index.append(links)
            if strategy == "first-index":
                break
        with self._lock:
            self._page_notes[name] = notes
        if strategy != "unsafe-first-match" or len(per_index) < 2:
            return tuple(self._select(name, local + [link for links in per_index for link in links]))
        # Versions of the first index that has the project, then what only later indexes add.
        out: list[IndexVersion] = []
        seen: set[Version] = set()
        for i, links in enumerate(per_index):
            for iv in self._select(name, (local if i == 0 else []) + links):
                if iv.version not in seen:
                    seen.add(iv.version)
                    out.append(iv)
        return tuple(out)

    def _index_links(self, root: str, name: str) -> list[Link] | None:
        """The files `root` lists for `name`, or None when it answers 404 (does not know the project)."""
        page_url = root.rstrip("/") + "/" + name + "/"
        with _about(name):
            resp = self.http.get(page_url, accept=ACCEPT)
        if resp.status == 404:
            return None
        return parse_page(resp, where=name, from_index=True, keep=self._may_suit)

    def _find_links_for(self, name: str) -> list[Link]:
        every = _once(self._lock, self._find_links, "all",
                      lambda _: tuple(link for src in self.config.find_links for link in self._find_links_source(src)))
        return [link for link in every if project_of(link.filename) == name]

    def _find_links_source(self, src: str) -> list[Link]:
        scheme = urlsplit(src).scheme
        if len(scheme) == 1:  # a Windows drive letter, as in C:\wheels
            scheme = ""
        if scheme in ("http", "https"):
            resp = self.http.get(src, accept="text/html")
            if resp.status == 404:
                raise IndexUnavailable(f"find-links page {redact(src)} does not exist (HTTP 404)", where=redact(src))
            return parse_page(resp, where=redact(src))
        path = file_url_path(src) if scheme == "file" else Path(src)
        if path.is_dir():
            return [Link(p.name, p.resolve().as_uri(), {}) for p in sorted(path.iterdir()) if p.is_file()]
        if path.is_file():
            body = path.read_bytes()
            return parse_page(Response(path.resolve().as_uri(), 200, body, "text/html", False), where=str(path))
        raise IndexUnavailable(f"find-links location {src} does not exist", where=src)

    def _select(self, name: str, links: list[Link]) -> list[IndexVersion]:
        """Keep the files the target can install, group them by version, best file first."""
        seen: set[str] = set()
        by_version: dict[Version, list[tuple[tuple[int | str, ...], DistFile]]] = {}
        sdist_rank = len(self.tags)
        for link in links:
            if link.filename in seen:
                continue
            seen.add(link.filename)
            if link.filename.endswith(".whl") and not self._some_tag_fits(link.filename):
                continue  # most of a big project's wheels are for other targets: no full parse for those
            if self._too_new(link, name):
                continue
            parsed = self._parse_filename(link.filename)
            if parsed is None:
                continue
            project, version, kind, rank, order = parsed
            if project != name or rank is None:
                continue
            if not self._python_ok(link.requires_python):
                continue
            dist = DistFile(
                filename=link.filename, url=link.url, hashes=dict(link.hashes),
                requires_python=link.requires_python, yanked=link.yanked,
                metadata_url=link.metadata_url, metadata_hashes=dict(link.metadata_hashes),
                kind=kind, tag_rank=rank if kind == "wheel" else sdist_rank)
            by_version.setdefault(version, []).append(((dist.tag_rank, *order), dist))
        out = []
        for version in sorted(by_version, reverse=True):
            files = tuple(d for _, d in sorted(by_version[version], key=lambda item: item[0]))
            out.append(IndexVersion(name, version, files, all(f.yanked is not None for f in files)))
        return out

    def _too_new(self, link: Link, name: str) -> bool:
        """exclude-newer: uploaded at or after the package's cutoff, or an index file without an upload time."""
        if not self._any_cutoff or not link.from_index:
            return False
        cutoff = exclude_newer_cutoff(self.config.cutoff_for(name))
        if cutoff is None:
            return False
        if not link.upload_time:
            return True
        try:
            uploaded = datetime.fromisoformat(link.upload_time.replace("Z", "+00:00"))
        except ValueError:
            return True
        if uploaded.tzinfo is None:
            uploaded = uploaded.replace(tzinfo=timezone.utc)
        return uploaded >= cutoff

    def _may_suit(self, filename: str) -> bool:
        """Worth a link object: anything but a wheel, or a wheel with a tag the target might take."""
        return not filename.endswith(".whl") or self._some_tag_fits(filename)

    def _some_tag_fits(self, filename: str) -> bool:
        """A quick look at a wheel name's compressed tag set: could any of its tags suit the target?

        False only when none can; the full parse (packaging) still decides every wheel that passes.
        """
        parts = filename[:-4].lower().split("-")  # packaging lower-cases tags too
        if len(parts) < 5:
            return True  # malformed: let the full parse reject it with its own rules
        pythons, abis, platforms = parts[-3].split("."), parts[-2].split("."), parts[-1].split(".")
        rank = self._rank
        return any(f"{py}-{abi}-{plat}" in rank for py in pythons for abi in abis for plat in platforms)

    def _parse_filename(self, filename: str) -> tuple[str, Version, DistKind, int | None, tuple[int, str]] | None:
        """(project, version, kind, tag rank or None when no tag fits, tie-break key) or None when unusable."""
        try:
            if filename.endswith(".whl"):
                project, version, build, tags = parse_wheel_filename(filename)
                ranks = [self._rank[t] for t in map(str, tags) if t in self._rank]
                # A higher build number wins among wheels of the same tag (sorted ascending).
                order = (-(build[0]) if build else 0, filename)
                return project, version, "wheel", (min(ranks) if ranks else None), order
            if filename.endswith((".tar.gz", ".zip")):
                project, version = parse_sdist_filename(filename)
                return project, version, "sdist", -1, (0 if filename.endswith(".tar.gz") else 1, filename)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            return None
        return None  # .egg, .exe, .tar.bz2 and friends: not installable by uv

    def _python_ok(self, requires_python: str | None) -> bool:
        if not requires_python or not requires_python.strip():
            return True
        known = self._python_verdicts.get(requires_python)
        if known is None:  # a project's files repeat a handful of requires-python strings
            known = self._python_verdicts[requires_python] = self._judge_python(requires_python)
        return known

    def _judge_python(self, requires_python: str) -> bool:
        try:
            spec = SpecifierSet(requires_python)
        except InvalidSpecifier:
            return True  # as pip: an unparsable requires-python does not hide the file
        if self.strict_requires_python:
            return spec.contains(self._python_release, prereleases=True)
        return all(_lower_bound_ok(s, self._python_release) for s in spec)

    # -- metadata -----------------------------------------------------------------------

    def metadata(self, iv: IndexVersion) -> Metadata:
        """Core metadata of `iv.best`: PEP 658 file, else the wheel's METADATA, else the sdist's (built if dynamic)."""
        dist = iv.best
        key = (dist.url, json.dumps(sorted(dist.hashes.items())))
        return _once(self._lock, self._metadata, key, lambda _k: self._load_metadata(iv, dist))

    def prefetch_metadata(self, ivs: Iterable[IndexVersion]) -> None:
        """Fetch the metadata of many versions concurrently; errors surface later from metadata()."""
        ivs = list(ivs)
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(ivs) or 1))) as pool:
            list(pool.map(lambda iv: self._quietly(self.metadata, iv), ivs))

    def _load_metadata(self, iv: IndexVersion, dist: DistFile) -> Metadata:
        cache_file = self._metadata_cache_file(dist)
        try:
            cached = json.loads(cache_file.read_text("utf-8"))
            return Metadata(cached["name"], cached["version"], tuple(cached["requires_dist"]),
                            cached["requires_python"], tuple(cached["provides_extra"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        md = self._fetch_metadata(dist, project=iv.name, version=str(iv.version))
        if canonical_name(md.name) != iv.name or same_version(md.version, iv.version) is False:
            raise InvalidMetadata(f"its metadata describes {md.name} {md.version}, not {iv.name} {iv.version}",
                                  project=iv.name, version=str(iv.version), file=dist.filename)
        try:
            write_atomic(cache_file, json.dumps(asdict(md)))
        except OSError:
            pass  # a read-only cache only costs a refetch next time
        return md

    def _metadata_cache_file(self, dist: DistFile) -> Path:
        # The metadata file's own hash too: an index can replace it (a fixed PEP 658 file) for the same wheel.
        ident = (dist.url + "\n" + json.dumps(sorted(dist.hashes.items()))
                 + "\n" + json.dumps(sorted((dist.metadata_hashes or {}).items())))
        if dist.url.startswith("file:") and not dist.hashes:
            # A local wheelhouse may rebuild a file under the same name.
            try:
                st = file_url_path(dist.url).stat()
                ident += f"\n{st.st_size}:{st.st_mtime_ns}"
            except OSError:
                pass
        key = hashlib.sha256(ident.encode("utf-8")).hexdigest()
        return self.cache_root / METADATA_CACHE / key[:2] / f"{key}.json"

    def _fetch_metadata(self, dist: DistFile, *, project: str, version: str | None = None) -> Metadata:
        # Local: packaging.metadata (and the email package under it) is needed once a metadata file is read, never on
        # a plan whose metadata is all in the cache.
        from incrinstall.common.coremetadata import parse_core_metadata

        def parse(raw: bytes | str) -> CoreMetadata:  # an unreadable file names the project and version asked for
            return parse_core_metadata(raw, file=dist.filename, project=project, version=version)

        if dist.metadata_url:
            immutable = bool(dist.metadata_hashes) or dist.metadata_url.startswith("file:")
            with _about(dist.filename):
                resp = self.http.get(dist.metadata_url, immutable=immutable)
            if resp.status == 200 and resp.from_cache and not hashes_match(resp.body, dist.metadata_hashes):
                # The index now advertises another metadata file for this wheel (it fixed one): ask again.
                self.http.forget(dist.metadata_url)
                with _about(dist.filename):
                    resp = self.http.get(dist.metadata_url, immutable=immutable)
            if resp.status == 200:
                try:
                    check_hashes(resp.body, dist.metadata_hashes, dist.metadata_url, dist.filename)
                except IndexUnavailable:
                    self.http.forget(dist.metadata_url)
                    raise
                fields = parse(resp.body)
                if dist.kind == "wheel" or is_static(fields):
                    return to_metadata(fields)
        if dist.kind == "wheel" and dist.url.startswith(("https:", "http:")) and \
                self.http.cached_file(dist.url, filename=dist.filename) is None:
            raw = self._metadata_by_ranges(dist)
            if raw is not None:
                return to_metadata(parse(raw))
        path = self.http.download(dist.url, filename=dist.filename, hashes=dist.hashes)
        if dist.kind == "wheel":
            return to_metadata(parse(wheel_metadata(path, dist.filename, redact(dist.url))))
        pkg_info = sdist_pkg_info(path, dist.filename)
        if pkg_info is not None:
            fields = parse(pkg_info)
            if is_static(fields):
                return to_metadata(fields)
        return self._build_metadata(path, parse)

    def _metadata_by_ranges(self, dist: DistFile) -> bytes | None:
        """A wheel's METADATA read from its zip directory by HTTP ranges (as uv does); None: download it."""
        def fetch(start: int, end: int | None) -> tuple[bytes, int]:
            body, size = self.http.get_range(dist.url, start, end)
            if len(body) == size:  # the server ignored the range and sent the whole file: check it
                check_hashes(body, dist.hashes, dist.url, dist.filename)
            return body, size

        try:
            return read_metadata(fetch)
        except (RangesUnsupported, IndexUnavailable):
            return None  # the whole file it is, downloaded with its hash checked

    def _build_metadata(self, sdist_path: Path, parse: Callable[[str], CoreMetadata]) -> Metadata:
        # Local: the PEP 517 machinery (build environments, hooks, the unpacker) is for an sdist without static
        # metadata only; a plan that reads no new metadata never pays for it.
        from incrinstall.backends import backend

        text = backend.sdist_metadata(sdist_path, python=self.build_python or sys.executable, index=self.config)
        return to_metadata(parse(text))

    def direct(self, name: str, url: str) -> IndexVersion:
        """The one version a direct URL requirement (`name @ https://...`) names: its file and its metadata.

        The file is downloaded once (a wheel's METADATA, an sdist's PKG-INFO or a metadata build
        needs it anyway) and its sha256 becomes the pin's hash, so the install is verified like
        any other.
        """
        bare, fragment = urldefrag(url)
        if urlsplit(bare).scheme not in ("https", "http", "file"):
            raise IndexUnavailable(f"direct URL {redact(url)}: only https://, http:// and file:// URLs are "
                                   "supported", where=name)
        filename = unquote(urlsplit(bare).path.rsplit("/", 1)[-1])
        kind: DistKind = "wheel" if filename.endswith(".whl") else "sdist"
        if kind == "sdist" and not filename.endswith((".tar.gz", ".zip", ".tgz")):
            raise IndexUnavailable(f"direct URL {redact(url)}: not a wheel or an sdist (.whl, .tar.gz, .zip)",
                                   where=name)
        hashes = fragment_hash(fragment)
        path = self.http.download(bare, filename=filename, hashes=hashes)
        if "sha256" not in hashes:
            hashes = {**hashes, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        dist = DistFile(filename, bare, hashes, None, None, None, {}, kind, 0)
        md = self._fetch_metadata(dist, project=canonical_name(name))
        if canonical_name(md.name) != canonical_name(name):
            raise InvalidMetadata(f"direct URL {redact(url)} is {md.name}, not {name}", project=name,
                                  version=md.version)
        try:
            version = Version(md.version)
        except InvalidVersion:
            raise InvalidMetadata(f"direct URL {redact(url)} has an invalid version {md.version!r}",
                                  project=name, version=md.version) from None
        done: Future[Metadata] = Future()
        done.set_result(md)
        with self._lock:  # resolving asks for its metadata next: no second read
            self._metadata.setdefault((dist.url, json.dumps(sorted(dist.hashes.items()))), done)
        return IndexVersion(canonical_name(name), version, (dist,), False)


@contextmanager
def _about(what: str) -> Iterator[None]:
    """An index that cannot be read is an error about the project (or file) asked for; its message has the URL."""
    try:
        yield
    except IndexUnavailable as exc:
        if type(exc) is IndexUnavailable:  # HashMismatch and InvalidMetadata say what they are about
            exc.where = what
        raise


def _lower_bound_ok(spec: Specifier, python: Version) -> bool:
    """Does `python` meet this clause's lower bound? Upper bounds and exclusions are ignored (as uv does)."""
    op, text = spec.operator, spec.version
    if op in ("<", "<=", "!="):
        return True
    if op == "===":
        return spec.contains(python, prereleases=True)
    try:
        bound = Version(text[:-2] if text.endswith(".*") else text)
    except InvalidVersion:
        return True
    if op == ">":
        return spec.contains(python, prereleases=True)  # ">" has its own rules for local/post versions
    return python >= bound  # >=, ~=, == (their upper ends ignored)


def _python_version(text: str) -> Version:
    """The interpreter's version; dev builds say "3.12.0+", which is not PEP 440."""
    try:
        return Version(text)
    except InvalidVersion:
        match = re.match(r"\d+(\.\d+)*((a|b|rc)\d+)?", text.strip())
        if not match:
            raise
        return Version(match.group(0))


def _once(lock: threading.Lock, memo: dict[_K, Future[_V]], key: _K, compute: Callable[[_K], _V]) -> _V:
    """compute(key) once per key across threads; later callers get the result (or the error)."""
    with lock:
        fut = memo.get(key)
        owner = fut is None
        if fut is None:
            fut = memo[key] = Future()
    if owner:
        try:
            fut.set_result(compute(key))
        except BaseException as exc:
            fut.set_exception(exc)
    return fut.result()
