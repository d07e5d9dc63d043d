"""Where packages come from: index URLs, find-links, offline mode, and how to tell uv the same."""

from __future__ import annotations

import os
from dataclasses import dataclass

PYPI_SIMPLE = "https://pypi.org/simple/"


@dataclass(frozen=True)
class IndexConfig:
    index_url: str = PYPI_SIMPLE
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    no_index: bool = False

    @property
    def index_urls(self) -> list[str]:
        """Every simple-API root to consult, primary first."""
        if self.no_index:
            return []
        return [self.index_url, *self.extra_index_urls]

    def uv_args(self) -> list[str]:
        """The same sources, spelled as `uv pip install` options."""
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        else:
            args += ["--index-url", self.index_url]
            for url in self.extra_index_urls:
                args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.offline:
            args.append("--offline")
        return args

    def as_dict(self) -> dict:
        return {
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "offline": self.offline,
            "no_index": self.no_index,
        }


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


def index_config(
    index_url: str | None = None,
    extra_index_urls: list[str] | tuple[str, ...] = (),
    find_links: list[str] | tuple[str, ...] = (),
    offline: bool = False,
    no_index: bool = False,
    environ: dict[str, str] | None = None,
) -> IndexConfig:
    """Options first; else UV_INDEX_URL / UV_EXTRA_INDEX_URL; else PIP_INDEX_URL / PIP_EXTRA_INDEX_URL."""
    env = os.environ if environ is None else environ
    if index_url is None:
        index_url = env.get("UV_INDEX_URL") or env.get("PIP_INDEX_URL") or PYPI_SIMPLE
    if not extra_index_urls:
        extra_index_urls = _split(env.get("UV_EXTRA_INDEX_URL")) or _split(env.get("PIP_EXTRA_INDEX_URL"))
    return IndexConfig(
        index_url=index_url,
        extra_index_urls=tuple(extra_index_urls),
        find_links=tuple(find_links),
        offline=offline,
        no_index=no_index,
    )
