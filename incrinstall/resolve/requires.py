"""Requires-Dist lines, parsed and judged for the target once, remembered across runs.

The delta walk reads every installed package's Requires-Dist on every sync: thousands of
lines on a large environment, each a full PEP 508 parse and a marker evaluation, for packages
the change did not touch. The answer depends only on the line's text and the target's marker
environment, so it is cached by text, in one file per marker environment (and packaging
version, whose parser decides it). Only the base candidate's answer (`extra` = "") is cached:
an extra's lines are few and go through the full path.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

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


class RequiresCache:
    def __init__(self, markers: dict[str, str], folder=None):
        import packaging

        material = json.dumps([FORMAT, packaging.__version__, markers], sort_keys=True)
        self._file = None
        if folder is not None:
            self._file = folder / (hashlib.sha256(material.encode("utf-8")).hexdigest() + ".json")
        self._known: dict[str, list] = {}
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
        except (IndexError, TypeError):
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
        from incrinstall.common.atomic import write_atomic

        known = self._known
        if len(known) > _KEEP_AT_MOST:
            known = {text: known[text] for text in self._used if text in known}
        try:
            write_atomic(self._file, json.dumps(known))
        except OSError:
            pass
