"""Core metadata (METADATA, PKG-INFO, a PEP 658 `.metadata` file) read with packaging.metadata: the one parser.

Used off the hot path: by the index (a candidate's metadata, before it is cached as JSON) and
by the specs (the METADATA a build hook wrote). The installed METADATA of the target is read
on every sync by target/environment.py's own regex scan, which is many times faster and stays.

Parsing is lenient (`packaging.metadata.parse_email`, no validation): a field incrinstall
does not read may be anything. A field it reads that packaging could not parse (a single-use
field given twice, a value that is not UTF-8) makes the file InvalidMetadata, naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.metadata import parse_email

from incrinstall.common.errors import InvalidMetadata

# The fields read here, as the core-metadata specification spells them.
_FIELDS = {name.lower(): name for name in (
    "Metadata-Version", "Name", "Version", "Requires-Dist", "Requires-Python", "Provides-Extra", "Dynamic")}
_FOLD = re.compile(r"\r?\n[ \t]+")


@dataclass(frozen=True)
class CoreMetadata:
    """The fields incrinstall reads, as written (names not normalized); None / () when absent."""

    metadata_version: str | None
    name: str | None
    version: str | None
    requires_dist: tuple[str, ...]
    requires_python: str | None
    provides_extra: tuple[str, ...]
    dynamic: tuple[str, ...]  # lower-cased field names (PEP 643)


def parse_core_metadata(raw: bytes | str, *, file: str | None = None, project: str | None = None,
                        version: str | None = None) -> CoreMetadata:
    """The fields of a core-metadata text; InvalidMetadata (about `file`, `project`, `version`) if unreadable."""

    def invalid(reason: str) -> InvalidMetadata:
        return InvalidMetadata(reason, project=project, version=version, file=file)

    try:
        fields, unparsed = parse_email(raw)
    except (ValueError, LookupError) as exc:  # e.g. a header in an unknown charset
        raise invalid(f"invalid core metadata: {exc}") from exc
    bad = sorted(set(unparsed) & set(_FIELDS))
    if bad:
        problems = [f"{_FIELDS[key]} appears {len(unparsed[key])} times" if len(unparsed[key]) > 1 and
                    key not in ("requires-dist", "provides-extra", "dynamic") else f"{_FIELDS[key]} is not UTF-8"
                    for key in bad]
        raise invalid("invalid core metadata: " + "; ".join(problems))

    def one(key: str) -> str | None:
        value = fields.get(key)
        return (_FOLD.sub(" ", value).strip() or None) if isinstance(value, str) else None

    def many(key: str) -> tuple[str, ...]:
        value = fields.get(key)
        items = value if isinstance(value, list) else []
        return tuple(v for v in (_FOLD.sub(" ", item).strip() for item in items if isinstance(item, str)) if v)

    return CoreMetadata(
        metadata_version=one("metadata_version"),
        name=one("name"),
        version=one("version"),
        requires_dist=many("requires_dist"),
        requires_python=one("requires_python"),
        provides_extra=many("provides_extra"),
        dynamic=tuple(d.lower() for d in many("dynamic")),
    )
