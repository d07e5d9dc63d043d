"""Simple-API pages (PEP 691 JSON, PEP 503 HTML) and find-links pages: the files each lists, as `Link`s."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion

from incrinstall.common.errors import IndexUnavailable
from incrinstall.common.http import Response
from incrinstall.common.urls import redact


@dataclass(frozen=True)
class Link:
    """One file as a source lists it, before filtering for the target."""

    filename: str
    url: str
    hashes: dict[str, str]
    requires_python: str | None = None
    yanked: str | None = None
    metadata_url: str | None = None
    metadata_hashes: dict[str, str] = field(default_factory=dict)
    upload_time: str | None = None  # PEP 700, JSON pages only
    from_index: bool = False  # True for a file an index page listed (not find-links)


def parse_page(resp: Response, *, where: str, from_index: bool = False,
               keep: Callable[[str], bool] | None = None) -> list[Link]:
    """The files a simple-API project page (or a find-links page) lists."""
    ctype = resp.content_type.split(";")[0].strip().lower()
    is_json = ctype.endswith("json") or (not ctype and resp.body.lstrip()[:1] == b"{")
    try:
        if is_json:
            return _parse_json(resp.body, resp.url, from_index, keep)
        return _parse_html(resp.body.decode("utf-8", errors="replace"), resp.url, from_index, keep)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise IndexUnavailable(f"{redact(resp.url)} is not a valid simple-API page: {exc}", where=where) from exc


def _parse_json(body: bytes, page_url: str, from_index: bool, keep: Callable[[str], bool] | None) -> list[Link]:
    data = json.loads(body)
    api = str(data.get("meta", {}).get("api-version", "1.0"))
    if not api.startswith("1."):
        raise ValueError(f"unsupported simple API version {api}")
    links: list[Link] = []
    for f in data.get("files", []):
        if keep is not None and not keep(f["filename"]):
            continue  # a file for another target: no link object, no hash parsing
        url = f["url"]
        if url.startswith(("https://", "http://")) and "#" not in url:
            frag = ""  # absolute, as PyPI lists them: no join needed (it costs more than the rest of the loop)
        else:
            url, frag = urldefrag(urljoin(page_url, url))
        hashes = _clean_hashes(f.get("hashes") or {}) or fragment_hash(frag)
        core = f.get("core-metadata", f.get("dist-info-metadata", False))
        yanked = f.get("yanked", False)
        links.append(Link(
            filename=f["filename"], url=url, hashes=hashes,
            requires_python=f.get("requires-python") or None,
            yanked=None if yanked is False or yanked is None else ("" if yanked is True else str(yanked)),
            metadata_url=url + ".metadata" if core else None,
            metadata_hashes=_clean_hashes(core) if isinstance(core, dict) else {},
            upload_time=f.get("upload-time") or None,
            from_index=from_index,
        ))
    return links


def _anchors(text: str) -> tuple[str | None, list[dict[str, str | None]]]:
    """The <base href> and the <a href> attributes of an HTML page."""
    # Local: html.parser is for HTML pages only; indexes answer PEP 691 JSON, which is all a plan reads from PyPI.
    from html.parser import HTMLParser

    base: list[str | None] = [None]
    anchors: list[dict[str, str | None]] = []

    class AnchorParser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "base" and base[0] is None:
                base[0] = dict(attrs).get("href")
            elif tag == "a":
                a = dict(attrs)
                if a.get("href"):
                    anchors.append(a)

    parser = AnchorParser(convert_charrefs=True)
    parser.feed(text)
    parser.close()
    return base[0], anchors


def _parse_html(text: str, page_url: str, from_index: bool, keep: Callable[[str], bool] | None) -> list[Link]:
    page_base, anchors = _anchors(text)
    base = urljoin(page_url, page_base) if page_base else page_url
    links: list[Link] = []
    for a in anchors:
        url, frag = urldefrag(urljoin(base, a["href"]))
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not filename or (keep is not None and not keep(filename)):
            continue
        core = a.get("data-core-metadata", a.get("data-dist-info-metadata"))
        metadata_url = metadata_hashes = None
        if core is not None and core.strip().lower() != "false":
            metadata_url = url + ".metadata"
            metadata_hashes = fragment_hash(core) if "=" in core else {}
        links.append(Link(
            filename=filename, url=url, hashes=fragment_hash(frag),
            requires_python=(a.get("data-requires-python") or "").strip() or None,
            yanked=(a["data-yanked"] or "") if "data-yanked" in a else None,
            metadata_url=metadata_url, metadata_hashes=metadata_hashes or {}, from_index=from_index,
        ))
    return links


def fragment_hash(fragment: str) -> dict[str, str]:
    """`sha256=...` (a URL fragment, a data-core-metadata value) as {algorithm: hex digest}; {} for none."""
    algo, sep, value = fragment.strip().partition("=")
    if not sep or not value:
        return {}
    return _clean_hashes({algo: value})


def _clean_hashes(hashes: dict[object, object]) -> dict[str, str]:
    return {str(k).lower(): str(v).lower() for k, v in hashes.items() if str(k).lower() in hashlib.algorithms_guaranteed}


def project_of(filename: str) -> str | None:
    """The canonical project name of a wheel or sdist file name; None when it is neither."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return None
