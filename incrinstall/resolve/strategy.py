"""Which resolver answers: incrinstall's own for a small delta, uv's for an empty environment or a large open part.

Beyond LARGE_OPEN_PART packages to look up on the index, uv resolves: resolvelib in Python is far slower
at hundreds of packages, while a small delta (a bump, an added dependency) stays ours, and ours asks the
index about nothing that is already satisfied. A tree package that states no version stays with our
resolver, which refuses to check a specifier against it, with the file named, rather than let uv guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from incrinstall.resolve import resolver
from incrinstall.resolve.model import LargeResolution
from incrinstall.resolve.uv_resolve import has_only_prereleases, resolve_with_uv, why_no_versions
from incrinstall.common.uv import REAL_UV, UvRunner

if TYPE_CHECKING:
    from incrinstall.common.config import PrereleaseMode
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.environment.interpreter import Interpreter
    from incrinstall.index.client import IndexClient
    from incrinstall.resolve.model import Resolution
    from incrinstall.specs.model import SpecSet

LARGE_OPEN_PART = 30


def resolve_specs(specset: SpecSet, *, interpreter: Interpreter, installed: Mapping[str, InstalledDist],
                  index: IndexClient, uv_index_args: list[str], baseline_pins: Mapping[str, str],
                  prerelease: PrereleaseMode, fresh: bool, report: Callable[[str], None],
                  uv: UvRunner = REAL_UV) -> Resolution:
    """The resolution of the specs for the target, preferring what is installed, then the baseline's pins.

    `fresh`: nothing of ours is installed yet (a baseline into an empty environment): uv decides at once.
    `uv`: runs uv's resolution when uv resolves.
    """
    versioned = all(lp.version for lp in specset.local_packages)
    if not versioned or not fresh:
        try:
            return resolver.resolve(
                specset.requirements, specset.constraints, interpreter=interpreter, installed=installed,
                index=index, local_packages=specset.local_packages, baseline_pins=baseline_pins,
                prerelease=prerelease, max_open=LARGE_OPEN_PART if versioned else None,
            )
        except LargeResolution as exc:
            report(f"{exc.count}+ packages to look up: handing the resolution to uv, preferring what is installed")
    preferences = {**baseline_pins, **{name: dist.version for name, dist in installed.items()}}
    resolution = resolve_with_uv(
        specset.requirements, specset.constraints, interpreter=interpreter, installed=installed,
        uv_index_args=uv_index_args, local_packages=specset.local_packages, prerelease=prerelease,
        preferences=preferences,
        only_prereleases=lambda name: has_only_prereleases(index, name),
        why_missing=lambda name: why_no_versions(index, name),
        uv=uv,
    )
    resolution.index_requests = index.requests
    return resolution
