"""uv's packse scenarios (tests/resolve/packse/) as data, as a loopback index, and as a target to resolve for.

Shared by tests/resolve/test_packse.py and tests/resolve/test_prerelease_agreement.py.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib

    def _load_toml(text: str) -> dict:
        return tomllib.loads(text)
else:  # pragma: no cover - exercised on 3.10 only
    import tomlkit

    def _load_toml(text: str) -> dict:
        return tomlkit.parse(text).unwrap()


SCENARIO_DIR = REPO_ROOT / "tests" / "resolve" / "packse"

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


# --- building the scenario's index -------------------------------------------------------

def _norm_extra(extra: str) -> str:
    # PEP 685: published metadata spells extras normalized (packse builds with hatchling, which does).
    return canonicalize_name(extra)


def serve_scenario(scenario: Scenario, index) -> list[Path]:
    """Skip the test for a scenario incrinstall does not support (saying why); else build its index."""
    reason = scenario.unsupported()
    if reason:
        pytest.skip(f"unsupported: {reason}")
    return build_scenario_index(scenario, index)


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
    from incrinstall.environment.interpreter import Interpreter

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


