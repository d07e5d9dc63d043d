"""Read pip-format requirements and constraints files (nested -r/-c, continuations, comments, URLs)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

from packaging.requirements import InvalidRequirement, Requirement

from incrinstall.common.errors import SpecError
from incrinstall.common.names import is_url
from incrinstall.specs.model import Declared

_COMMENT = re.compile(r"(^|\s+)#.*$")
_EXTRAS_SUFFIX = re.compile(r"^(?P<path>.*?)(\[(?P<extras>[^\]]*)\])?$")
_OPTION = re.compile(r"^(?P<flag>-[a-zA-Z]|--[a-z-]+)(?:=|\s+|(?<=^-[a-zA-Z]))(?P<value>.*)$")


@dataclass(frozen=True)
class LocalRef:
    """A requirement line that names a local folder (`-e .[devel]`, `./libs/foo`)."""

    path: str  # absolute, resolved
    extras: tuple[str, ...]
    source: str


@dataclass
class ReqFiles:
    requirements: list[Declared | LocalRef] = field(default_factory=list)  # in file order
    constraints: list[Declared] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # relpaths (or absolute outside the tree, or URLs)
    url_contents: dict[str, bytes] = field(default_factory=dict)


def read(project_dir: Path, requirement_files: Iterable[str] = (), constraint_files: Iterable[str] = ()) -> ReqFiles:
    """Parse the files given on the command line. Relative paths are looked up in project_dir, then the cwd."""
    reader = _Reader(Path(project_dir).resolve())
    for entry in requirement_files:
        reader.read_top(entry, constraint=False)
    for entry in constraint_files:
        reader.read_top(entry, constraint=True)
    return reader.out


class _Reader:
    def __init__(self, project_dir: Path):
        self.project_dir = project_dir
        self.out = ReqFiles()
        self.done: set[tuple[str, bool]] = set()

    def read_top(self, entry: str, *, constraint: bool) -> None:
        if is_url(entry):
            self._read(entry, constraint, where=entry)
            return
        path = Path(entry).expanduser()
        if not path.is_absolute():
            in_tree = self.project_dir / path
            path = in_tree if in_tree.exists() or not (Path.cwd() / path).exists() else Path.cwd() / path
        self._read(str(path.resolve()), constraint, where=entry)

    def _label(self, location: str) -> str:
        if is_url(location):
            return location
        try:
            return Path(location).relative_to(self.project_dir).as_posix()
        except ValueError:
            return location

    def _read(self, location: str, constraint: bool, *, where: str) -> None:
        if (location, constraint) in self.done:
            return  # read once: also ends -r cycles
        self.done.add((location, constraint))
        label = self._label(location)
        if is_url(location):
            # The HTTP stack (http.client, ssl) only for a file given by URL: a path needs none of it.
            from incrinstall.common.http import fetch_spec_file

            data = fetch_spec_file(location, where=where)
            self.out.url_contents[location] = data
        else:
            try:
                data = Path(location).read_bytes()
            except (FileNotFoundError, NotADirectoryError):
                kind = "constraints" if constraint else "requirements"
                raise SpecError(f"{kind} file not found: {label}", where=where) from None
            except IsADirectoryError:
                raise SpecError(f"not a file: {label}", where=where) from None
        if label not in self.out.files:
            self.out.files.append(label)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            at = data.count(b"\n", 0, exc.start) + 1
            raise SpecError(f"not UTF-8: {exc}", where=f"{label}:{at}") from None
        for number, line in _logical_lines(text):
            self._line(location, label, number, line, constraint)

    def _line(self, location: str, label: str, number: int, line: str, constraint: bool) -> None:
        source = f"{label}:{number}"
        if line.startswith("-"):
            m = _OPTION.match(line)
            flag, value = (m.group("flag"), m.group("value").strip()) if m else (line, "")
            if flag in ("-r", "--requirement", "-c", "--constraint"):
                if not value:
                    raise SpecError(f"{flag} needs a file name", where=source)
                nested_constraint = constraint or flag in ("-c", "--constraint")
                self._read(self._join(location, value), nested_constraint, where=source)
            elif flag in ("-e", "--editable"):
                self._requirement(location, source, value, constraint, editable=True)
            # Every other option (--index-url, --hash, --pre, ...) does not change what is required.
            return
        self._requirement(location, source, line, constraint, editable=False)

    def _join(self, location: str, value: str) -> str:
        if is_url(value):
            return value
        if is_url(location):
            return urljoin(location, value)
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path(location).parent / path
        return str(path.resolve())

    def _requirement(self, location: str, source: str, text: str, constraint: bool, *, editable: bool) -> None:
        # Per-requirement options (--hash=..., --config-settings ...) start at the first "-" token.
        words = text.split()
        for i, word in enumerate(words):
            if word.startswith("-"):
                words = words[:i]
                break
        text = " ".join(words)
        if not text:
            return
        if editable and ("+" in text.split(":", 1)[0] and "://" in text):
            raise SpecError(f"editable VCS requirements are not supported: {text!r}; "
                            "write 'name @ git+https://...' instead", where=source)
        if not editable:
            try:
                Requirement(text)
            except InvalidRequirement as exc:
                if not _looks_like_path(text):
                    raise SpecError(f"invalid requirement {text!r}: {exc}", where=source) from None
            else:
                if constraint and Requirement(text).extras:
                    raise SpecError(f"constraints cannot have extras: {text!r}", where=source)
                declared = Declared(text, source, "requirements", "")
                if constraint:
                    self.out.constraints.append(declared)
                else:
                    self.out.requirements.append(declared)
                return
        if "://" in text and not text.startswith("file://"):
            raise SpecError(f"a URL requirement needs a name: write 'name @ {text}'", where=source)
        if constraint:
            raise SpecError(f"constraints must name a package, not a path: {text!r}", where=source)
        m = _EXTRAS_SUFFIX.match(text)
        assert m is not None, "the pattern matches any line"
        raw_path = m.group("path")
        extras = tuple(e.strip() for e in (m.group("extras") or "").split(",") if e.strip())
        if raw_path.startswith("file://"):
            raw_path = unquote(urlparse(raw_path).path)
        if is_url(location):
            raise SpecError(f"a file fetched by URL cannot name a local path: {text!r}", where=source)
        path = Path(raw_path).expanduser()
        if not path.is_absolute():
            path = Path(location).parent / path  # like uv: relative to the file that names it
        self.out.requirements.append(LocalRef(str(path.resolve()), extras, source))


def _looks_like_path(text: str) -> bool:
    return text.startswith((".", "/", "~", "file:")) or "/" in text or os.sep in text


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first physical line number, line) after joining continuations and dropping comments."""
    parts: list[str] = []
    start = 0
    for number, physical in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        is_comment = physical.lstrip().startswith("#")
        if physical.endswith("\\") and not is_comment:
            parts.append(physical[:-1])
            continue
        parts.append(" " + physical if is_comment else physical)
        line = _COMMENT.sub("", "".join(parts)).strip()
        parts = []
        if line:
            yield start, line
    if parts:
        line = _COMMENT.sub("", "".join(parts)).strip()
        if line:
            yield start, line
