"""Resolve root requirements to pinned versions, preferring what is already installed.

The resolvelib provider below is where every policy lives: the tree satisfies its own
packages, the installed version is tried first, then the baseline pin, then the index
newest first. The index is only asked about a package when no installed (or tree)
candidate fits, so an unchanged spec resolves with zero network requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from incrinstall.errors import ResolutionError

ROOT = "<root>"
PRERELEASE_MODES = ("if-necessary-or-explicit", "allow", "disallow")


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
    installed: object | None = None  # environment.InstalledDist
    index_version: object | None = None  # index.IndexVersion
    yanked: bool = False

    @property
    def key(self) -> str:
        return identifier(self.name, self.extras)

    def with_extras(self, extras: frozenset[str]) -> "Candidate":
        return Candidate(self.name, self.version, self.origin, extras, self.installed, self.index_version, self.yanked)

    def __repr__(self) -> str:
        return f"{self.key}=={self.version} ({self.origin})"


@dataclass(frozen=True)
class Pin:
    """A resolved package, as `plan.diff()` needs it."""

    name: str
    version: str
    origin: str  # "installed" | "index"
    requires: tuple[str, ...]  # canonical names this package depends on (extras folded in)
    file: object | None = None  # index.DistFile to install, when origin == "index"
    # "sha256:<hex>" of every installable file of this version, so uv can verify whichever it picks;
    # empty when any file lacks a hash (uv's --require-hashes is all or nothing).
    hashes: tuple[str, ...] = ()


@dataclass
class Resolution:
    """name -> pin for every package to have installed, plus why each is there."""

    pins: dict[str, Pin]
    local: dict[str, str | None]  # tree-provided packages that were required, with the tree's version
    required_by: dict[str, list[str]] = field(default_factory=dict)  # name -> parents ("<root>" for roots)
    root_sources: dict[str, list[str]] = field(default_factory=dict)  # name -> ["pyproject.toml:12", ...]
    index_requests: int = 0


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
        installed: Mapping[str, object],
        index,
        local: Mapping[str, str | None],
        baseline_pins: Mapping[str, str],
        constraints: Mapping[str, list[Req]],
        prerelease: str,
        direct_names: set[str],
        upgrade: bool,
    ):
        self.markers = markers
        self.installed = installed
        self.index = index
        self.local = local
        self.baseline_pins = baseline_pins
        self.constraints = constraints
        self.prerelease = prerelease
        self.direct_names = direct_names
        self.upgrade = upgrade
        self._deps_cache: dict[int, list[Req]] = {}

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
        if candidate.version is None:  # a tree package whose version the tree does not state
            return True
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        cached = self._deps_cache.get(id(candidate))
        if cached is not None:
            return cached
        deps: list[Req] = []
        if candidate.extras:
            # An extra is tied to its base package at the very same version (as pip does).
            deps.append(
                Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"), None,
                    f"{candidate.name}[{','.join(sorted(candidate.extras))}] {candidate.version}",
                    f"{candidate.name}=={candidate.version}")
            )
        if candidate.origin != "local":
            deps += self._requirements_of(candidate)
        self._deps_cache[id(candidate)] = deps
        return deps

    # -- helpers ---------------------------------------------------------------

    def _requirements_of(self, candidate: Candidate) -> list[Req]:
        if candidate.origin == "installed":
            requires = candidate.installed.requires_dist
        else:
            requires = self.index.metadata(candidate.index_version).requires_dist
        asked_by = f"{candidate.name} {candidate.version}"
        wanted_extras = sorted(candidate.extras)
        out = []
        for text in requires:
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

    def _iter_matches(self, name, extras, reqs, bad, bad_versions) -> Iterator[Candidate]:
        def fits(version: Version) -> bool:
            return version not in bad_versions and all(
                r.specifier.contains(version, prereleases=True) for r in reqs
            )

        if name in self.local:
            tree_version = _version(self.local[name] or "")
            if tree_version is None or fits(tree_version):
                yield Candidate(name, tree_version, "local", extras)
            return  # the tree is the only source of its own packages

        url_reqs = [r for r in reqs if r.url]
        if url_reqs:
            raise ResolutionError(
                f"direct URL requirement {url_reqs[0].text!r} is not supported outside the project tree",
                where=url_reqs[0].asked_by,
            )
        seen: set[Version] = set()
        dist = self.installed.get(name)
        if dist is not None and not self.upgrade:
            version = _version(dist.version)
            if version is not None and fits(version):
                seen.add(version)
                yield Candidate(name, version, "installed", extras, installed=dist)

        if self.index is None:
            return
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

    def _allows_prereleases(self, versions, reqs: list[Req]) -> bool:
        if self.prerelease == "allow":
            return True
        if self.prerelease == "disallow":
            return False
        # "if-necessary-or-explicit": a specifier of the user's that names a pre-release
        # opts in, and so does a package that has published nothing but pre-releases.
        if any(_names_prerelease(s.version) for r in reqs if r.from_user for s in r.specifier):
            return True
        return bool(versions) and all(iv.version.is_prerelease for iv in versions)


def _names_prerelease(spec_version: str) -> bool:
    version = _version(spec_version.removesuffix(".*"))
    return version is not None and version.is_prerelease


def _evaluate(marker: Marker, env: dict[str, str]) -> bool:
    try:
        return marker.evaluate(env)
    except Exception:  # an undefined marker variable: treat as not matching
        return False


def parse_requirement(text: str, where: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ResolutionError(f"invalid requirement {text!r}: {exc}", where=where) from None


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


def resolve(
    requirements: Sequence,
    constraints: Sequence = (),
    *,
    interpreter,
    installed: Mapping[str, object],
    index,
    local_packages: Sequence = (),
    baseline_pins: Mapping[str, str] | None = None,
    prerelease: str = "if-necessary-or-explicit",
    upgrade: bool = False,
) -> Resolution:
    """Pin every package the root requirements need; raise ResolutionError if impossible.

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
    local = {lp.name: lp.version for lp in local_packages}
    provider = _Provider(
        markers=markers,
        installed=installed,
        index=index,
        local=local,
        baseline_pins=baseline_pins or {},
        constraints=constraint_map,
        prerelease=prerelease,
        direct_names={r.name for r in roots},
        upgrade=upgrade,
    )
    before = index.requests if index is not None else 0
    try:
        result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=max(200, 50 * (len(installed) + len(roots) + 100)))
    except ResolutionImpossible as exc:
        raise ResolutionError(
            "the requirements cannot be satisfied together",
            detail=explain_conflict(exc.causes, provider),
        ) from None
    except ResolutionTooDeep as exc:
        raise ResolutionError(f"resolution gave up after {exc.round_count} rounds of backtracking") from None
    return _to_resolution(result, provider, roots, (index.requests if index is not None else 0) - before)


def _to_resolution(result, provider: _Provider, roots: list[Req], requests: int) -> Resolution:
    pins: dict[str, Pin] = {}
    local: dict[str, str | None] = {}
    requires: dict[str, set[str]] = {}
    required_by: dict[str, set[str]] = {}
    for key, cand in result.mapping.items():
        for dep in provider.get_dependencies(cand):
            if dep.name != cand.name:
                requires.setdefault(cand.name, set()).add(dep.name)
                required_by.setdefault(dep.name, set()).add(cand.name)
    for root in roots:
        required_by.setdefault(root.name, set()).add(ROOT)
    for key, cand in result.mapping.items():
        if cand.extras:
            continue
        if cand.origin == "local":
            local[cand.name] = None if cand.version is None else str(cand.version)
            continue
        file, hashes = None, ()
        if cand.origin == "index":
            file = cand.index_version.best
            files = cand.index_version.files
            if all(f.hashes.get("sha256") for f in files):
                hashes = tuple(f"sha256:{f.hashes['sha256']}" for f in files)
        requires_names = tuple(sorted(requires.get(cand.name, ())))
        pins[cand.name] = Pin(cand.name, str(cand.version), cand.origin, requires_names, file, hashes)
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
        return f"{provider.local[name] or 'unknown version'} (from the project tree)"
    found = []
    dist = provider.installed.get(name)
    if dist is not None:
        found.append(f"{dist.version} (installed)")
    if provider.index is not None:
        try:
            found += [str(iv.version) + (" (yanked)" if iv.yanked else "") for iv in provider.index.versions(name)[:8]]
        except Exception:  # the explanation must not fail because of the index
            pass
    return ", ".join(found) if found else "none for this interpreter"


