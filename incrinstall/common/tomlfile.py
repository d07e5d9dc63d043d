"""Reading TOML: tomllib for speed, tomlkit only to explain a refused file, line numbers from a scanner.

The one TOML reader of incrinstall: spec files, uv.toml, the state's pylock.toml and the hatch
settings all come through here, so every file gets the same errors (`invalid TOML: ...` at file:line).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from incrinstall.common.errors import SpecError

# A parsed TOML document or table: string keys, values of any TOML type.
TomlTable = dict[str, Any]
# Where an element is: its keys from the top, with the index of an array element (or of an array of tables).
KeyPath = tuple[str | int, ...]


def load_toml(path: Path, rel: str) -> tuple[TomlTable, TomlLocator]:
    """Parse a file; a missing file, bad UTF-8 or bad TOML becomes SpecError at `rel`(:line)."""
    text = read_text(path, rel)
    return parse_toml(text, rel), TomlLocator(text, rel)


def read_text(path: Path, rel: str) -> str:
    """A spec file's text; a missing or unreadable file, or bad UTF-8, becomes SpecError at `rel`(:line)."""
    return read_bytes_and_text(path, rel)[1]


def read_bytes_and_text(path: Path, rel: str) -> tuple[bytes, str]:
    """A spec file's bytes (for a digest) and its text, with read_text's errors."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("file not found", where=rel) from None
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror or exc}", where=rel) from None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"not UTF-8: {exc.reason} (byte {data[exc.start]:#04x})", where=f"{rel}:{line}") from None


def read_toml(path: Path) -> TomlTable:
    """A file incrinstall wrote itself (the state's pylock.toml, uv's output): ValueError when it is not TOML."""
    try:
        return parse_toml(path.read_bytes().decode("utf-8"), str(path))
    except SpecError as exc:  # not the user's specs: callers treat a bad file as absent or as uv's failure
        raise ValueError(str(exc)) from None


def parse_toml(text: str, rel: str) -> TomlTable:
    """Parse with tomllib (about 20x faster than tomlkit); errors become SpecError at rel:line.

    Line numbers for valid files come from TomlLocator, never from the parser. tomlkit (also the
    reader on Python 3.10, which has no tomllib) is asked only to explain a text tomllib refused,
    because its messages name the line.
    """
    if sys.version_info >= (3, 11):
        # Local: the sync that finds nothing to do imports this module (the state's reader) and parses no TOML.
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            pass  # tomlkit below says what and where
    # Local: tomlkit is the slow reader, needed only on Python 3.10 and to explain a refused text.
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        table: TomlTable = tomlkit.parse(text).unwrap()
        return table
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        if not line or "already exists" in str(exc):  # tomlkit places these at the table's end, or nowhere
            line = TomlLocator(text, rel).duplicate_line() or line
        message = re.sub(r"\s+at line \d+ col \d+$", "", str(exc)).replace("'\\x00'", "end of file")
        raise SpecError(f"invalid TOML: {message}", where=f"{rel}:{line}" if line else rel) from None


class TomlLocator:
    """Line numbers of tables, keys and array elements in a valid TOML text.

    tomlkit keeps no positions, so this scans the text once: it understands headers,
    dotted and quoted keys, all four string forms, comments, arrays and inline tables,
    which is all it needs to tell where each element of an array starts.
    """

    def __init__(self, text: str, rel: str):
        self.rel = rel
        self._text = text
        self._lines: dict[KeyPath, int] | None = None

    def _scan(self) -> _TomlScanner:
        scanner = _TomlScanner(self._text)
        try:
            scanner.scan()
        except (ValueError, IndexError):
            pass  # TOML this scanner does not follow: fewer line numbers, never a crash
        return scanner

    def where(self, path: KeyPath, index: int | None = None) -> str:
        """`rel:line` of the element at `path` (element `index` of it when given); `rel` when not found."""
        if self._lines is None:
            self._lines = self._scan().lines
        key = path if index is None else (*path, index)
        line = self._lines.get(key)
        return f"{self.rel}:{line}" if line else self.rel

    def duplicate_line(self) -> int | None:
        """The line of the first key defined twice (tomlkit reports those without a line)."""
        dups = self._scan().duplicates
        return dups[0] if dups else None


class _TomlScanner:
    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.aot_count: dict[KeyPath, int] = {}
        self.duplicates: list[int] = []

    def scan(self) -> dict[KeyPath, int]:
        table: KeyPath = ()
        s = self.s
        while True:
            self._skip_blank(newlines=True)
            if self.i >= len(s):
                return self.lines
            if s[self.i] == "[":
                array_of_tables = s.startswith("[[", self.i)
                self.i += 2 if array_of_tables else 1
                start_line = self.line
                path = self._key_path()
                self.i += 2 if array_of_tables else 1
                if array_of_tables:
                    n = self.aot_count.get(path, 0)
                    self.aot_count[path] = n + 1
                    path = (*path, n)
                elif path in self.lines:
                    self.duplicates.append(start_line)
                self.lines.setdefault(path, start_line)
                table = path
            else:
                self._key_value(table)

    def _key_value(self, table: KeyPath) -> None:
        start_line = self.line
        path = (*table, *self._key_path())
        self._skip_blank()
        self.i += 1  # "="
        if path in self.lines:
            self.duplicates.append(start_line)
        self.lines.setdefault(path, start_line)
        self._value(path)

    def _key_path(self) -> KeyPath:
        parts: list[str | int] = []
        while True:
            self._skip_blank()
            c = self.s[self.i]
            if c in "\"'":
                start = self.i
                self._string()
                raw = self.s[start:self.i]
                parts.append(_decode_key(raw))
            else:
                m = self._BARE.match(self.s, self.i)
                if not m:
                    raise ValueError("unexpected TOML")
                parts.append(m.group())
                self.i = m.end()
            self._skip_blank()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def _value(self, path: KeyPath) -> None:
        self._skip_blank()
        c = self.s[self.i]
        if c == "[":
            self.i += 1
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self.s[self.i] == "]":
                    self.i += 1
                    return
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                self.lines.setdefault((*path, index), self.line)
                self._value((*path, index))
                index += 1
        elif c == "{":
            self.i += 1
            while True:
                self._skip_blank(newlines=True)
                if self.s[self.i] == "}":
                    self.i += 1
                    return
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                self._key_value(path)
        elif c in "\"'":
            self._string()
        else:
            while self.i < len(self.s) and self.s[self.i] not in ",]}\n#":
                self.i += 1

    def _string(self) -> None:
        s = self.s
        q = s[self.i]
        if s.startswith(q * 3, self.i):
            end = self.i + 3
            while True:
                end = s.index(q * 3, end)
                if q == '"' and _escaped(s, end):
                    end += 1
                    continue
                break
            end += 3
            while end < len(s) and s[end] == q:  # up to two quotes may close the content
                end += 1
        else:
            end = self.i + 1
            while s[end] != q or (q == '"' and _escaped(s, end)):
                end += 1
            end += 1
        self.line += s.count("\n", self.i, end)
        self.i = end

    def _skip_blank(self, newlines: bool = False) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r":
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\n" and newlines:
                self.i += 1
                self.line += 1
            else:
                return


def _escaped(s: str, pos: int) -> bool:
    n = 0
    while pos - 1 - n >= 0 and s[pos - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _decode_key(raw: str) -> str:
    if raw.startswith("'"):
        return raw[1:-1]
    try:
        return json.loads(raw)
    except ValueError:
        return raw[1:-1]
