"""Expand declared requirements against the packages the tree provides, for the target.

Markers are evaluated for the target's environment (dropped once they hold); a requirement on a
package of the tree (the project, a workspace member, an in-tree provider) is replaced by what
that package declares, in place, so a package's requirements are listed where it is referenced.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement

from incrinstall.common.errors import SpecError
from incrinstall.common.names import canonical_name
from incrinstall.specs import pyproject
from incrinstall.specs.model import Declared, LocalPackage, RootRequirement


@dataclass
class TreeNode:
    """A package the tree provides, with what it declares."""

    name: str
    base: list[Declared]
    extras: dict[str, list[Declared]]
    label: str  # for errors: where its extras are declared


# A tree package's (version, folder, file that states it).
Known = tuple[str | None, str, str]


def local_package(name: str, known: Known, node: TreeNode, expander: Expander) -> LocalPackage:
    """A tree package with its version and what it requires for the target (markers evaluated).

    A dynamic version was computed by the backend already; a version the tree does not state
    at all (no `version`, a provider.yaml without `versions`) stays None, and the resolver
    refuses to check a version specifier against it rather than accept it unchecked.
    """
    version, path, where = known
    return LocalPackage(
        name, version, path,
        requires=expander.evaluate(node.base),
        extras={extra: expander.evaluate(items) for extra, items in node.extras.items()},
        where=where,
        requires_dist=tuple(_metadata_line(item) for item in [*node.base, *(i for v in node.extras.values() for i in v)]),
        provides_extra=tuple(node.extras),
    )


def _metadata_line(item: Declared) -> str:
    """A declared requirement as a Requires-Dist line: its marker kept, `extra == "x"` added for an extra's."""
    if not item.extra or "extra" in item.requirement.partition(";")[2]:
        return item.requirement  # a base requirement, or a backend's line that names its extra already
    text, _, marker = item.requirement.partition(";")
    marker = marker.strip()
    return f'{text.strip()}; ({marker}) and extra == "{item.extra}"' if marker else f'{text.strip()}; extra == "{item.extra}"'


# -- expansion -------------------------------------------------------------------------------------


class Expander:
    """Evaluate markers and replace requirements on tree packages by what those packages declare."""

    def __init__(self, nodes: dict[str, TreeNode], markers: dict[str, str]):
        self.nodes = nodes
        self.markers = markers
        self.queue: deque[Declared] = deque()
        self.taken: set[tuple[str, str | None]] = set()
        self._parsed: dict[str, Requirement] = {}  # requirement text -> its parse

    def take(self, name: str, extra: str | None, where: str, *, now: bool = False) -> None:
        """Queue what a tree package declares (its base or one extra); `now` puts it next in line."""
        if (name, extra) in self.taken:
            return  # also ends self-referencing cycles
        self.taken.add((name, extra))
        node = self.nodes[name]
        if extra is not None and extra not in node.extras:
            valid = ", ".join(sorted(node.extras)) or "(none)"
            raise SpecError(f"{name} has no extra {extra!r}; valid extras: {valid}", where=where)
        items = node.base if extra is None else node.extras[extra]
        if now:
            self.queue.extendleft(reversed(items))
        else:
            self.queue.extend(items)

    def parse(self, item: Declared) -> Requirement:
        """The parsed requirement (memoized: the same text is met again in the tree packages' own lists)."""
        req = self._parsed.get(item.requirement)
        if req is None:
            try:
                req = Requirement(item.requirement)
            except InvalidRequirement as exc:
                raise SpecError(f"invalid requirement {item.requirement!r}: {exc}", where=item.source) from None
            self._parsed[item.requirement] = req
        return req

    def applies(self, item: Declared, req: Requirement) -> bool:
        # marker_holds refuses a comparison no marker defines, naming the file.
        return pyproject.marker_holds(req, {**self.markers, "extra": item.extra}, where=item.source)

    def evaluate(self, items: list[Declared]) -> tuple[str, ...]:
        """The requirement strings that apply to the target, markers dropped, in order, once each."""
        out: dict[str, None] = {}
        for item in items:
            req = self.parse(item)
            if self.applies(item, req):
                out[_without_marker(req)] = None
        return tuple(out)

    def run(self) -> list[RootRequirement]:
        out: list[RootRequirement] = []
        seen: set[str] = set()
        while self.queue:
            item = self.queue.popleft()
            req = self.parse(item)
            if not self.applies(item, req):
                continue
            name = canonical_name(req.name)
            if name in self.nodes:
                # Expanded in place, so a package's requirements are listed where it is referenced.
                for extra in sorted(req.extras, reverse=True):
                    self.take(name, canonical_name(extra), item.source, now=True)
                self.take(name, None, item.source, now=True)
                continue
            text = _without_marker(req)
            if text not in seen:
                seen.add(text)
                out.append(RootRequirement(text, item.source, item.kind))
        return out


def _without_marker(req: Requirement) -> str:
    if req.marker is None:
        return str(req)
    marker, req.marker = req.marker, None
    try:
        return str(req)
    finally:
        req.marker = marker
