"""Run incrinstall's resolver against uv's packse scenarios, each served from its own loopback index.

The scenario files in tests/packse/ were written by uv's authors (see tests/packse/SOURCE.md),
so they check the resolver against expectations nobody here wrote. Every scenario runs twice:
once through `incrinstall.resolve.resolver.resolve` (the test that matters) and once through
`uv pip compile` against the same loopback index, which tells a wrong incrinstall answer
apart from a badly built index.

A scenario that needs an option this harness does not model (`universal`, `no_binary`,
`additional_python`, ...) is skipped with a reason starting "unsupported:", never passed.
`python tests/packse_report.py` prints the counts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib

    def _load_toml(text: str) -> dict:
        return tomllib.loads(text)
else:  # pragma: no cover - exercised on 3.10 only
    import tomlkit

    def _load_toml(text: str) -> dict:
        return tomlkit.parse(text).unwrap()


SCENARIO_DIR = Path(__file__).parent / "packse"

# Options this harness models; every other one makes the scenario unsupported.
SUPPORTED_RESOLVER_OPTIONS = {"python", "prereleases"}
# additional_python: another interpreter on the machine that may build sdists for the target.
SUPPORTED_ENVIRONMENT_OPTIONS = {"python", "additional_python"}
# packse's own default when a version does not say (PackageMetadata.requires_python).
PACKSE_DEFAULT_REQUIRES_PYTHON = ">=3.8"


@dataclass(frozen=True)
class PackageVersion:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    extras: dict[str, tuple[str, ...]] = field(default_factory=dict)
    requires_python: str | None = PACKSE_DEFAULT_REQUIRES_PYTHON
    yanked: bool = False
    sdist: bool = True
    wheel: bool = True
    wheel_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    description: str
    root_requires: tuple[str, ...]
    versions: tuple[PackageVersion, ...]
    satisfiable: bool
    expected_packages: dict[str, str] | None  # None: the scenario only says "it resolves"
    explanation: str | None
    resolver_options: dict
    environment: dict
    raw: dict

    @property
    def package_names(self) -> set[str]:
        return {canonicalize_name(v.name) for v in self.versions}

    def unsupported(self) -> str | None:
        """Why this harness cannot run the scenario faithfully, or None."""
        if _mentions_universal(self.raw):
            return "universal"
        extra = sorted(set(self.resolver_options) - SUPPORTED_RESOLVER_OPTIONS)
        if extra:
            return "resolver_options." + ", resolver_options.".join(extra)
        extra = sorted(set(self.environment) - SUPPORTED_ENVIRONMENT_OPTIONS)
        if extra:
            return "environment." + ", environment.".join(extra)
        return None

    @property
    def target_python(self) -> str:
        """The python the resolution is for: the resolver override, else the scenario's, else ours."""
        python = self.resolver_options.get("python") or self.environment.get("python")
        if python:
            return str(python)
        return ".".join(str(part) for part in sys.version_info[:3])

    @property
    def prerelease(self) -> str:
        return "allow" if self.resolver_options.get("prereleases") else "if-necessary-or-explicit"


def _mentions_universal(value) -> bool:
    if isinstance(value, dict):
        return any((k == "universal" and v) or _mentions_universal(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_mentions_universal(v) for v in value)
    return False


def load_scenario(path: Path) -> Scenario:
    data = _load_toml(path.read_text(encoding="utf-8"))
    versions = []
    for name, package in data.get("packages", {}).items():
        for version, meta in package.get("versions", {}).items():
            meta = meta or {}
            versions.append(PackageVersion(
                name=name,
                version=version,
                requires=tuple(meta.get("requires", ())),
                extras={extra: tuple(reqs) for extra, reqs in meta.get("extras", {}).items()},
                requires_python=meta.get("requires_python", PACKSE_DEFAULT_REQUIRES_PYTHON),
                yanked=bool(meta.get("yanked", False)),
                sdist=bool(meta.get("sdist", True)),
                wheel=bool(meta.get("wheel", True)),
                wheel_tags=tuple(meta.get("wheel_tags", ())),
            ))
    expected = data.get("expected", {})
    return Scenario(
        name=data["name"],
        path=path,
        description=data.get("description", ""),
        root_requires=tuple(data.get("root", {}).get("requires", ())),
        versions=tuple(versions),
        satisfiable=bool(expected["satisfiable"]),
        expected_packages=dict(expected["packages"]) if "packages" in expected else None,
        explanation=expected.get("explanation"),
        resolver_options=dict(data.get("resolver_options", {})),
        environment=dict(data.get("environment", {})),
        raw=data,
    )


def all_scenarios() -> list[Scenario]:
    return [load_scenario(p) for p in sorted(SCENARIO_DIR.rglob("*.toml"))]


SCENARIOS = all_scenarios()
SCENARIO_PARAMS = [pytest.param(s, id=s.name) for s in SCENARIOS]

# The cross-check runs uv with the flags incrinstall's own baseline gives it
# (index_config.uv_prerelease_args): `--prerelease explicit`, plus `--prerelease-package NAME=allow`
# for each root requirement whose specifier names a pre-release. That is packse's rule except for a
# package that has published nothing but pre-releases: uv >= 0.12 has no mode for that which does
# not also admit pre-releases where stable versions exist but do not fit (its `if-necessary`).
# incrinstall's baseline closes that gap by asking the index about the packages uv's hint names and
# running uv again with those allowed (uv_resolve._run_allowing_only_prereleases; checked in
# tests/test_prerelease_agreement.py); this cross-check runs uv once, with the first flags only.
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


# --- building the scenario's index -------------------------------------------------------

def _norm_extra(extra: str) -> str:
    # PEP 685: published metadata spells extras normalized (packse builds with hatchling, which does).
    return canonicalize_name(extra)


def build_scenario_index(scenario: Scenario, index) -> list[Path]:
    """Build every package version the scenario lists into `index`, as packse would publish it.

    Both an sdist and a py3-none-any wheel by default; `sdist`/`wheel` turn either off;
    `wheel_tags` replaces the universal wheel by one wheel per tag; `yanked` yanks every file
    of the version.
    """
    built: list[Path] = []
    for pv in scenario.versions:
        extras = {_norm_extra(e): list(reqs) for e, reqs in pv.extras.items()}
        common = dict(requires_dist=list(pv.requires), requires_python=pv.requires_python, extras=extras)
        files: list[Path] = []
        if pv.sdist:
            files.append(index.add_sdist(pv.name, pv.version, **common))
        if pv.wheel:
            for tag in pv.wheel_tags or ("py3-none-any",):
                files.append(index.add_wheel(pv.name, pv.version, tag=tag, **common))
        if pv.yanked:
            for path in files:
                index.yank(path.name, "yanked by the packse scenario")
        built += files
    return built


# --- the target interpreter -------------------------------------------------------------

def _full_version(version: str) -> str:
    parts = version.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts[:3])


def target_markers(version: str) -> dict[str, str]:
    full = _full_version(version)
    markers = dict(default_environment())
    markers["python_full_version"] = full
    markers["python_version"] = ".".join(full.split(".")[:2])
    if markers.get("implementation_name") == "cpython":
        markers["implementation_version"] = full
    return markers


def target_tags(version: str) -> list[str]:
    """cpython tags for the target version on this machine's platform, then the generic ones."""
    from packaging import tags

    major, minor = (int(p) for p in _full_version(version).split(".")[:2])
    py = (major, minor)
    out = [str(t) for t in tags.cpython_tags(python_version=py)]
    out += [str(t) for t in tags.compatible_tags(python_version=py, interpreter=f"cp{major}{minor}")]
    return list(dict.fromkeys(out))


def make_interpreter(version: str, prefix: Path):
    """The target the resolver is asked to resolve for: this machine, at the scenario's python version."""
    from incrinstall.target.environment import Interpreter

    full = _full_version(version)
    site = prefix / "lib" / f"python{'.'.join(full.split('.')[:2])}" / "site-packages"
    values = dict(
        executable=sys.executable,
        version=full,
        markers=target_markers(version),
        prefix=str(prefix),
        base_prefix=str(prefix),
        is_venv=False,
        purelib=str(site),
        platlib=str(site),
        scripts=str(prefix / "bin"),
        site_dirs=(str(site),),
        tags=tuple(target_tags(version)),
        found_by="packse scenario target",
    )
    return Interpreter(**values)


# --- running a scenario ----------------------------------------------------------------

def root_requirements(scenario: Scenario, markers: dict[str, str]) -> list[str]:
    """Root requirements for the target: false markers dropped, true ones stripped (as specs.collect does)."""
    out = []
    for text in scenario.root_requires:
        req = Requirement(text)
        if req.marker is not None:
            if not Marker(str(req.marker)).evaluate({**markers, "extra": ""}):
                continue
            req.marker = None
        out.append(str(req))
    return out


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
    reason = scenario.unsupported()
    if reason:
        pytest.skip(f"unsupported: {reason}")
    build_scenario_index(scenario, index)

    from incrinstall.cli import render_error
    from incrinstall.common.errors import ResolutionError
    from incrinstall.index.client import IndexClient
    from incrinstall.common.config import IndexConfig
    from incrinstall.resolve.resolver import resolve
    from incrinstall.specs.model import RootRequirement

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
    with IndexClient(IndexConfig(index_url=index.url), python_full_version=interp.version,
                     tags=list(interp.tags), cache_dir=tmp_path / "http-cache", build_python=build_python) as client:
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
    reason = scenario.unsupported()
    if reason:
        pytest.skip(f"unsupported: {reason}")
    build_scenario_index(scenario, index)
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
