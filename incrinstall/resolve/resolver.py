"""Resolve root requirements to pinned versions, preferring what is already installed.

`resolve()` is the entry point: it builds the provider (provider.py, where every preference lives),
lets the delta walk (delta.py) settle everything the environment already satisfies, hands what is
left to resolvelib, and turns the answer into a Resolution (or a conflict into its explanation).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from incrinstall.common.config import PRERELEASE_MODES, PrereleaseMode
from incrinstall.common.errors import IndexUnavailable, ResolutionError
from incrinstall.common.paths import cache_dir
from incrinstall.resolve.candidates import Candidate, Req, root_reqs
from incrinstall.resolve.delta import Walk, max_rounds, resolve_delta
from incrinstall.resolve.model import ROOT, PackageIndex, Pin, PinFile, PinOrigin, Resolution
from incrinstall.resolve.provider import Provider
from incrinstall.resolve.requires import RequiresCache

if TYPE_CHECKING:
    from resolvelib.resolvers import Result
    from resolvelib.structs import RequirementInformation

    from incrinstall.environment.installed import InstalledDist
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.specs.model import LocalPackage, RootRequirement


def resolve(
    requirements: Sequence[RootRequirement],
    constraints: Sequence[RootRequirement] = (),
    *,
    interpreter: Interpreter,
    installed: Mapping[str, InstalledDist],
    index: PackageIndex | None,
    local_packages: Sequence[LocalPackage] = (),
    baseline_pins: Mapping[str, str] | None = None,
    prerelease: PrereleaseMode = "if-necessary-or-explicit",
    upgrade: bool = False,
    max_open: int | None = None,
) -> Resolution:
    """Pin every package the root requirements need; raise ResolutionError if impossible.

    With `max_open`, raise LargeResolution as soon as more than that many packages must be
    looked up on the index (before they are), so the caller can hand a large resolution to uv.
    `index` None resolves from the installed packages (and the tree's) alone.
    """
    if prerelease not in PRERELEASE_MODES:
        raise ValueError(f"prerelease must be one of {PRERELEASE_MODES}")
    markers = dict(interpreter.markers)
    roots = root_reqs(requirements, markers)
    constraint_map: dict[str, list[Req]] = {}
    for req in root_reqs(constraints, markers):
        constraint_map.setdefault(req.name, []).append(req)
    provider = Provider(
        markers=markers,
        installed=installed,
        index=index,
        local={lp.name: lp for lp in local_packages},
        baseline_pins=baseline_pins or {},
        constraints=constraint_map,
        prerelease=prerelease,
        upgrade=upgrade,
        requires_cache=RequiresCache(markers, cache_dir() / "requires"),
        max_open=max_open,
    )
    try:
        return _resolve(roots, provider, upgrade)
    finally:
        provider.requires_cache.save()


def _resolve(roots: list[Req], provider: Provider, upgrade: bool) -> Resolution:
    index = provider.index
    before = index.requests if index is not None else 0
    walked = None if upgrade else resolve_delta(roots, provider)
    if walked is not None:
        return _walked_resolution(walked, roots, (index.requests if index is not None else 0) - before)
    provider.prefetch(roots)
    try:
        result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=max_rounds(provider, roots))
    except ResolutionImpossible as exc:
        raise ResolutionError(
            "the requirements cannot be satisfied together",
            detail=explain_conflict(exc.causes, provider),
        ) from None
    except ResolutionTooDeep as exc:
        raise ResolutionError(f"resolution gave up after {exc.round_count} rounds of backtracking") from None
    return _to_resolution(result, provider, roots, (index.requests if index is not None else 0) - before)


def _walked_resolution(walk: Walk, roots: list[Req], requests: int) -> Resolution:
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
    file: PinFile | None = None
    hashes: tuple[str, ...] = ()
    direct_url = None
    origin: PinOrigin = "installed"
    if cand.origin == "index":
        assert cand.index_version is not None, f"{cand!r} has no index version"
        best = cand.index_version.best
        files = cand.index_version.files
        if all(f.hashes.get("sha256") for f in files):
            hashes = tuple(f"sha256:{f.hashes['sha256']}" for f in files)
        direct_url = best.url if cand.direct else None
        file = best
        origin = "index"
    elif cand.installed is not None and not cand.installed.editable_path:
        # Installed from a URL (not by name): a reinstall must come from there too.
        direct_url = (cand.installed.direct_url or {}).get("url")
    return Pin(cand.name, str(cand.version), origin, requires_names, file, hashes, direct_url)


def _to_resolution(result: Result[Req, Candidate, str], provider: Provider, roots: list[Req],
                   requests: int) -> Resolution:
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


def explain_conflict(causes: Collection[RequirementInformation[Req, Candidate]], provider: Provider) -> str:
    """Name every requirement in the conflict and who asked for it."""
    lines = []
    by_name: dict[str, list[RequirementInformation[Req, Candidate]]] = {}
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


def _available_versions(name: str, provider: Provider) -> str:
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
    said = provider.index.why_no_versions(name) if provider.index is not None else None
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
