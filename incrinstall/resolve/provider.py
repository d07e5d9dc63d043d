"""The resolvelib provider: where every preference of the resolution lives.

The tree satisfies its own packages; the installed version is tried first, then the baseline pin,
then the index newest first. The index is only asked about a package when no installed (or tree)
candidate fits, so an unchanged spec resolves with zero network requests; what must be asked is
fetched concurrently ahead of resolvelib (`prefetch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from incrinstall.common.config import PrereleaseMode
from incrinstall.common.errors import IndexUnavailable, ResolutionError
from incrinstall.common.names import canonical_name, names_prerelease
from incrinstall.resolve.candidates import (
    ONLY_EXTRA, Candidate, Req, bare_url, from_url, make_req, specifier_set, version_or_none,
)
from incrinstall.resolve.model import LargeResolution, PackageIndex
from incrinstall.resolve.requires import RequiresCache, cached_line, evaluate, parse_requirement

if TYPE_CHECKING:
    from resolvelib.providers import Preference
    from resolvelib.structs import Matches, RequirementInformation

    from incrinstall.environment.installed import InstalledDist
    from incrinstall.index.client import IndexVersion
    from incrinstall.specs.model import LocalPackage

# The key of a candidate's dependencies: (name, version, origin, extras).
_DepsKey = tuple[str, Version | None, str, frozenset[str]]


class Provider(AbstractProvider[Req, Candidate, str]):
    def __init__(
        self,
        *,
        markers: Mapping[str, str],
        installed: Mapping[str, InstalledDist],
        index: PackageIndex | None,
        local: Mapping[str, LocalPackage],
        baseline_pins: Mapping[str, str],
        constraints: Mapping[str, list[Req]],
        prerelease: PrereleaseMode,
        upgrade: bool,
        requires_cache: RequiresCache,
        max_open: int | None = None,
    ):
        self.markers = dict(markers)
        self.installed = installed
        self.index = index
        self.local = local
        self.baseline_pins = baseline_pins
        self.constraints = constraints
        self.prerelease = prerelease
        self.upgrade = upgrade
        self.requires_cache = requires_cache  # the base candidates' Requires-Dist lines, judged once (requires.py)
        self.max_open = max_open  # raise LargeResolution beyond this many packages looked up
        self.looked_up: set[str] = set()
        # Keyed by value, not id(): resolvelib re-creates candidates on every iteration and
        # a freed candidate's id is soon reused by another package's.
        self._deps_cache: dict[_DepsKey, list[Req]] = {}
        # Installed packages whose requirements a delta resolution takes as already met
        # (checked afterwards by walking the result): resolvelib does not expand them.
        self.frozen: frozenset[str] = frozenset()

    def look_up(self, names: Iterable[str]) -> None:
        """Count the packages the index is asked about, before it is asked."""
        self.looked_up.update(names)
        if self.max_open is not None and len(self.looked_up) > self.max_open:
            raise LargeResolution(len(self.looked_up))

    # -- resolvelib protocol ---------------------------------------------------

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(self, identifier: str, resolutions: Mapping[str, Candidate],
                       candidates: Mapping[str, Iterator[Candidate]],
                       information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
                       backtrack_causes: Sequence[RequirementInformation[Req, Candidate]]) -> Preference:
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

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Req]],
                     incompatibilities: Mapping[str, Iterator[Candidate]]) -> Matches[Candidate]:
        reqs = list(requirements[identifier])
        name = identifier.split("[", 1)[0]
        bad_versions = {c.version for c in incompatibilities[identifier]}
        extras = frozenset(reqs[0].extras) if reqs else frozenset()
        all_reqs = reqs + self.constraints.get(name, [])
        # A lazy factory: resolvelib only pulls the next candidate when the previous
        # one failed, so the index is never asked while the installed one fits.
        return lambda: self._iter_matches(name, extras, all_reqs, bad_versions)

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.url and candidate.origin != "local" and not from_url(candidate, requirement.url):
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
            return Candidate(name, version_or_none(self.local[name].version or ""), "local")
        dist = self.installed.get(name)
        version = version_or_none(dist.version) if dist is not None else None
        return Candidate(name, version, "installed", installed=dist) if version is not None else None

    def accepts(self, req: Req, candidate: Candidate) -> bool:
        """Does `candidate` meet `req` and every constraint on its name, as find_matches would judge it?"""
        if req.url and candidate.origin != "local" and not from_url(candidate, req.url):
            return False
        reqs = (req, *self.constraints.get(req.name, ()))
        if candidate.version is None:
            return self._unversioned_ok(candidate.name, reqs)
        version = candidate.version
        return all(r.specifier.contains(version, prereleases=True) for r in reqs)

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

    def _requires_dist(self, candidate: Candidate) -> tuple[str, ...]:
        """The Requires-Dist of an installed candidate (its METADATA) or of an index one (the index's metadata)."""
        if candidate.installed is not None:
            return candidate.installed.requires_dist
        assert self.index is not None and candidate.index_version is not None, f"{candidate!r} has no metadata"
        return self.index.metadata(candidate.index_version).requires_dist

    def _requirements_of(self, candidate: Candidate) -> list[Req]:
        requires = self._requires_dist(candidate)
        asked_by = f"{candidate.name} {candidate.version}"
        if not candidate.extras:
            return self._base_requirements(requires, asked_by)
        wanted_extras = sorted(candidate.extras)
        out = []
        for text in requires:
            only_extra = ONLY_EXTRA.match(text)
            if only_extra is not None:
                # `dep ; extra == "x"`, most of what packages declare: decided without parsing a marker.
                if canonical_name(only_extra.group(2) or only_extra.group(3) or "") not in candidate.extras:
                    continue
                out.append(make_req(parse_requirement(only_extra.group(1), asked_by), asked_by))
                continue
            req = parse_requirement(text, asked_by)
            marker = req.marker
            # The base candidate brings the unconditional dependencies; the extra
            # candidate only adds what its extras ask for.
            if marker is None or not any(evaluate(marker, {**self.markers, "extra": e}) for e in wanted_extras):
                continue
            if evaluate(marker, {**self.markers, "extra": ""}):
                continue
            out.append(make_req(req, asked_by))
        return out

    def _base_requirements(self, requires: Iterable[str], asked_by: str) -> list[Req]:
        """The base candidate's requirements, each line parsed and judged once per target (requires.py)."""
        out = []
        for text in requires:
            line = cached_line(self.requires_cache, text, self.markers, asked_by)
            if line.applies:
                out.append(Req(line.name, frozenset(line.extras), specifier_set(line.specifier), line.url,
                               asked_by, line.text))
        return out

    def _iter_matches(self, name: str, extras: frozenset[str], reqs: list[Req],
                      bad_versions: set[Version | None]) -> Iterator[Candidate]:
        def fits(version: Version) -> bool:
            return version not in bad_versions and all(
                r.specifier.contains(version, prereleases=True) for r in reqs
            )

        if name in self.local:
            tree_version = version_or_none(self.local[name].version or "")
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
            version = version_or_none(dist.version)
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
        baseline = version_or_none(self.baseline_pins.get(name, ""))
        if baseline is not None and not self.upgrade:
            # Second choice after the installed version: what the baseline had.
            matches.sort(key=lambda iv: iv.version != baseline)
        for iv in matches:
            yield Candidate(name, iv.version, "index", extras, index_version=iv, yanked=iv.yanked)

    def _direct_matches(self, name: str, extras: frozenset[str], url_reqs: list[Req],
                        fits: Callable[[Version], bool]) -> Iterator[Candidate]:
        """The one file a direct URL names: as installed from it, else downloaded and read."""
        urls = {bare_url(r.url) for r in url_reqs if r.url}
        if len(urls) > 1:
            raise ResolutionError(f"{name} is required from different URLs: " + ", ".join(sorted(urls)),
                                  where=url_reqs[0].asked_by)
        url = url_reqs[0].url or ""
        dist = self.installed.get(name)
        if dist is not None and not self.upgrade:
            here = Candidate(name, version_or_none(dist.version), "installed", extras, installed=dist)
            if here.version is not None and from_url(here, url) and fits(here.version):
                yield here
        if self.index is None:
            return
        self.look_up([name])
        iv = self.index.direct(name, url)
        if fits(iv.version):
            yield Candidate(name, iv.version, "index", extras, index_version=iv, direct=True)

    def _allows_prereleases(self, versions: Sequence[IndexVersion], reqs: list[Req]) -> bool:
        if self.prerelease == "allow":
            return True
        if self.prerelease == "disallow":
            return False
        # "if-necessary-or-explicit": a specifier of the user's that names a pre-release
        # opts in, and so does a package that has published nothing but pre-releases.
        if any(names_prerelease(s.version) for r in reqs if r.from_user for s in r.specifier):
            return True
        return bool(versions) and all(iv.version.is_prerelease for iv in versions)
