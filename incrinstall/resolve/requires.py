"""Requires-Dist lines, parsed and judged for the target once, remembered across runs.

The delta walk reads every installed package's Requires-Dist on every sync: thousands of
lines on a large environment, each a full PEP 508 parse and a marker evaluation, for packages
the change did not touch. The answer depends only on the line's text and the target's marker
environment, so it is cached by text, in one file per marker environment (and packaging
version, whose parser decides it). Only the base candidate's answer (`extra` = "") is cached:
an extra's lines are few and go through the full path. The post-install check (install/verify.py)
reads the same cache through `requirement_lines()`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import packaging
from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import ResolutionError
from incrinstall.common.names import canonical_name
from incrinstall.common.paths import cache_dir

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist

FORMAT = 1
_KEEP_AT_MOST = 50_000  # lines per marker environment; beyond that only this run's are kept


class ParsedLine(NamedTuple):
    """One Requires-Dist line as the base candidate sees it on the target; `applies` False = marker false."""

    applies: bool
    name: str = ""  # canonical
    extras: tuple[str, ...] = ()
    specifier: str = ""
    url: str | None = None
    text: str = ""  # the requirement as packaging prints it (for messages)


# A cached line as JSON holds it: [applies, name, extras, specifier, url, text] (as read: unchecked).
_Entry = list[Any]


class RequiresCache:
    """The lines of one marker environment; `folder` None keeps them for this run only."""

    def __init__(self, markers: Mapping[str, str], folder: Path | None = None):
        material = json.dumps([FORMAT, packaging.__version__, dict(markers)], sort_keys=True)
        self._file: Path | None = None
        if folder is not None:
            self._file = folder / (hashlib.sha256(material.encode("utf-8")).hexdigest() + ".json")
        self._known: dict[str, _Entry] = {}
        self._used: set[str] = set()
        self._added = False
        if self._file is not None:
            try:
                with open(self._file, encoding="utf-8") as fh:
                    data = json.load(fh)
                if isinstance(data, dict):
                    self._known = data
            except (OSError, ValueError, RecursionError):
                pass  # none yet, or damaged: parse afresh

    def get(self, text: str) -> ParsedLine | None:
        entry = self._known.get(text)
        if entry is None:
            return None
        try:
            line = ParsedLine(entry[0], entry[1], tuple(entry[2]), entry[3], entry[4], entry[5])
        except (IndexError, TypeError):  # another shape: parse afresh
            return None
        self._used.add(text)
        return line

    def put(self, text: str, line: ParsedLine) -> None:
        self._known[text] = [line.applies, line.name, list(line.extras), line.specifier, line.url, line.text]
        self._used.add(text)
        self._added = True

    def save(self) -> None:
        """Write what was learnt; a cache that cannot be written only costs the next run its parsing."""
        if self._file is None or not self._added:
            return
        known = self._known
        if len(known) > _KEEP_AT_MOST:
            known = {text: known[text] for text in self._used if text in known}
        try:
            write_atomic(self._file, json.dumps(known))
        except OSError:
            pass


def parse_requirement(text: str, where: str) -> Requirement:
    """`text` as a PEP 508 requirement; ResolutionError at `where` (the package that declares it) if invalid."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ResolutionError(f"invalid requirement {text!r}: {exc}", where=where) from None


def evaluate(marker: Marker, env: Mapping[str, str]) -> bool:
    """Does `marker` hold for `env`? A variable or comparison PEP 508 leaves undefined does not."""
    try:
        return marker.evaluate(dict(env))
    except (UndefinedEnvironmentName, UndefinedComparison):
        return False


def parsed_line(text: str, markers: Mapping[str, str], asked_by: str) -> ParsedLine:
    """One Requires-Dist line judged for the base candidate on the target (what the cache keeps)."""
    req = parse_requirement(text, asked_by)
    applies = req.marker is None or evaluate(req.marker, {**markers, "extra": ""})
    return ParsedLine(applies, canonical_name(req.name), tuple(sorted(canonical_name(e) for e in req.extras)),
                      str(req.specifier), req.url, str(req))


def cached_line(cache: RequiresCache, text: str, markers: Mapping[str, str], asked_by: str) -> ParsedLine:
    """The line from the Requires-Dist cache, else parsed, judged and put there (ResolutionError if invalid)."""
    line = cache.get(text)
    if line is None:
        line = parsed_line(text, markers, asked_by)
        cache.put(text, line)
    return line


def requirement_lines(markers: Mapping[str, str], dists: Iterable[InstalledDist]) -> dict[str, list[ParsedLine]]:
    """The base Requires-Dist lines of each of `dists` that apply on the target, by name.

    Through the Requires-Dist cache: a line seen before is not parsed again, and a line parsed here
    is not parsed by the next delta walk (a resolution uv made, such as a baseline's, parses none).
    An invalid line is left out: the walk that needs it reports it, with its package.
    """
    markers = dict(markers)
    cache = RequiresCache(markers, cache_dir() / "requires")
    out: dict[str, list[ParsedLine]] = {}
    for dist in dists:
        lines = []
        for text in dist.requires_dist:
            try:
                line = cached_line(cache, text, markers, dist.name)
            except ResolutionError:
                continue
            if line.applies:
                lines.append(line)
        out[dist.name] = lines
    cache.save()
    return out
