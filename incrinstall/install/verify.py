"""After uv installs, check that what it installed needs nothing the plan left out.

The resolution read each package's requirements from the index's metadata (mostly a PEP 658
file, which is never compared with the wheel); from then on the wheel's own METADATA is what
counts. An index whose metadata file disagrees with its wheel would otherwise leave a
requirement unmet, `uv pip check` failing, and nobody told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packaging.markers import InvalidMarker, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from incrinstall.common.names import canonical_name


def unmet_requirements(installed: Mapping, names: Iterable[str], markers: Mapping[str, str],
                       provided: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(package, version, requirement) for each base requirement of `names` that `installed` does not meet.

    `installed` maps canonical names to InstalledDist (as target.environment reads them); `provided`
    are packages the project tree provides, which a baseline deliberately leaves out.
    """
    skip = {canonical_name(n) for n in provided}
    env = {**markers, "extra": ""}
    unmet = []
    for name in names:
        dist = installed.get(canonical_name(name))
        if dist is None:
            continue  # uv said it installed it; a missing one is uv's to explain
        for text in dist.requires_dist:
            try:
                req = Requirement(text)
                if req.marker is not None and not req.marker.evaluate(env):
                    continue
            except (InvalidRequirement, InvalidMarker, UndefinedEnvironmentName):
                continue  # what cannot be read was not resolved either; uv pip check will say
            dep = canonical_name(req.name)
            if dep in skip:
                continue
            have = installed.get(dep)
            if have is None or not _satisfies(req, have.version):
                unmet.append((dist.name, dist.version, text))
    return unmet


def _satisfies(req: Requirement, version: str) -> bool:
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True  # not ours to judge
