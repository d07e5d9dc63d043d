"""What the resolver hands resolvelib: requirement edges (`Req`) and candidates, and how one is judged by the other.

resolvelib identifies both by `identifier(name, extras)`: a package's extras are candidates of their
own, tied to the base package at the same version (as pip does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from incrinstall.common.names import canonical_name
from incrinstall.resolve.model import PinOrigin
from incrinstall.resolve.requires import evaluate, parse_requirement

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.index.client import IndexVersion
    from incrinstall.specs.model import RootRequirement

# Where a candidate comes from: a pin's origins, or the project tree itself (never pinned).
CandidateOrigin = PinOrigin | Literal["local"]


def identifier(name: str, extras: Iterable[str] = ()) -> str:
    ordered = sorted(extras)
    return f"{name}[{','.join(ordered)}]" if ordered else name


@dataclass(frozen=True)
class Req:
    """One requirement edge: what is asked, and who asked for it (for explanations)."""

    name: str  # canonical
    extras: frozenset[str]
    specifier: SpecifierSet
    url: str | None
    asked_by: str  # "pyproject.toml:12" for a root requirement, else "pkg 1.0"
    text: str  # the requirement as written, for messages
    from_user: bool = False  # a root requirement or constraint: only these opt in to yanked / pre-releases

    @property
    def key(self) -> str:
        return identifier(self.name, self.extras)

    def allows_yanked(self) -> bool:
        # PEP 592: a yanked file is fine only when the requirement pins it exactly.
        return any(s.operator in ("==", "===") and not s.version.endswith(".*") for s in self.specifier)


@dataclass(frozen=True, eq=False)
class Candidate:
    """One version of one package from one origin.

    An "installed" candidate carries its InstalledDist, an "index" one its IndexVersion; a "local"
    one (a package of the tree) carries neither, and its version is None when the tree states none.
    """

    name: str
    version: Version | None
    origin: CandidateOrigin
    extras: frozenset[str] = frozenset()
    installed: InstalledDist | None = None
    index_version: IndexVersion | None = None
    yanked: bool = False
    direct: bool = False  # the file a direct URL requirement (`name @ https://...`) names

    @property
    def key(self) -> str:
        return identifier(self.name, self.extras)

    def with_extras(self, extras: frozenset[str]) -> Candidate:
        return Candidate(self.name, self.version, self.origin, extras, self.installed, self.index_version,
                         self.yanked, self.direct)

    def __repr__(self) -> str:
        return f"{self.key}=={self.version} ({self.origin})"


def version_or_none(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def make_req(req: Requirement, asked_by: str, *, from_user: bool = False) -> Req:
    return Req(
        name=canonical_name(req.name),
        extras=frozenset(canonical_name(e) for e in req.extras),
        specifier=req.specifier,
        url=req.url,
        asked_by=asked_by,
        text=str(req),
        from_user=from_user,
    )


def root_reqs(roots: Sequence[RootRequirement], markers: Mapping[str, str]) -> list[Req]:
    """The roots (or constraints) whose marker holds on the target, as the user's own edges."""
    out = []
    for root in roots:
        req = parse_requirement(root.requirement, root.source)
        if req.marker is not None and not evaluate(req.marker, {**markers, "extra": ""}):
            continue
        out.append(make_req(req, root.source, from_user=True))
    return out


def bare_url(url: str) -> str:
    return url.split("#", 1)[0]


def from_url(candidate: Candidate, url: str) -> bool:
    """Is `candidate` the file `url` names (downloaded for this resolution, or installed from it)?"""
    if candidate.direct and candidate.index_version is not None:
        return candidate.index_version.best.url == bare_url(url)
    if candidate.origin == "installed" and candidate.installed is not None:
        recorded = (candidate.installed.direct_url or {}).get("url")
        return isinstance(recorded, str) and bare_url(recorded) == bare_url(url)
    return False


# A requirement whose whole marker is one `extra == "name"` test (group 1: the requirement, group 2 or 3: the extra).
ONLY_EXTRA = re.compile(r"""^([^;@]*?)\s*;\s*extra\s*==\s*(?:"([^"]*)"|'([^']*)')\s*$""")

_SPECIFIER_SETS: dict[str, SpecifierSet] = {}  # a large environment repeats a few hundred specifiers


def specifier_set(text: str) -> SpecifierSet:
    spec = _SPECIFIER_SETS.get(text)
    if spec is None:
        spec = _SPECIFIER_SETS[text] = SpecifierSet(text)
    return spec
