"""The recipe folder's manifest, `.incrinstall-recipe.json`: what `recipe` copied, and where the project's code is.

Written by recipe.py on the full tree; read by the project's editable install (install/project.py),
which makes a recipe's editable install point at `roots` before the sources are there, and by spec
collection, which counts the manifest as a spec file of the folder that holds it: a recipe folder
and the full tree at the same path (a Docker WORKDIR) never share a cached collection.

Schema 2, sorted keys, no timestamps, so equal inputs give equal bytes:

    {"schema": 2,
     "files": [relative POSIX paths copied byte for byte],
     "placeholders": [relative POSIX paths written empty, for the backend to find the packages],
     "roots": [folders an editable install puts on sys.path, "." = the project folder] or null}

`roots` is null when the recipe was written with `--no-editable`. A schema 1 manifest (no roots)
was written by an older incrinstall. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from incrinstall.common.errors import SpecError

NAME = ".incrinstall-recipe.json"
SCHEMA = 2
# What a Dockerfile does instead when the project's editable install cannot come from a recipe.
FALLBACK = ("Install the project after the sources instead: write the recipe with --no-editable, and run "
            "`RUN incrinstall sync --editable ...` after `COPY . .` (README, Docker builds)")


@dataclass(frozen=True)
class Manifest:
    files: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()
    roots: tuple[str, ...] | None = None  # None: no editable install can be made from this recipe
    schema: int = SCHEMA

    def to_bytes(self) -> bytes:
        data = {"schema": self.schema, "files": list(self.files), "placeholders": list(self.placeholders),
                "roots": None if self.roots is None else list(self.roots)}
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")

    def to_line(self) -> str:
        """One line of JSON, for a Dockerfile stage's `echo` (a specs stage lists no files: it copies them)."""
        data: dict[str, object] = {"schema": self.schema, "placeholders": list(self.placeholders),
                                   "roots": None if self.roots is None else list(self.roots)}
        if self.files:
            data["files"] = list(self.files)
        return json.dumps(data, sort_keys=True, separators=(", ", ": "))

    def content_digest(self, folder: str | os.PathLike[str]) -> str:
        """sha256 of what the recipe holds: the manifest, and the bytes of every copied file.

        Placeholders count by name only (the manifest lists them): once the sources are copied over
        the recipe they hold code, and the recipe is still the same recipe.
        """
        h = hashlib.sha256(self.to_bytes())
        for rel in self.files:
            try:
                with open(os.path.join(folder, rel), "rb") as fh:
                    data = fh.read()
            except OSError:
                data = None
            h.update(b"\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
            h.update(b"-missing-" if data is None else len(data).to_bytes(8, "big") + data)
        return h.hexdigest()


def read(folder: str | os.PathLike[str]) -> Manifest | None:
    """The manifest of a recipe folder; None when `folder` holds none. A damaged one is an error naming it."""
    path = os.path.join(folder, NAME)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SpecError(f"cannot read the recipe manifest: {exc.strerror}", where=path) from None
    return parse(raw, path)


def parse(raw: bytes, where: str) -> Manifest:
    """A manifest's bytes (a file's, or a Dockerfile stage's `echo`) as a Manifest; SpecError naming `where`."""
    try:
        data = json.loads(raw)
        schema = int(data["schema"])
        files = tuple(str(f) for f in data.get("files", ()))
        placeholders = tuple(str(p) for p in data.get("placeholders", ()))
        roots = data.get("roots") if schema >= 2 else None
        roots = None if roots is None else tuple(str(r) for r in roots)
    except (ValueError, KeyError, TypeError) as exc:
        raise SpecError(f"not a recipe manifest ({exc}); write the recipe again", where=where) from None
    if schema > SCHEMA:
        raise SpecError(f"recipe manifest schema {schema} is newer than this incrinstall's ({SCHEMA}); "
                        "write the recipe with this incrinstall or upgrade it", where=where)
    return Manifest(files, placeholders, roots, schema)


def spec_files(folder: str | os.PathLike[str]) -> list[str]:
    """[NAME] when `folder` is a recipe, else []: what spec collection adds to the files it read."""
    return [NAME] if os.path.isfile(os.path.join(folder, NAME)) else []


def cache_tag(folder: str | os.PathLike[str]) -> dict[str, str]:
    """Key material that tells a recipe folder from the full tree ({} for a tree that is no recipe)."""
    path = os.path.join(folder, NAME)
    try:
        with open(path, "rb") as fh:
            return {"recipe": hashlib.sha256(fh.read()).hexdigest()}
    except OSError:
        return {}
