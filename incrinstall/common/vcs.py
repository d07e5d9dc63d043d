"""The repository state a version computed from version control depends on, as one digest (git and hg).

A build backend that derives the version from git (setuptools-scm, hatch-vcs, pdm-backend's scm
source, versioneer) runs `git describe` or the like: no file of the tree changes when a commit
or a tag is made, so a cache keyed by the tree alone would serve the old version. The digest
covers what decides that answer without running git:
- git: HEAD, the ref it names (loose, or its line in packed-refs), packed-refs, and every tag
  under refs/tags (name and the object it names); worktrees (`.git` as a file) and linked
  repositories (`commondir`) are followed;
- hg: the working folder's parents (the first 40 bytes of .hg/dirstate), .hg/bookmarks,
  .hg/localtags and .hgtags.
Uncommitted edits (a "dirty" suffix) are not covered: they would tie the digest to every file.
"""

from __future__ import annotations

import hashlib
import os
from typing import Protocol


class Digest(Protocol):
    """What the state is fed into (a hashlib object)."""

    def update(self, data: bytes, /) -> None: ...


def repository_state(project_dir: str | os.PathLike[str], tools: list[str]) -> str:
    """A digest of the state of the repositories holding `project_dir` for each of `tools` ("git", "hg")."""
    digest = hashlib.sha256()
    for tool in sorted(set(tools)):
        digest.update(tool.encode() + b"\0")
        if tool == "git":
            _git_state(os.fspath(project_dir), digest)
        elif tool == "hg":
            _hg_state(os.fspath(project_dir), digest)
    return digest.hexdigest()


def _find_upwards(start: str, name: str) -> str | None:
    folder = os.path.realpath(start)
    while True:
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _read(path: str, limit: int | None = None) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read() if limit is None else fh.read(limit)
    except OSError:
        return None


def _add(digest: Digest, label: str, data: bytes | None) -> None:
    digest.update(label.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(b"-missing-" if data is None else len(data).to_bytes(8, "big") + data)


def _git_dirs(project_dir: str) -> tuple[str, str] | None:
    """(the git folder with HEAD, the common folder with refs) of the repository holding project_dir."""
    dot_git = _find_upwards(project_dir, ".git")
    if dot_git is None:
        return None
    git_dir = dot_git
    if os.path.isfile(dot_git):  # a worktree or submodule: "gitdir: <path>"
        text = (_read(dot_git) or b"").decode("utf-8", "replace").strip()
        if not text.startswith("gitdir:"):
            return None
        git_dir = os.path.normpath(os.path.join(os.path.dirname(dot_git), text[len("gitdir:"):].strip()))
    common = git_dir
    linked = (_read(os.path.join(git_dir, "commondir")) or b"").decode("utf-8", "replace").strip()
    if linked:
        common = os.path.normpath(os.path.join(git_dir, linked))
    return git_dir, common


def _git_state(project_dir: str, digest: Digest) -> None:
    dirs = _git_dirs(project_dir)
    if dirs is None:
        _add(digest, "no repository", None)
        return
    git_dir, common = dirs
    head = _read(os.path.join(git_dir, "HEAD"))
    _add(digest, "HEAD", head)
    if head is not None and head.startswith(b"ref:"):
        ref = head[4:].strip().decode("utf-8", "replace")
        _add(digest, ref, _read(os.path.join(common, *ref.split("/"))))
    _add(digest, "packed-refs", _read(os.path.join(common, "packed-refs")))
    tags = os.path.join(common, "refs", "tags")
    for folder, subfolders, files in os.walk(tags):
        subfolders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            _add(digest, os.path.relpath(path, tags).replace(os.sep, "/"), _read(path))


def _hg_state(project_dir: str, digest: Digest) -> None:
    dot_hg = _find_upwards(project_dir, ".hg")
    if dot_hg is None:
        _add(digest, "no repository", None)
        return
    _add(digest, "parents", _read(os.path.join(dot_hg, "dirstate"), 40))
    for name in ("bookmarks", "localtags"):
        _add(digest, name, _read(os.path.join(dot_hg, name)))
    _add(digest, ".hgtags", _read(os.path.join(os.path.dirname(dot_hg), ".hgtags")))
