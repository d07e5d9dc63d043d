"""Resolve root requirements to pinned versions, preferring what is already installed.

The resolvelib provider below is where every policy lives: the tree satisfies its own
packages, the installed version is tried first, then the baseline pin, then the index
newest first. The index is only asked about a package when no installed (or tree)
candidate fits, so an unchanged spec resolves with zero network requests. Before any of
that, a walk through the installed packages settles everything they already satisfy, so
resolvelib only sees the delta (`_resolve_delta`).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from incrinstall.common.errors import IndexUnavailable, ResolutionError
from incrinstall.common.names import names_prerelease
from incrinstall.common.paths import cache_dir
from incrinstall.resolve.requires import ParsedLine, RequiresCache
from incrinstall.common.config import PRERELEASE_MODES
from incrinstall.resolve.model import ROOT, LargeResolution, Pin, Resolution

if TYPE_CHECKING:
    from incrinstall.index.client import IndexVersion
    from incrinstall.resolve.model import PackageIndex
    from incrinstall.specs.model import LocalPackage, RootRequirement
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.environment.installed import InstalledDist

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
    """One version of one package from one origin ("installed", "index" or "local")."""

    name: str
    version: Version
    origin: str
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


def identifier(name: str, extras: Iterable[str] = ()) -> str:
    extras = sorted(extras)
    return f"{name}[{','.join(extras)}]" if extras else name


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


class _Provider(AbstractProvider):
    def __init__(
        self,
        *,
        markers: dict[str, str],
        installed: Mapping[str, InstalledDist],
        index: PackageIndex | None,
        local: Mapping[str, LocalPackage],
        baseline_pins: Mapping[str, str],
        constraints: Mapping[str, list[Req]],
        prerelease: str,
        upgrade: bool,
    ):
        self.markers = markers
        self.installed = installed
        self.index = index
        self.local = local
        self.baseline_pins = baseline_pins
        self.constraints = constraints
        self.prerelease = prerelease
        self.upgrade = upgrade
        # Keyed by value, not id(): resolvelib re-creates candidates on every iteration and
        # a freed candidate's id is soon reused by another package's.
        self._deps_cache: dict[tuple, list[Req]] = {}
        # Installed packages whose requirements a delta resolution takes as already met
        # (checked afterwards by walking the result): resolvelib does not expand them.
        self.frozen: frozenset[str] = frozenset()
        self.max_open: int | None = None  # raise LargeResolution beyond this many packages looked up
        self.looked_up: set[str] = set()
        self.requires_cache: RequiresCache | None = None

    def look_up(self, names: Iterable[str]) -> None:
        """Count the packages the index is asked about, before it is asked."""
        self.looked_up.update(names)
        if self.max_open is not None and len(self.looked_up) > self.max_open:
            raise LargeResolution(len(self.looked_up))

    # -- resolvelib protocol ---------------------------------------------------

    def identify(self, requirement_or_candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes) -> tuple:
        infos = list(information[identifier])
        pinned = any(
            s.operator in ("==", "===") for info in infos for s in info.requirement.specifier
        )
        is_root = any(info.parent is None for info in infos)
        name = identifier.split("[", 1)[0]
        caused_backtrack = any(c.requirement.name == name for c in backtrack_causes)
        # Conflicts first (fail fast), then exact pins, then root requirements; the
        # base package before its extras so extras reuse the chosen version.
        return (not caused_backtrack, not pinned, not is_root, "[" in identifier, identifier)

    def find_matches(self, identifier, requirements, incompatibilities):
        reqs = list(requirements[identifier])
        name = identifier.split("[", 1)[0]
        bad = {id(c) for c in incompatibilities[identifier]}
        bad_versions = {c.version for c in incompatibilities[identifier]}
        extras = frozenset(reqs[0].extras) if reqs else frozenset()
        all_reqs = reqs + self.constraints.get(name, [])
        # A lazy factory: resolvelib only pulls the next candidate when the previous
        # one failed, so the index is never asked while the installed one fits.
        return lambda: self._iter_matches(name, extras, all_reqs, bad, bad_versions)

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.url and candidate.origin != "local" and not _from_url(candidate, requirement.url):
            return False
        if candidate.version is None:  # a tree package whose version the tree does not state
            return self._unversioned_ok(candidate.name, [requirement])
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.origin == "installed" and not candidate.extras and candidate.name in self.frozen:
            return []
        return self.dependencies(candidate)

    # -- helpers ---------------------------------------------------------------

    def dependencies(self, candidate: Candidate) -> list[Req]:
        """Everything `candidate` requires for the target (its extras' additions and the tie to its base included)."""
        key = (candidate.name, candidate.version, candidate.origin, candidate.extras)
        cached = self._deps_cache.get(key)
        if cached is not None:
            return cached
        deps: list[Req] = []
        if candidate.extras:
            # An extra is tied to its base package at the very same version (as pip does). The
            # extra's version was already admitted (a yanked pin, a named pre-release), so the
            # tie speaks for the user; a tree package of unknown version ties to the tree itself.
            same = "" if candidate.version is None else f"=={candidate.version}"
            deps.append(
                Req(candidate.name, frozenset(), SpecifierSet(same), None,
                    f"{candidate.name}[{','.join(sorted(candidate.extras))}] {candidate.version}",
                    f"{candidate.name}{same}", from_user=True)
            )
        if candidate.origin == "local":
            deps += self._tree_requirements_of(candidate)
        else:
            deps += self._requirements_of(candidate)
        self._deps_cache[key] = deps
        self.prefetch(deps)
        return deps

    def prefetch(self, reqs: Iterable[Req]) -> None:
        """Fetch, concurrently, the pages (and the likely metadata) of what the environment cannot supply.

        resolvelib asks for one package at a time; without this, a fresh resolution pays one
        round trip per page and per metadata file in sequence. Only packages that no installed
        or tree candidate satisfies are fetched, and those would be fetched anyway.
        """
        if self.index is None:
            return
        needed: dict[str, list[Req]] = {}
        for req in reqs:
            if req.url:
                continue
            have = self.present(req.name)
            if have is None or not self.accepts(req, have):
                needed.setdefault(req.name, []).append(req)
        if not needed:
            return
        self.look_up(needed)
        self.index.prefetch(needed)
        likely = []
        for name, wanted in needed.items():
            try:
                versions = self.index.versions(name)
            except IndexUnavailable:  # remembered by the index: the real lookup raises it again, in context
                continue
            for iv in versions:  # newest first: the version a fresh resolution would try first
                if iv.version.is_prerelease or iv.yanked:
                    continue
                if all(r.specifier.contains(iv.version, prereleases=True) for r in wanted):
                    likely.append(iv)
                    break
        if likely:
            self.index.prefetch_metadata(likely)

    def present(self, name: str) -> Candidate | None:
        """What the tree or the environment already has for `name`, without asking the index."""
        if name in self.local:
            return Candidate(name, _version(self.local[name].version or ""), "local")
        dist = self.installed.get(name)
        version = _version(dist.version) if dist is not None else None
        return Candidate(name, version, "installed", installed=dist) if version is not None else None

    def accepts(self, req: Req, candidate: Candidate) -> bool:
        """Does `candidate` meet `req` and every constraint on its name, as find_matches would judge it?"""
        if req.url and candidate.origin != "local" and not _from_url(candidate, req.url):
            return False
        reqs = (req, *self.constraints.get(req.name, ()))
        if candidate.version is None:
            return self._unversioned_ok(candidate.name, reqs)
        return all(r.specifier.contains(candidate.version, prereleases=True) for r in reqs)

    def _unversioned_ok(self, name: str, reqs: Iterable[Req]) -> bool:
        """A tree package that states no version meets a bare requirement; a version specifier cannot be checked."""
        for req in reqs:
            if req.specifier:
                where = self.local[name].where if name in self.local else ""
                raise ResolutionError(
                    f"{req.text} (required by {req.asked_by}) cannot be checked: the tree's package {name} "
                    "states no version", where=where or None)
        return True

    def _tree_requirements_of(self, candidate: Candidate) -> list[Req]:
        """What the tree declares for one of its own packages (base, or the candidate's extras)."""
        package = self.local[candidate.name]
        asked_by = f"{candidate.name} {package.version or ''} (tree)".replace("  ", " ")
        if candidate.extras:
            texts = [t for extra in sorted(candidate.extras) for t in package.extras.get(extra, ())]
        else:
            texts = list(package.requires)
        return [make_req(parse_requirement(text, asked_by), asked_by) for text in texts]

    def _requirements_of(self, candidate: Candidate) -> list[Req]:
        if candidate.origin == "installed":
            requires = candidate.installed.requires_dist
        else:
            requires = self.index.metadata(candidate.index_version).requires_dist
        asked_by = f"{candidate.name} {candidate.version}"
        if not candidate.extras and self.requires_cache is not None:
            return self._base_requirements(requires, asked_by)
        wanted_extras = sorted(candidate.extras)
        out = []
        for text in requires:
            only_extra = _ONLY_EXTRA.match(text)
            if only_extra is not None:
                # `dep ; extra == "x"`, most of what packages declare: decided without parsing a marker.
                if canonicalize_name(only_extra.group(2) or only_extra.group(3) or "") not in candidate.extras:
                    continue
                out.append(make_req(parse_requirement(only_extra.group(1), asked_by), asked_by))
                continue
            req = parse_requirement(text, asked_by)
            if req is None:
                continue
            marker = req.marker
            if candidate.extras:
                # The base candidate brings the unconditional dependencies; the extra
                # candidate only adds what its extras ask for.
                if marker is None or not any(
                    _evaluate(marker, {**self.markers, "extra": e}) for e in wanted_extras
                ):
                    continue
                if _evaluate(marker, {**self.markers, "extra": ""}):
                    continue
            elif marker is not None and not _evaluate(marker, {**self.markers, "extra": ""}):
                continue
            out.append(make_req(req, asked_by))
        return out

    def _base_requirements(self, requires: Iterable[str], asked_by: str) -> list[Req]:
        """The base candidate's requirements, each line parsed and judged once per target (requires.py)."""
        cache = self.requires_cache
        out = []
        for text in requires:
            line = _cached_line(cache, text, self.markers, asked_by)
            if line.applies:
                out.append(Req(line.name, frozenset(line.extras), _specifier_set(line.specifier), line.url,
                               asked_by, line.text))
        return out

    def _iter_matches(self, name, extras, reqs, bad, bad_versions) -> Iterator[Candidate]:
        def fits(version: Version) -> bool:
            return version not in bad_versions and all(
                r.specifier.contains(version, prereleases=True) for r in reqs
            )

        if name in self.local:
            tree_version = _version(self.local[name].version or "")
            if tree_version is None:
                if self._unversioned_ok(name, reqs):
                    yield Candidate(name, None, "local", extras)
            elif fits(tree_version):
                yield Candidate(name, tree_version, "local", extras)
            return  # the tree is the only source of its own packages

        url_reqs = [r for r in reqs if r.url]
        if url_reqs:
            yield from self._direct_matches(name, extras, url_reqs, fits)
            return
        seen: set[Version] = set()
        dist = self.installed.get(name)
        if dist is not None and not self.upgrade:
            version = _version(dist.version)
            if version is not None and fits(version):
                seen.add(version)
                yield Candidate(name, version, "installed", extras, installed=dist)

        if self.index is None:
            return
        self.look_up([name])
        versions = self.index.versions(name)
        allow_pre = self._allows_prereleases(versions, reqs)
        # PEP 592 (as uv and packse read it): only the user's own exact pin opts in to a yanked file.
        allow_yanked = any(r.from_user and r.allows_yanked() for r in reqs)
        matches = []
        for iv in versions:
            if iv.version in seen or not fits(iv.version):
                continue
            if iv.version.is_prerelease and not allow_pre:
                continue
            if iv.yanked and not allow_yanked:
                continue
            matches.append(iv)
        baseline = _version(self.baseline_pins.get(name, ""))
        if baseline is not None and not self.upgrade:
            # Second choice after the installed version: what the baseline had.
            matches.sort(key=lambda iv: iv.version != baseline)
        for iv in matches:
            yield Candidate(name, iv.version, "index", extras, index_version=iv, yanked=iv.yanked)

    def _direct_matches(self, name, extras, url_reqs: list[Req], fits) -> Iterator[Candidate]:
        """The one file a direct URL names: as installed from it, else downloaded and read."""
        urls = {_bare_url(r.url) for r in url_reqs}
        if len(urls) > 1:
            raise ResolutionError(f"{name} is required from different URLs: " + ", ".join(sorted(urls)),
                                  where=url_reqs[0].asked_by)
        url = url_reqs[0].url
        dist = self.installed.get(name)
        if dist is not None and not self.upgrade:
            here = Candidate(name, _version(dist.version), "installed", extras, installed=dist)
            if here.version is not None and _from_url(here, url) and fits(here.version):
                yield here
        if self.index is None:
            return
        self.look_up([name])
        iv = self.index.direct(name, url)
        if fits(iv.version):
            yield Candidate(name, iv.version, "index", extras, index_version=iv, direct=True)

    def _allows_prereleases(self, versions, reqs: list[Req]) -> bool:
        if self.prerelease == "allow":
            return True
        if self.prerelease == "disallow":
            return False
        # "if-necessary-or-explicit": a specifier of the user's that names a pre-release
        # opts in, and so does a package that has published nothing but pre-releases.
        if any(names_prerelease(s.version) for r in reqs if r.from_user for s in r.specifier):
            return True
        return bool(versions) and all(iv.version.is_prerelease for iv in versions)


def _bare_url(url: str) -> str:
    return url.split("#", 1)[0]


def _from_url(candidate: Candidate, url: str) -> bool:
    """Is `candidate` the file `url` names (downloaded for this resolution, or installed from it)?"""
    if candidate.direct:
        return candidate.index_version.best.url == _bare_url(url)
    if candidate.origin == "installed" and candidate.installed is not None:
        recorded = (candidate.installed.direct_url or {}).get("url")
        return recorded is not None and _bare_url(recorded) == _bare_url(url)
    return False


# A requirement whose whole marker is one `extra == "name"` test (group 1: the requirement, group 2: the extra).
_ONLY_EXTRA = re.compile(r"""^([^;@]*?)\s*;\s*extra\s*==\s*(?:"([^"]*)"|'([^']*)')\s*$""")


_SPECIFIER_SETS: dict[str, SpecifierSet] = {}  # a large environment repeats a few hundred specifiers


def _specifier_set(text: str) -> SpecifierSet:
    spec = _SPECIFIER_SETS.get(text)
    if spec is None:
        spec = _SPECIFIER_SETS[text] = SpecifierSet(text)
    return spec


def _evaluate(marker: Marker, env: dict[str, str]) -> bool:
    try:
        return marker.evaluate(env)
    except (UndefinedEnvironmentName, UndefinedComparison):  # a variable or comparison PEP 508 leaves undefined
        return False


def parse_requirement(text: str, where: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ResolutionError(f"invalid requirement {text!r}: {exc}", where=where) from None


def _parsed_line(text: str, markers: dict[str, str], asked_by: str) -> ParsedLine:
    """One Requires-Dist line judged for the base candidate on the target (what requires.py caches)."""
    req = parse_requirement(text, asked_by)
    applies = req.marker is None or _evaluate(req.marker, {**markers, "extra": ""})
    return ParsedLine(applies, canonicalize_name(req.name), tuple(sorted(canonicalize_name(e) for e in req.extras)),
                      str(req.specifier), req.url, str(req))


def _cached_line(cache: RequiresCache, text: str, markers: dict[str, str], asked_by: str) -> ParsedLine:
    """The line from the Requires-Dist cache, else parsed, judged and put there (ResolutionError if invalid)."""
    line = cache.get(text)
    if line is None:
        line = _parsed_line(text, markers, asked_by)
        cache.put(text, line)
    return line


def requirement_lines(markers: Mapping[str, str], dists: Iterable) -> dict[str, list[ParsedLine]]:
    """The base Requires-Dist lines of each of `dists` (InstalledDist) that apply on the target, by name.

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
                line = _cached_line(cache, text, markers, dist.name)
            except ResolutionError:
                continue
            if line.applies:
                lines.append(line)
        out[dist.name] = lines
    cache.save()
    return out


def make_req(req: Requirement, asked_by: str, *, from_user: bool = False) -> Req:
    return Req(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        specifier=req.specifier,
        url=req.url,
        asked_by=asked_by,
        text=str(req),
        from_user=from_user,
    )


def _root_reqs(roots, markers) -> list[Req]:
    out = []
    for root in roots:
        req = parse_requirement(root.requirement, root.source)
        if req.marker is not None and not _evaluate(req.marker, {**markers, "extra": ""}):
            continue
        out.append(make_req(req, root.source, from_user=True))
    return out


@dataclass
class _Walk:
    """The closure of the roots through one chosen candidate per package, and what those choices leave unmet."""

    chosen: dict[str, Candidate]  # canonical name -> the base candidate
    edges: list[tuple[str | None, Req]]  # (requiring package, or None for a root; the requirement)
    unmet: list[tuple[str | None, Req]]  # the edges the chosen candidates do not satisfy


def _walk(roots: list[Req], provider: _Provider, pick: Callable[[str], Candidate | None]) -> _Walk:
    """Follow every requirement from the roots through `pick(name)`, each package's extras included."""
    chosen: dict[str, Candidate] = {}
    extras_done: dict[str, set[str]] = {}
    edges: list[tuple[str | None, Req]] = []
    unmet: list[tuple[str | None, Req]] = []
    queue: deque[tuple[str | None, Req]] = deque((None, r) for r in roots)
    while queue:
        parent, req = queue.popleft()
        edges.append((parent, req))
        cand = chosen.get(req.name)
        if cand is None:
            cand = pick(req.name)
            if cand is None:
                unmet.append((parent, req))
                continue
            chosen[req.name] = cand
            extras_done[req.name] = set()
            queue.extend((cand.name, dep) for dep in provider.dependencies(cand))
        if not provider.accepts(req, cand):
            unmet.append((parent, req))
        for extra in sorted(req.extras - extras_done[req.name]):
            extras_done[req.name].add(extra)
            deps = provider.dependencies(cand.with_extras(frozenset({extra})))
            # Not the tie to the base (walked already), but an extra asking for another extra of its own package.
            queue.extend((cand.name, dep) for dep in deps if dep.name != cand.name or dep.extras)
    return _Walk(chosen, edges, unmet)


_DELTA_ATTEMPTS = 6


def _resolve_delta(roots: list[Req], provider: _Provider) -> _Walk | None:
    """Resolve only what the environment does not already satisfy; None when the full resolution must decide.

    resolvelib re-checks every criterion in every round, which is quadratic in the number of
    packages: thousands of installed packages take many seconds even when nothing changed.
    So: walk the roots through what is installed (or in the tree). When every requirement is
    met, that closure *is* the resolution, found without a single request. Otherwise resolvelib
    decides only the "open" packages (those with an unmet requirement), taking every other
    installed package as it is, without expanding it; a second walk through the result checks
    that every requirement of the new closure holds. What it finds unmet is opened for the next
    attempt, and so are the packages whose requirements caused a conflict. When that makes no
    progress, the full resolution decides (and explains a real conflict).
    """
    walk = _walk(roots, provider, provider.present)
    if not walk.unmet:
        return walk
    if provider.index is None:
        return None
    opened = {req.name for _parent, req in walk.unmet}
    for _attempt in range(_DELTA_ATTEMPTS):
        # What the packages that stay as they are ask of the open ones; resolvelib finds the
        # open packages' own requirements itself. A package reached only through open ones may
        # not stay, so its requirements are not imposed (the check afterwards sees them if it stays).
        anchored = _anchored(walk, opened)
        edges = [(parent, req) for parent, req in walk.edges
                 if req.name in opened and (parent is None or parent in anchored)]
        sub_roots = [req for _parent, req in edges]
        provider.frozen = frozenset(provider.installed).difference(opened)
        try:
            provider.prefetch(sub_roots)
            result = Resolver(provider, BaseReporter()).resolve(sub_roots, max_rounds=_max_rounds(provider, sub_roots))
        except ResolutionImpossible as exc:
            conflict = {info.requirement.name for info in exc.causes}
            grown = opened | {parent for parent, req in edges if parent is not None and req.name in conflict}
        except ResolutionTooDeep:
            return None
        else:
            picked = {c.name: c for c in result.mapping.values() if not c.extras}
            walk = _walk(roots, provider, lambda name, picked=picked: picked.get(name) or provider.present(name))
            if not walk.unmet:
                return walk
            anchored = _anchored(walk, opened)
            grown = opened | {req.name for _parent, req in walk.unmet}
            grown |= {parent for parent, _req in walk.unmet if parent is not None and parent not in anchored}
        finally:
            provider.frozen = frozenset()
        if grown == opened:
            return None
        opened = grown
    return None


def _anchored(walk: _Walk, opened: set[str]) -> set[str]:
    """The packages the roots reach without passing through an open one: they stay whatever the open ones become."""
    children: dict[str | None, list[str]] = {}
    for parent, req in walk.edges:
        children.setdefault(parent, []).append(req.name)
    anchored: set[str] = set()
    todo = [name for name in children.get(None, ()) if name not in opened]
    while todo:
        name = todo.pop()
        if name in anchored:
            continue
        anchored.add(name)
        todo += [child for child in children.get(name, ()) if child not in opened and child not in anchored]
    return anchored


def _max_rounds(provider: _Provider, roots: list[Req]) -> int:
    return max(200, 50 * (len(provider.installed) + len(roots) + 100))


def resolve(
    requirements: Sequence[RootRequirement],
    constraints: Sequence[RootRequirement] = (),
    *,
    interpreter: Interpreter,
    installed: Mapping[str, InstalledDist],
    index: PackageIndex | None,
    local_packages: Sequence[LocalPackage] = (),
    baseline_pins: Mapping[str, str] | None = None,
    prerelease: str = "if-necessary-or-explicit",
    upgrade: bool = False,
    max_open: int | None = None,
) -> Resolution:
    """Pin every package the root requirements need; raise ResolutionError if impossible.

    With `max_open`, raise LargeResolution as soon as more than that many packages must be
    looked up on the index (before they are), so the caller can hand a large resolution to uv.

    `requirements`/`constraints` are RootRequirement objects (spec provenance kept for
    messages); `installed` maps canonical names to environment.InstalledDist; `index` is an
    index.IndexClient (or None to resolve from installed packages alone).
    """
    if prerelease not in PRERELEASE_MODES:
        raise ValueError(f"prerelease must be one of {PRERELEASE_MODES}")
    markers = dict(interpreter.markers)
    roots = _root_reqs(requirements, markers)
    constraint_map: dict[str, list[Req]] = {}
    for req in _root_reqs(constraints, markers):
        constraint_map.setdefault(req.name, []).append(req)
    local = {lp.name: lp for lp in local_packages}
    provider = _Provider(
        markers=markers,
        installed=installed,
        index=index,
        local=local,
        baseline_pins=baseline_pins or {},
        constraints=constraint_map,
        prerelease=prerelease,
        upgrade=upgrade,
    )
    provider.max_open = max_open
    provider.requires_cache = RequiresCache(markers, cache_dir() / "requires")
    try:
        return _resolve(roots, provider, index, upgrade)
    finally:
        provider.requires_cache.save()


def _resolve(roots: list[Req], provider: _Provider, index, upgrade: bool) -> Resolution:
    before = index.requests if index is not None else 0
    walked = None if upgrade else _resolve_delta(roots, provider)
    if walked is not None:
        return _walked_resolution(walked, roots, (index.requests if index is not None else 0) - before)
    provider.prefetch(roots)
    try:
        result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=_max_rounds(provider, roots))
    except ResolutionImpossible as exc:
        raise ResolutionError(
            "the requirements cannot be satisfied together",
            detail=explain_conflict(exc.causes, provider),
        ) from None
    except ResolutionTooDeep as exc:
        raise ResolutionError(f"resolution gave up after {exc.round_count} rounds of backtracking") from None
    return _to_resolution(result, provider, roots, (index.requests if index is not None else 0) - before)


def _walked_resolution(walk: _Walk, roots: list[Req], requests: int) -> Resolution:
    requires: dict[str, set[str]] = {}
    required_by: dict[str, set[str]] = {}
    for parent, req in walk.edges:
        if parent is None:
            required_by.setdefault(req.name, set()).add(ROOT)
        elif req.name != parent:
            requires.setdefault(parent, set()).add(req.name)
            required_by.setdefault(req.name, set()).add(parent)
    pins: dict[str, Pin] = {}
    local: dict[str, str | None] = {}
    for name, cand in walk.chosen.items():
        if cand.origin == "local":
            local[name] = None if cand.version is None else str(cand.version)
        else:
            pins[name] = _pin(cand, tuple(sorted(requires.get(name, ()))))
    return _assemble(pins, local, required_by, roots, requests)


def _pin(cand: Candidate, requires_names: tuple[str, ...]) -> Pin:
    file, hashes, direct_url = None, (), None
    if cand.origin == "index":
        file = cand.index_version.best
        files = cand.index_version.files
        if all(f.hashes.get("sha256") for f in files):
            hashes = tuple(f"sha256:{f.hashes['sha256']}" for f in files)
        direct_url = file.url if cand.direct else None
    elif cand.installed is not None and not cand.installed.editable_path:
        # Installed from a URL (not by name): a reinstall must come from there too.
        direct_url = (cand.installed.direct_url or {}).get("url")
    return Pin(cand.name, str(cand.version), cand.origin, requires_names, file, hashes, direct_url)


def _to_resolution(result, provider: _Provider, roots: list[Req], requests: int) -> Resolution:
    pins: dict[str, Pin] = {}
    local: dict[str, str | None] = {}
    requires: dict[str, set[str]] = {}
    required_by: dict[str, set[str]] = {}
    for cand in result.mapping.values():
        for dep in provider.get_dependencies(cand):
            if dep.name != cand.name:
                requires.setdefault(cand.name, set()).add(dep.name)
                required_by.setdefault(dep.name, set()).add(cand.name)
    for root in roots:
        required_by.setdefault(root.name, set()).add(ROOT)
    for cand in result.mapping.values():
        if cand.extras:
            continue
        if cand.origin == "local":
            local[cand.name] = None if cand.version is None else str(cand.version)
            continue
        pins[cand.name] = _pin(cand, tuple(sorted(requires.get(cand.name, ()))))
    return _assemble(pins, local, required_by, roots, requests)


def explain_conflict(causes, provider: _Provider) -> str:
    """Name every requirement in the conflict and who asked for it."""
    lines = []
    by_name: dict[str, list] = {}
    for info in causes:
        by_name.setdefault(info.requirement.name, []).append(info)
    for name, infos in by_name.items():
        available = _available_versions(name, provider)
        lines.append(f"  {name}: no version satisfies all of")
        for info in infos:
            req = info.requirement
            asked = req.asked_by if info.parent is None else f"{info.parent.name} {info.parent.version}"
            spec = str(req.specifier) or "(any version)"
            if req.extras:
                spec = f"[{','.join(sorted(req.extras))}] {spec}"
            lines.append(f"    {spec:<24} required by {asked}")
        lines.append(f"    available: {available}")
    return "\n".join(lines)


def _available_versions(name: str, provider: _Provider) -> str:
    if name in provider.local:
        return f"{provider.local[name].version or 'unknown version'} (from the project tree)"
    found = []
    dist = provider.installed.get(name)
    if dist is not None:
        found.append(f"{dist.version} (installed)")
    if provider.index is not None:
        try:
            found += [str(iv.version) + (" (yanked)" if iv.yanked else "") for iv in provider.index.versions(name)[:8]]
        except IndexUnavailable as exc:  # the explanation says what the index answered instead
            found.append(f"the index could not be asked: {exc.message}")
    if found:
        return ", ".join(found)
    why = getattr(provider.index, "why_no_versions", None)  # a test's stand-in index may not say
    said = why(name) if why is not None else None
    return f"none ({said})" if said else "none for this interpreter"


def _assemble(pins: dict[str, Pin], local: dict[str, str | None], required_by: dict[str, set[str]],
              roots: list[Req], requests: int) -> Resolution:
    root_sources: dict[str, list[str]] = {}
    for root in roots:
        root_sources.setdefault(root.name, []).append(root.asked_by)
    return Resolution(
        pins=dict(sorted(pins.items())),
        local=local,
        required_by={k: sorted(v) for k, v in required_by.items()},
        root_sources=root_sources,
        index_requests=requests,
    )
