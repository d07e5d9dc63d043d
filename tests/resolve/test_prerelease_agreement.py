"""Baseline and sync apply one pre-release rule.

A baseline into an empty environment is resolved by uv (`uv_resolve.resolve_with_uv`, with the
flags `index_config.uv_prerelease_args` gives it); a sync is resolved by incrinstall's own
resolver (`Provider._allows_prereleases`, resolve/provider.py). On every pre-release scenario of packse, served from
a real loopback index, both must reach the same outcome: the same pins, or both refuse.

The rule (packse's, and incrinstall's default `if-necessary-or-explicit`): a package's
pre-releases are candidates when a root requirement's specifier names a pre-release of it, or
when the package has published nothing but pre-releases.

uv >= 0.12 has no mode for exactly this: its `if-necessary` also admits a pre-release when
stable versions exist but none fits (packse's `*-in-range` and `*-stable-dependency*`
scenarios, which must fail), and its `explicit` never admits one for a package that has only
pre-releases. So uv gets `explicit` (plus `--prerelease-package NAME=allow` for root
requirements naming a pre-release), and when uv refuses because a package's only versions are
pre-releases (its "pre-releases weren't enabled" hint), the resolution is retried with
`if-necessary` (real Airflow 2.10 needs it: opentelemetry-semantic-conventions publishes only
pre-releases).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.packse import SCENARIOS, build_scenario_index, root_requirements

PRERELEASE_SCENARIOS = [s for s in SCENARIOS if s.path.parent.name == "prereleases" and not s.unsupported()]
PARAMS = [pytest.param(s, id=s.name) for s in PRERELEASE_SCENARIOS]


def test_there_are_pre_release_scenarios_to_compare():
    assert len(PRERELEASE_SCENARIOS) >= 15


@pytest.mark.parametrize("scenario", PARAMS)
def test_baseline_by_uv_and_sync_by_incrinstall_agree_on_pre_releases(scenario, index, tmp_path: Path):
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.common.errors import ResolutionError
    from incrinstall.common.config import IndexConfig
    from tests.support.resolving import index_client
    from incrinstall.resolve.resolver import resolve
    from incrinstall.specs.model import RootRequirement
    from incrinstall.resolve.uv_resolve import has_only_prereleases
    from incrinstall.resolve.uv_resolve import resolve_with_uv

    build_scenario_index(scenario, index)
    interp = find_interpreter(sys.executable)
    roots = [RootRequirement(requirement=text, source="scenario:root", kind="requirements")
             for text in root_requirements(scenario, interp.markers)]
    config = IndexConfig(index_url=index.url, prerelease=scenario.prerelease)

    def outcome(run):
        try:
            return {name: pin.version for name, pin in run().pins.items()}
        except ResolutionError:
            return "unsatisfiable"

    with index_client(interp, config, cache_dir=tmp_path / "http-cache") as client:
        sync = outcome(lambda: resolve(roots, [], interpreter=interp, installed={}, index=client, local_packages=(),
                                       baseline_pins={}, prerelease=config.prerelease))
        # As the pipeline calls it: uv, told by our index which refused packages have only pre-releases.
        baseline = outcome(lambda: resolve_with_uv(
            roots, [], interpreter=interp, installed={}, uv_index_args=config.uv_args(), prerelease=config.prerelease,
            only_prereleases=lambda name: has_only_prereleases(client, name)))
    assert baseline == sync, f"{scenario.name}: baseline (uv) {baseline}, sync (incrinstall) {sync}"
    want = scenario.expected_packages if scenario.satisfiable else "unsatisfiable"
    if want is not None and want != "unsatisfiable":
        assert sync == {k: str(v) for k, v in want.items()}
    elif want == "unsatisfiable":
        assert sync == "unsatisfiable"
