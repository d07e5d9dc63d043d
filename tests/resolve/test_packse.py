"""Run incrinstall's resolver against uv's packse scenarios, each served from its own loopback index.

The scenario files in tests/resolve/packse/ were written by uv's authors (see tests/resolve/packse/SOURCE.md),
so they check the resolver against expectations nobody here wrote. Every scenario runs twice:
once through `incrinstall.resolve.resolver.resolve` (the test that matters) and once through
`uv pip compile` against the same loopback index, which tells a wrong incrinstall answer
apart from a badly built index.

A scenario that needs an option this harness does not model (`universal`, `no_binary`,
`additional_python`, ...) is skipped with a reason starting "unsupported:", never passed.
`python tests/resolve/packse_report.py` prints the counts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.packse import (
    SCENARIO_DIR, SCENARIOS, Scenario, make_interpreter, root_requirements, serve_scenario, target_markers,
)

SCENARIO_PARAMS = [pytest.param(s, id=s.name) for s in SCENARIOS]

# The cross-check runs uv with the flags incrinstall's own baseline gives it
# (index_config.uv_prerelease_args): `--prerelease explicit`, plus `--prerelease-package NAME=allow`
# for each root requirement whose specifier names a pre-release. That is packse's rule except for a
# package that has published nothing but pre-releases: uv >= 0.12 has no mode for that which does
# not also admit pre-releases where stable versions exist but do not fit (its `if-necessary`).
# incrinstall's baseline closes that gap by asking the index about the packages uv's hint names and
# running uv again with those allowed (uv_resolve._run_allowing_only_prereleases; checked in
# tests/resolve/test_prerelease_agreement.py); this cross-check runs uv once, with the first flags only.
# Strict xfail makes it speak up when uv changes.
_UV_ONLY_PRERELEASES = ("uv >= 0.12 cannot be told 'pre-releases only for a package that has nothing else' "
                        "without also admitting them where stable versions do not fit")
UV_KNOWN_DISAGREEMENTS = {
    "package-only-prereleases": _UV_ONLY_PRERELEASES,
    "package-only-prereleases-boundary": _UV_ONLY_PRERELEASES,
    "transitive-package-only-prereleases": _UV_ONLY_PRERELEASES,
}
UV_SCENARIO_PARAMS = [
    pytest.param(s, id=s.name, marks=[pytest.mark.xfail(strict=True, reason=UV_KNOWN_DISAGREEMENTS[s.name])]
                 if s.name in UV_KNOWN_DISAGREEMENTS else [])
    for s in SCENARIOS
]


def _normalized(pins: dict[str, str]) -> dict[str, str]:
    return {canonicalize_name(n): str(Version(v)) for n, v in pins.items()}


def _describe(scenario: Scenario) -> str:
    lines = [f"scenario {scenario.name} ({scenario.path.relative_to(SCENARIO_DIR)}):", f"  {scenario.description}"]
    if scenario.explanation:
        lines.append(f"  explanation: {scenario.explanation}")
    return "\n".join(lines)


def _names_a_package(text: str, names: set[str]) -> bool:
    """True when `text` names one of `names` as a package, not as an English word ("a")."""
    for name in names:
        pattern = (
            rf"(?<![\w.-]){re.escape(name)}(?=\s*(?:[<>=!~:,\[(]|\d|$))"  # a>=1, a[x], a: ..., a 1.0
            rf"|[`'\"]{re.escape(name)}[`'\"]"  # quoted
        )
        if re.search(pattern, text, flags=re.IGNORECASE | re.MULTILINE):
            return True
    return False


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[:3]) if lines else "(empty message)"


def check_outcome(scenario: Scenario, pins: dict[str, str] | None, error_text: str | None, where: str | None,
                  *, error_names_package: bool = True) -> None:
    """Compare one resolver's answer (pins, or an error) with the scenario's expectation.

    Each failure message starts with a one-line verdict (packse_report.py shows that line),
    then the scenario's description and explanation.
    """
    context = _describe(scenario)
    if not scenario.satisfiable:
        assert error_text is not None, f"expected unsatisfiable, got {_normalized(pins)}\n{context}"
        if not error_names_package:
            return
        names = scenario.package_names | {canonicalize_name(Requirement(r).name) for r in scenario.root_requires}
        named = (where is not None and canonicalize_name(where.split(" ")[0]) in names) or _names_a_package(error_text, names)
        assert named, f"the error names no package of the scenario: {_first_line(error_text)}\n{context}\n{error_text}"
        return
    assert error_text is None, f"expected a resolution, got: {_first_line(error_text)}\n{context}\n{error_text}"
    got = _normalized(pins)
    if scenario.expected_packages is not None:
        want = _normalized(scenario.expected_packages)
        assert got == want, f"expected {want}, got {got}\n{context}"
        return
    # The scenario only promises success: every root requirement must be pinned within its range.
    for text in scenario.root_requires:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in got, f"root requirement {text} is not pinned: {got}\n{context}"
        assert req.specifier.contains(got[name], prereleases=True), f"{name}=={got[name]} does not satisfy {text}\n{context}"


@pytest.mark.parametrize("scenario", SCENARIO_PARAMS)
def test_packse(scenario: Scenario, index, tmp_path: Path) -> None:
    """incrinstall's resolver reaches the scenario's expected outcome on its own loopback index."""
    serve_scenario(scenario, index)

    from incrinstall.cli import render_error
    from incrinstall.common.errors import ResolutionError
    from incrinstall.resolve.resolver import resolve
    from incrinstall.specs.model import RootRequirement
    from tests.support.resolving import index_client

    interp = make_interpreter(scenario.target_python, tmp_path / "target")
    build_python = None
    if scenario.environment.get("additional_python"):
        from tests.support.venvs import find_python

        wanted = [str(v) for v in scenario.environment["additional_python"]]
        build_python = next((find_python(v) for v in wanted if find_python(v)), None)
        if build_python is None:
            pytest.skip(f"unsupported: no interpreter for environment.additional_python {wanted} on this machine")
    roots = [
        RootRequirement(requirement=text, source="scenario:root", kind="requirements")
        for text in root_requirements(scenario, interp.markers)
    ]
    pins = error_text = where = None
    with index_client(interp, index.url, cache_dir=tmp_path / "http-cache", build_python=build_python) as client:
        try:
            resolution = resolve(
                roots, [], interpreter=interp, installed={}, index=client, local_packages=(),
                baseline_pins={}, prerelease=scenario.prerelease,
            )
        except ResolutionError as exc:
            error_text, where = render_error(exc), exc.where
        else:
            pins = {name: pin.version for name, pin in resolution.pins.items()}
    check_outcome(scenario, pins, error_text, where)


# --- the cross-check: uv against the same index ----------------------------------------

def _uv_binary() -> str:
    from incrinstall.common.uv import uv_binary

    return str(uv_binary())


_PIN_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


@pytest.mark.parametrize("scenario", UV_SCENARIO_PARAMS)
def test_packse_index_matches_uv(scenario: Scenario, index, tmp_path: Path) -> None:
    """uv resolves the built index to the scenario's expectation, so the index itself is right."""
    serve_scenario(scenario, index)
    from incrinstall.common.config import uv_prerelease_args

    markers = target_markers(scenario.target_python)
    req_file = tmp_path / "requirements.in"
    req_file.write_text("".join(r + "\n" for r in root_requirements(scenario, markers)), encoding="utf-8")
    # conftest's autouse fixture already isolates the environment; these make the call self-contained.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    cmd = [
        _uv_binary(), "pip", "compile", str(req_file),
        "--index-url", index.url,
        "--python", sys.executable,
        "--python-version", markers["python_full_version"],
        *uv_prerelease_args(scenario.prerelease, root_requirements(scenario, markers)),
        "--no-header", "--no-annotate", "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    pins = error_text = None
    if proc.returncode == 0:
        pins = {}
        for line in proc.stdout.splitlines():
            m = _PIN_LINE.match(line.strip())
            if m:
                pins[m.group(1)] = m.group(2)
    else:
        error_text = (proc.stderr or proc.stdout).strip() or f"uv exited {proc.returncode}"
    check_outcome(scenario, pins, error_text, None, error_names_package=False)
