"""After uv installs, check that what it installed needs nothing the plan left out.

The resolution read each package's requirements from the index's metadata (mostly a PEP 658
file, which is never compared with the wheel); from then on the wheel's own METADATA is what
counts. An index whose metadata file disagrees with its wheel would otherwise leave a
requirement unmet, `uv pip check` failing, and nobody told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from incrinstall.common.names import canonical_name

if TYPE_CHECKING:
    from incrinstall.environment.installed import InstalledDist
    from incrinstall.resolve.requires import ParsedLine


def unmet_requirements(installed: Mapping[str, InstalledDist], lines: Mapping[str, Sequence[ParsedLine]],
                       provided: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(package, version, requirement) for each applicable base requirement in `lines` that `installed` does not meet.

    `installed` maps canonical names to InstalledDist (as environment.installed reads them); `lines` maps
    the names just installed to their Requires-Dist lines that apply on the target (requires.requirement_lines);
    `provided` are packages the project tree provides, which a baseline deliberately leaves out.
    """
    skip = {canonical_name(n) for n in provided}
    unmet = []
    for name, reqs in lines.items():
        dist = installed.get(name)
        if dist is None:
            continue  # uv said it installed it; a missing one is uv's to explain
        for line in reqs:
            if line.name in skip:
                continue
            have = installed.get(line.name)
            if have is None or not _satisfies(line.specifier, have.version):
                unmet.append((dist.name, dist.version, line.text))
    return unmet


def _satisfies(specifier: str, version: str) -> bool:
    try:
        return SpecifierSet(specifier).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return True  # not ours to judge
