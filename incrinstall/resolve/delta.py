"""The delta walk: resolve only what the environment does not already satisfy, with resolvelib for the rest.

resolvelib re-checks every criterion in every round, which is quadratic in the number of packages:
thousands of installed packages take many seconds even when nothing changed. So the roots are first
walked through what is installed (or in the tree); when every requirement is met, that closure is the
resolution, found without a single request (`resolve_delta`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from incrinstall.resolve.candidates import Candidate, Req
from incrinstall.resolve.provider import Provider

# An edge of the walk: (the requiring package, or None for a root; the requirement).
Edge = tuple[str | None, Req]


@dataclass
class Walk:
    """The closure of the roots through one chosen candidate per package, and what those choices leave unmet."""

    chosen: dict[str, Candidate]  # canonical name -> the base candidate
    edges: list[Edge]
    unmet: list[Edge]  # the edges the chosen candidates do not satisfy


def walk(roots: list[Req], provider: Provider, pick: Callable[[str], Candidate | None]) -> Walk:
    """Follow every requirement from the roots through `pick(name)`, each package's extras included."""
    chosen: dict[str, Candidate] = {}
    extras_done: dict[str, set[str]] = {}
    edges: list[Edge] = []
    unmet: list[Edge] = []
    queue: deque[Edge] = deque((None, r) for r in roots)
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
    return Walk(chosen, edges, unmet)


_DELTA_ATTEMPTS = 6


def resolve_delta(roots: list[Req], provider: Provider) -> Walk | None:
    """Resolve only what the environment does not already satisfy; None when the full resolution must decide.

    Walk the roots through what is installed (or in the tree). When every requirement is met, that
    closure *is* the resolution. Otherwise resolvelib decides only the "open" packages (those with an
    unmet requirement), taking every other installed package as it is, without expanding it; a second
    walk through the result checks that every requirement of the new closure holds. What it finds
    unmet is opened for the next attempt, and so are the packages whose requirements caused a
    conflict. When that makes no progress, the full resolution decides (and explains a real conflict).
    """
    current = walk(roots, provider, provider.present)
    if not current.unmet:
        return current
    if provider.index is None:
        return None
    opened = {req.name for _parent, req in current.unmet}
    for _attempt in range(_DELTA_ATTEMPTS):
        # What the packages that stay as they are ask of the open ones; resolvelib finds the
        # open packages' own requirements itself. A package reached only through open ones may
        # not stay, so its requirements are not imposed (the check afterwards sees them if it stays).
        anchored = _anchored(current, opened)
        edges = [(parent, req) for parent, req in current.edges
                 if req.name in opened and (parent is None or parent in anchored)]
        sub_roots = [req for _parent, req in edges]
        provider.frozen = frozenset(provider.installed).difference(opened)
        try:
            provider.prefetch(sub_roots)
            result = Resolver(provider, BaseReporter()).resolve(sub_roots, max_rounds=max_rounds(provider, sub_roots))
        except ResolutionImpossible as exc:
            conflict = {info.requirement.name for info in exc.causes}
            grown = opened | {parent for parent, req in edges if parent is not None and req.name in conflict}
        except ResolutionTooDeep:
            return None
        else:
            picked = {c.name: c for c in result.mapping.values() if not c.extras}

            def pick(name: str, picked: dict[str, Candidate] = picked) -> Candidate | None:
                return picked.get(name) or provider.present(name)

            current = walk(roots, provider, pick)
            if not current.unmet:
                return current
            anchored = _anchored(current, opened)
            grown = opened | {req.name for _parent, req in current.unmet}
            grown |= {parent for parent, _req in current.unmet if parent is not None and parent not in anchored}
        finally:
            provider.frozen = frozenset()
        if grown == opened:
            return None
        opened = grown
    return None


def _anchored(current: Walk, opened: set[str]) -> set[str]:
    """The packages the roots reach without passing through an open one: they stay whatever the open ones become."""
    children: dict[str | None, list[str]] = {}
    for parent, req in current.edges:
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


def max_rounds(provider: Provider, roots: list[Req]) -> int:
    return max(200, 50 * (len(provider.installed) + len(roots) + 100))
