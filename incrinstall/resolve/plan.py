"""Diff a Resolution against the installed packages into a Plan of actions, each with a reason.

`diff()` is pure: the same Plan drives the table, the JSON, `plan --check` and the installer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from packaging.version import InvalidVersion, Version

from incrinstall.resolve.kept import ALWAYS_KEEP
from incrinstall.resolve.model import ROOT, Resolution

if TYPE_CHECKING:
    from incrinstall.resolve.model import PinFile
    from incrinstall.environment.installed import InstalledDist

# What a plan does with one package, in the order a plan lists them. "reinstall": the right version, but not
# the file a lock names (Resolution.reinstall).
ActionKind = Literal["install", "upgrade", "downgrade", "reinstall", "remove", "keep"]
ACTIONS: tuple[ActionKind, ...] = get_args(ActionKind)
CHANGES: tuple[ActionKind, ...] = ACTIONS[:-1]


@dataclass(frozen=True)
class Action:
    action: ActionKind
    name: str
    from_version: str | None
    to_version: str | None
    reason: str
    file: PinFile | None = None  # for install/upgrade/downgrade of a pin that names its file

    def to_json(self) -> dict[str, str | None]:
        return {
            "action": self.action,
            "name": self.name,
            "from": self.from_version,
            "to": self.to_version,
            "reason": self.reason,
        }


@dataclass
class Plan:
    actions: list[Action]

    def of(self, *kinds: ActionKind) -> list[Action]:
        return [a for a in self.actions if a.action in kinds]

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.action != "keep"]

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def to_json(self, *, python: str, fingerprint: str, index_requests: int) -> dict[str, Any]:
        return {
            "python": python,
            "fingerprint": fingerprint,
            "actions": [a.to_json() for a in self.actions],
            "index_requests": index_requests,
        }


def _compare(old: str, new: str) -> int:
    try:
        a, b = Version(old), Version(new)
    except InvalidVersion:
        return 0 if old == new else 1
    return (a > b) - (a < b)


def diff(
    resolution: Resolution,
    installed: Mapping[str, InstalledDist],
    *,
    managed: set[str] | None,
    exact: bool = False,
    protected: frozenset[str] | set[str] = frozenset(),
) -> Plan:
    """Every package the resolution or the environment knows, in exactly one action.

    `managed` is the set incrinstall installed itself (None before any state exists:
    nothing is managed). Only managed packages are removed, unless `exact`.
    """
    actions: list[Action] = []
    for name, pin in resolution.pins.items():
        reason = why(name, resolution)
        dist = installed.get(name)
        if dist is None:
            actions.append(Action("install", name, None, pin.version, reason, pin.file))
            continue
        order = _compare(dist.version, pin.version)
        if order == 0 and name in resolution.reinstall:
            actions.append(Action("reinstall", name, dist.version, pin.version, resolution.reinstall[name], pin.file))
        elif order == 0:
            actions.append(Action("keep", name, dist.version, pin.version, reason))
        else:
            kind: ActionKind = "upgrade" if order < 0 else "downgrade"
            actions.append(Action(kind, name, dist.version, pin.version, reason, pin.file))
    keep_anyway = set(protected) | ALWAYS_KEEP | set(resolution.local)
    for name, dist in installed.items():
        if name in resolution.pins:
            continue
        if name in keep_anyway:
            actions.append(Action("keep", name, dist.version, dist.version, "not managed by incrinstall"))
        elif exact:
            actions.append(Action("remove", name, dist.version, None, "not required by the specs (--exact)"))
        elif managed is not None and name in managed:
            actions.append(Action("remove", name, dist.version, None, "no longer required by anything"))
        else:
            actions.append(Action("keep", name, dist.version, dist.version, "not installed by incrinstall"))
    actions.sort(key=lambda a: (ACTIONS.index(a.action), a.name))
    return Plan(actions)


def why(name: str, resolution: Resolution) -> str:
    """The shortest chain from a root requirement to `name`, e.g. "b 2.0 <- a 1.0 <- pyproject.toml:3"."""
    if name in resolution.root_sources:
        return "required by " + ", ".join(resolution.root_sources[name])
    # Breadth-first over parents: the first path that reaches a root is the shortest.
    parent_of: dict[str, str] = {}
    queue = deque([name])
    while queue:
        current = queue.popleft()
        for parent in resolution.required_by.get(current, ()):
            if parent == ROOT or parent in parent_of or parent == name:
                continue
            parent_of[parent] = current
            if parent in resolution.root_sources:
                chain = [parent]
                while chain[-1] != name:
                    chain.append(parent_of[chain[-1]])
                # chain runs root -> ... -> name; render it child first.
                hops = [f"{p} {_version_of(p, resolution)}" for p in reversed(chain[:-1])]
                return "required by " + " <- ".join(hops + [resolution.root_sources[parent][0]])
            queue.append(parent)
    return "required"


def _version_of(name: str, resolution: Resolution) -> str:
    if name in resolution.pins:
        return resolution.pins[name].version
    return resolution.local.get(name) or "(tree)"


SYMBOLS: dict[ActionKind, str] = {"install": "+", "upgrade": "~", "downgrade": "~", "reinstall": "~", "remove": "-", "keep": "="}


def render(plan: Plan, *, show_keep: bool = False) -> str:
    """One line per change, aligned, then a count of what stays."""
    rows = [a for a in plan.actions if show_keep or a.action != "keep"]
    lines = []
    width = max((len(a.name) for a in rows), default=0)
    for a in rows:
        if a.action == "install":
            change = f"{a.to_version}"
        elif a.action == "remove":
            change = f"{a.from_version}"
        elif a.action in ("keep", "reinstall"):
            change = f"{a.from_version}"
        else:
            change = f"{a.from_version} -> {a.to_version}"
        lines.append(f"{SYMBOLS[a.action]} {a.action:<9} {a.name:<{width}}  {change:<22} {a.reason}")
    kept = len(plan.of("keep"))
    counts = ", ".join(f"{len(plan.of(k))} to {k}" for k in CHANGES if plan.of(k))
    lines.append(f"{counts or 'nothing to change'}; {kept} unchanged")
    return "\n".join(lines)
