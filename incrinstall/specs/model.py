"""Plain data types shared by the spec sources and `collect()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# Which kind of spec source declared a requirement: pyproject.toml's tables, the build backend's
# metadata, a provider.yaml, or a requirements file.
DeclaredKind = Literal["pyproject", "backend", "provider", "requirements"]


@dataclass(frozen=True)
class Declared:
    """A requirement string as a spec file declares it, before markers are evaluated."""

    requirement: str
    source: str  # "relpath:line"
    kind: DeclaredKind
    extra: str = ""  # the extra it is declared under: the value of `extra` when its marker is evaluated


@dataclass(frozen=True)
class Selection:
    """What the user selected on the command line; part of the fingerprint."""

    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()  # paths or URLs
    providers: tuple[str, ...] = ()  # empty = every provider in the tree
    provider_devel: bool = False  # include provider.yaml devel-dependencies
    all_packages: bool = False  # every workspace member (uv sync --all-packages)
    packages: tuple[str, ...] = ()  # these workspace members only (uv sync --package)
    # With a lock (specs/lockfile.py): uv's default groups join --group unless this is set (uv sync --no-default-groups).
    no_default_groups: bool = False
    lock_file: str | None = None  # --lock FILE: a pylock.toml to install from (path as given)
    no_lock: bool = False  # --no-lock: ignore the tree's lock and resolve

    def as_dict(self) -> dict[str, Any]:
        return {
            "extras": sorted(self.extras),
            "all_extras": self.all_extras,
            "groups": sorted(self.groups),
            "requirement_files": list(self.requirement_files),
            "constraint_files": list(self.constraint_files),
            "providers": sorted(self.providers),
            "provider_devel": self.provider_devel,
            **({"all_packages": True} if self.all_packages else {}),
            **({"packages": sorted(self.packages)} if self.packages else {}),
            **({"no_default_groups": True} if self.no_default_groups else {}),
            **({"lock_file": self.lock_file} if self.lock_file else {}),
            **({"no_lock": True} if self.no_lock else {}),
        }


@dataclass(frozen=True)
class RootRequirement:
    """One requirement a sync must satisfy, with where it came from.

    `requirement` is a PEP 508 string whose marker has already been evaluated
    for the target interpreter (and dropped); `source` is "relpath:line".
    """

    requirement: str
    source: str  # "relpath:line", or the backend that computed it: "setup.py (setuptools)"
    kind: DeclaredKind


@dataclass(frozen=True)
class LocalPackage:
    """A distribution that the tree itself provides (the project, a workspace member, an in-tree provider).

    Its requirements are what the tree declares for it, markers already evaluated for the
    target (and dropped): a package from the index that requires this one (`name[extra]`
    included) brings them in, exactly as it would bring in the dependencies of an index package.
    """

    name: str  # canonical name
    version: str | None  # static, or computed by the build backend when dynamic; None when the tree states none
    path: str  # folder relative to the project dir
    requires: tuple[str, ...] = ()  # base requirements, PEP 508 without markers
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)  # normalized extra -> its own additions
    where: str = ""  # the file that states the version (pyproject.toml, provider.yaml, or the backend's source)
    # Its Requires-Dist as its own METADATA says it, in order, markers kept (`extra == "x"` for an extra's):
    # a stand-in for it must give uv the very metadata uv would read from the package itself, since uv's
    # choices depend on it (a marker evaluated and dropped here changed 8 of 787 versions on Airflow 3).
    requires_dist: tuple[str, ...] = ()
    provides_extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProjectMetadata:
    """The dependency part of the root project's core metadata, as its build backend writes it.

    What an editable install's METADATA needs when only the dependencies changed: the sync can then
    rewrite Requires-Dist / Provides-Extra in place instead of asking uv to build the project again.
    """

    name: str  # canonical
    version: str | None
    requires_dist: tuple[str, ...]  # METADATA form: markers kept, optional ones with `extra == "x"`
    provides_extra: tuple[str, ...]
    # A digest of everything else in pyproject.toml that can change what the backend builds (build
    # system, entry points, package layout, hooks' settings): a refresh in place needs it unchanged.
    shape: str
    backend_metadata: str = ""  # the backend's own METADATA text, when a hook ran (dynamic fields)
    editable_wheel: str = ""  # the editable wheel that hook built from this tree (install it, do not rebuild)


@dataclass
class SpecSet:
    """Everything downstream needs to know about the project's specs."""

    project_dir: str
    project_name: str | None
    requirements: list[RootRequirement]
    constraints: list[RootRequirement]
    files: list[str]  # every file read, relative to project_dir (or a URL)
    fingerprint: str
    selection: Selection
    local_packages: list[LocalPackage] = field(default_factory=list)
    # The tree packages the selection reached (the project, the workspace members it requires, ...): `sync
    # --editable` installs the reached workspace members editable, as `uv sync` does.
    reached: list[str] = field(default_factory=list)
    # Folders whose listing decided which spec files exist (the provider.yaml walk), relative
    # to project_dir: the no-op fast path re-checks their mtimes to notice a new spec file.
    scanned_dirs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was read but ignored, and why (shown with -v)
    project_metadata: ProjectMetadata | None = None  # the root project's, for an editable refresh in place
    # Version-control tools a build backend ran (git, hg): the repository's state decided its answer too.
    vcs: list[str] = field(default_factory=list)
    # Files that do not exist and whose appearance would change the specs (a lock file at the root), relative
    # to project_dir: the no-op fast path checks that they are still absent.
    absent: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "requirements": [r.__dict__ for r in self.requirements],
            "constraints": [r.__dict__ for r in self.constraints],
            "files": list(self.files),
        }
