"""The Dockerfile stage that feeds a recipe: written from the recipe (`recipe --dockerfile`), and checked against it.

A Docker build whose install step sees only the spec files is cached through every source edit,
also on a runner that has nothing but a registry's inline cache: no step of it reads the sources.
That stage is a list of COPY lines, which must be computed and verified, never trusted by hand (a
hand-written list broke Apache Airflow's cache when its providers moved). So:

- `block()` writes the stage from a recipe: `FROM ${BASE_IMAGE} AS specs`, `WORKDIR /specs`, one COPY
  per folder of spec files (plain COPY keeps no folders, so files of one folder share a line; in a stage
  that only feeds a bind mount the layer count is no image's), and one RUN that makes the placeholders
  as empty files (a source edit must not change this stage; a placeholder's real content would) and
  writes the recipe manifest's placeholders and import roots: those come from the backend's editable
  wheel of the full tree, which the stage does not hold, so `recipe /specs` takes them from there;
- `check()` reads a Dockerfile's stage of that name (WORKDIR, COPY lines with their sources, globs,
  folders and `--parents`, the `touch` commands of its RUN lines and the manifest they write) and says
  which of the recipe's files and placeholders it does not provide, and whether its roots are stale.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from incrinstall.common import recipe_manifest
from incrinstall.common.errors import SpecError

STAGE = "specs"
WORKDIR = "/specs"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9._/@+=,:-]+")
_GLOB = re.compile(r"[*?\[]")


@dataclass
class Provided:
    """What a Dockerfile's stage puts into its WORKDIR: files copied from the context, empty files it makes."""

    files: set[str] = field(default_factory=set)  # relative POSIX paths under the stage's WORKDIR
    empty: set[str] = field(default_factory=set)  # made by `touch`
    manifest: recipe_manifest.Manifest | None = None  # written by `echo '{...}' > .incrinstall-recipe.json`
    line: int = 0  # the stage's FROM line


@dataclass
class Check:
    """What the stage lacks, and what it copies that the recipe does not read (harmless, but it reruns the install)."""

    missing: list[str]  # recipe files the stage does not copy
    missing_placeholders: list[str]  # placeholders the stage neither makes nor copies
    unneeded: list[str]  # files the stage copies that the recipe does not hold
    stale_manifest: str | None = None  # how the manifest the stage writes differs from the recipe's

    @property
    def ok(self) -> bool:
        return not self.missing and not self.missing_placeholders and self.stale_manifest is None


def block(files: Iterable[str], placeholders: Iterable[str], roots: Iterable[str] | None = None, *,
          stage: str = STAGE, workdir: str = WORKDIR) -> str:
    """The Dockerfile stage that provides exactly `files` (copied) and `placeholders` (empty), under `workdir`,
    with a manifest naming the placeholders and the editable install's import `roots` (None: --no-editable)."""
    folders: dict[str, list[str]] = {}
    for rel in sorted(files):
        folders.setdefault(posixpath.dirname(rel), []).append(rel)
    lines = [f"FROM ${{BASE_IMAGE}} AS {stage}", f"WORKDIR {workdir}"]
    for folder, members in sorted(folders.items()):
        lines.append(_copy_line(members, f"{folder}/" if folder else "./"))
    placeholders = sorted(placeholders)
    commands: list[str] = []
    if placeholders:
        made = sorted({posixpath.dirname(p) for p in placeholders} - {""})
        run = (f"mkdir -p {' '.join(shlex.quote(d) for d in made)} && " if made else "")
        commands.append(f"{run}touch {' '.join(shlex.quote(p) for p in placeholders)}")
    if roots is not None:
        manifest = recipe_manifest.Manifest((), tuple(placeholders), tuple(roots))
        commands.append(f"echo {shlex.quote(manifest.to_line())} > {recipe_manifest.NAME}")
    if commands:
        lines.append("RUN " + " \\\n    && ".join(commands))
    return "\n".join(lines) + "\n"


def _copy_line(sources: list[str], dest: str) -> str:
    if all(_PLAIN_PATH.fullmatch(p) for p in [*sources, dest]):
        return f"COPY {' '.join(sources)} {dest}"
    return f"COPY {json.dumps([*sources, dest])}"  # the JSON form: paths with spaces or quotes


def check(files: Iterable[str], placeholders: Iterable[str], dockerfile: str | os.PathLike, project_dir: Path, *,
          roots: Iterable[str] | None = None, stage: str = STAGE) -> Check:
    """Which of `files` and `placeholders` the Dockerfile's stage `stage` does not provide (paths in `project_dir`),
    and whether the manifest it writes still names the recipe's placeholders and import `roots`."""
    provided = read_stage(dockerfile, project_dir, stage=stage)
    files = set(files)
    placeholders = sorted(placeholders)
    missing = sorted(files - provided.files)
    missing_placeholders = [p for p in placeholders if p not in provided.empty and p not in provided.files]
    unneeded = sorted(provided.files - files - set(placeholders))
    stale = None
    if roots is not None:
        written = provided.manifest
        if written is None:
            stale = f"it writes no {recipe_manifest.NAME} (the import roots {list(roots)})"
        elif written.roots is None or list(written.roots) != list(roots):
            stale = f"its {recipe_manifest.NAME} names the import roots {written.roots}, the recipe's are {list(roots)}"
        elif list(written.placeholders) != placeholders:
            stale = f"its {recipe_manifest.NAME} names other placeholders than the recipe's {placeholders}"
    return Check(missing, missing_placeholders, unneeded, stale)


# -- reading a Dockerfile ----------------------------------------------------------------------------------------


@dataclass
class _Instruction:
    keyword: str  # upper case
    rest: str  # the arguments, continuation lines joined
    line: int  # where it starts


def instructions(text: str) -> list[_Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comment lines dropped (the default `\\` escape)."""
    out: list[_Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment line inside a continued instruction is dropped, as Docker does
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        joined = " ".join(part.strip() for part in pending if part.strip())
        pending = []
        keyword, _, rest = joined.partition(" ")
        out.append(_Instruction(keyword.upper(), rest.strip(), start))
    if pending:
        joined = " ".join(pending)
        keyword, _, rest = joined.partition(" ")
        out.append(_Instruction(keyword.upper(), rest.strip(), start))
    return out


def read_stage(dockerfile: str | os.PathLike, project_dir: Path, *, stage: str = STAGE) -> Provided:
    """What stage `stage` of `dockerfile` puts under its WORKDIR, with the build context at `project_dir`."""
    path = Path(dockerfile)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the Dockerfile: {exc.strerror}", where=str(path)) from None
    provided: Provided | None = None
    workdir = "/"
    tree = _tree_files(project_dir)
    for ins in instructions(text):
        where = f"{path}:{ins.line}"
        if ins.keyword == "FROM":
            words = ins.rest.split()
            name = words[-1].lower() if len(words) >= 3 and words[-2].lower() == "as" else None
            if provided is not None:
                break  # the next stage begins
            if name == stage.lower():
                provided = Provided(line=ins.line)
                workdir = "/"
            continue
        if provided is None:
            continue
        if ins.keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, ins.rest.strip()))
        elif ins.keyword in ("COPY", "ADD"):
            _read_copy(ins.rest, workdir, tree, project_dir, provided, where)
        elif ins.keyword == "RUN":
            provided.empty |= _touched(ins.rest, workdir)
            provided.manifest = _echoed_manifest(ins.rest, where) or provided.manifest
    if provided is None:
        raise SpecError(f"no stage named {stage!r} (`FROM ... AS {stage}`); `incrinstall recipe --dockerfile` "
                        "writes it", where=str(path))
    return provided


def _read_copy(rest: str, workdir: str, tree: list[str], project_dir: Path, provided: Provided, where: str) -> None:
    flags: dict[str, str] = {}
    words = rest
    while True:
        match = re.match(r"--([a-z-]+)(?:=(\S*))?\s+", words)
        if not match:
            break
        flags[match.group(1)] = match.group(2) or ""
        words = words[match.end():]
    if "from" in flags:
        return  # from another stage or image, not from the build context
    if words.startswith("["):
        try:
            args = [str(a) for a in json.loads(words)]
        except ValueError:
            raise SpecError("cannot read this COPY line's JSON form", where=where) from None
    else:
        args = shlex.split(words)
    if len(args) < 2:
        raise SpecError("a COPY line needs a source and a destination", where=where)
    *sources, dest = args
    parents = "parents" in flags and flags["parents"] not in ("false", "0")
    into_folder = dest.endswith("/") or len(sources) > 1
    dest_abs = posixpath.normpath(posixpath.join(workdir, dest))
    for source in sources:
        source = posixpath.normpath(source.lstrip("/")) if source not in (".", "./") else "."
        for rel, inside in _matches(source, tree, project_dir):
            if parents:
                landed = posixpath.join(dest_abs, rel)
            elif inside is not None:  # a folder's files keep their places inside it
                landed = posixpath.join(dest_abs, inside)
            elif into_folder or _GLOB.search(source):
                landed = posixpath.join(dest_abs, posixpath.basename(rel))
            else:
                landed = dest_abs
            under = posixpath.relpath(landed, workdir)
            if not under.startswith("../"):
                provided.files.add(under)


def _matches(source: str, tree: list[str], project_dir: Path) -> list[tuple[str, str | None]]:
    """(file, its path inside the copied folder or None) for each context file `source` copies."""
    if source == ".":
        return [(rel, rel) for rel in tree]
    if _GLOB.search(source):
        depth = source.count("/")
        hits = [rel for rel in tree if rel.count("/") == depth and fnmatch.fnmatchcase(rel, source)]
        folders = sorted({folder for rel in tree for folder in _parents_of(rel)
                          if folder.count("/") == depth and fnmatch.fnmatchcase(folder, source)})
        out: list[tuple[str, str | None]] = [(h, None) for h in hits]
        for folder in folders:
            out += [(rel, posixpath.relpath(rel, folder)) for rel in tree if rel.startswith(folder + "/")]
        return out
    if (project_dir / source).is_dir():
        return [(rel, posixpath.relpath(rel, source)) for rel in tree if rel.startswith(source + "/")]
    return [(source, None)] if (project_dir / source).is_file() else []


def _parents_of(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _touched(rest: str, workdir: str) -> set[str]:
    """The files a RUN line's `touch` commands make, relative to the stage's WORKDIR."""
    out: set[str] = set()
    for command in re.split(r"&&|;|\|\|", rest):
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if not words or words[0] != "touch":
            continue
        for word in words[1:]:
            if word.startswith("-"):
                continue
            under = posixpath.relpath(posixpath.normpath(posixpath.join(workdir, word)), workdir)
            if not under.startswith("../"):
                out.add(under)
    return out


def _echoed_manifest(rest: str, where: str) -> recipe_manifest.Manifest | None:
    """The manifest a RUN line writes with `echo '{...}' > .incrinstall-recipe.json`, if it writes one."""
    for command in re.split(r"&&|;|\|\|", rest):
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if len(words) == 4 and words[0] == "echo" and words[2] == ">" and words[3] == recipe_manifest.NAME:
            try:
                return recipe_manifest.parse(words[1].encode("utf-8"), where)
            except SpecError:
                raise SpecError(f"cannot read the {recipe_manifest.NAME} this RUN line writes", where=where) from None
    return None


def _tree_files(project_dir: Path) -> list[str]:
    """Every file of the build context, as relative POSIX paths (VCS folders skipped)."""
    out: list[str] = []
    for root, dirs, names in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in (".git", ".hg", ".svn")]
        for name in names:
            out.append(PurePosixPath(Path(os.path.relpath(os.path.join(root, name), project_dir))).as_posix())
    return sorted(out)
