"""The resolver, in process, against a real loopback index and what uv really installed into a venv.

These look inside the Resolution (pins, extras, provenance, request counts) where the CLI tests
in test_plan_cli.py only see the rendered plan.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from incrinstall import pipeline
from incrinstall.cli import exit_code, render_error
from incrinstall.common.config import IndexConfig
from incrinstall.common.errors import ResolutionError
from incrinstall.environment.interpreter import find_interpreter
from incrinstall.resolve import requires as requires_dist, resolver
from tests.support.resolving import ResolverWorld, index_client, roots
from tests.support.venvs import uv_pip_install

pytestmark = pytest.mark.slow  # real venvs made and filled by uv


@pytest.fixture
def world(index, venv_factory) -> ResolverWorld:
    return ResolverWorld(index, venv_factory())


def versions(resolution: resolver.Resolution) -> dict[str, str]:
    return {name: pin.version for name, pin in resolution.pins.items()}


# -- preference: installed, then baseline, then newest ------------------------------------------


def test_installed_versions_resolve_without_touching_the_index(world):
    world.index.add_wheel("a", "1.0", requires_dist=["b"])
    world.index.add_wheel("a", "2.0", requires_dist=["b"])
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("b", "2.0")
    world.install("a==1.0", "b==1.0")

    res = world.resolve("a", "b>=1")
    assert versions(res) == {"a": "1.0", "b": "1.0"}
    assert {p.origin for p in res.pins.values()} == {"installed"}
    assert res.index_requests == 0 and world.index.requests == []
    assert res.required_by == {"a": ["<root>"], "b": ["<root>", "a"]}
    assert res.root_sources == {"a": ["pyproject.toml:1"], "b": ["pyproject.toml:2"]}


def test_upgrade_ignores_installed_and_baseline_and_takes_the_newest(world):
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("b", "2.0")
    world.index.add_wheel("b", "3.0")
    world.install("b==1.0")
    assert versions(world.resolve("b", baseline_pins={"b": "2.0"})) == {"b": "1.0"}
    assert versions(world.resolve("b", baseline_pins={"b": "2.0"}, upgrade=True)) == {"b": "3.0"}


def test_baseline_pin_comes_before_newest_and_after_installed(world):
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("b", "2.0")
    world.index.add_wheel("b", "3.0")
    res = world.resolve("b", baseline_pins={"b": "2.0"})
    assert versions(res) == {"b": "2.0"} and res.pins["b"].origin == "index"
    assert res.pins["b"].file.filename == "b-2.0-py3-none-any.whl"
    assert res.pins["b"].hashes and res.pins["b"].hashes[0].startswith("sha256:")


@pytest.mark.inconsistent_env_ok("plans against an installed package whose requirement is unmet on purpose; "
                                 "nothing applies the plan")
def test_missing_dependency_of_an_installed_package_is_the_only_thing_fetched(world):
    world.index.add_wheel("a", "1.0", requires_dist=["b", "c"])
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("c", "1.0")
    world.install("--no-deps", "a", "b")  # c is not installed: a's requirement is not met
    res = world.resolve("a")
    assert versions(res) == {"a": "1.0", "b": "1.0", "c": "1.0"}
    assert res.pins["c"].origin == "index" and res.pins["a"].origin == "installed"
    assert {p for _m, p in world.index.requests} == {"/simple/c/", "/files/c-1.0-py3-none-any.whl.metadata"}


def test_installed_version_is_given_up_when_a_new_requirement_excludes_it(world):
    world.index.add_wheel("a", "1.0", requires_dist=["b>=1"])
    world.index.add_wheel("a", "2.0", requires_dist=["b>=2"])
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("b", "2.0")
    world.install("a==2.0")
    res = world.resolve("a", "b<2")  # backtracks out of the installed a 2.0
    assert versions(res) == {"a": "1.0", "b": "1.0"}


def test_without_an_index_only_installed_packages_can_satisfy(world):
    world.index.add_wheel("b", "1.0")
    world.install("b")
    assert versions(world.resolve("b", use_index=False)) == {"b": "1.0"}
    with pytest.raises(ResolutionError):
        world.resolve("b>1", use_index=False)


# -- extras ------------------------------------------------------------------------------------------


@pytest.fixture
def extras_world(world):
    idx = world.index
    idx.add_wheel("e", "1.0", extras={"x": ["f"]})
    idx.add_wheel("e", "2.0", extras={"x": ["f", "g"]})
    idx.add_wheel("f", "1.0", extras={"y": ["k"]})
    idx.add_wheel("g", "1.0")
    idx.add_wheel("k", "1.0")
    idx.add_wheel("h", "1.0", requires_dist=["e[x]<2"])
    idx.add_wheel("chain", "1.0", extras={"z": ["f[y]"]})
    return world


def test_extras_are_tied_to_the_base_version_and_pinned_as_the_base_package(extras_world):
    extras_world.install("e==2.0")
    res = extras_world.resolve("e", "h")  # h asks for e[x]<2: the base must follow the extra down
    assert versions(res) == {"e": "1.0", "f": "1.0", "h": "1.0"}
    assert not [k for k in res.pins if "[" in k]
    assert res.required_by["f"] == ["e"]


def test_extra_of_an_extra_pulls_its_dependency(extras_world):
    res = extras_world.resolve("chain[z]")
    assert versions(res) == {"chain": "1.0", "f": "1.0", "k": "1.0"}
    assert res.required_by["k"] == ["f"] and res.required_by["f"] == ["chain"]


def test_installed_extra_dependencies_need_no_index_request(extras_world):
    extras_world.install("e[x]==2.0")
    res = extras_world.resolve("e[x]")
    assert versions(res) == {"e": "2.0", "f": "1.0", "g": "1.0"}
    assert res.index_requests == 0 and extras_world.index.requests == []


def test_pinned_yanked_version_with_an_extra_is_allowed(extras_world):
    extras_world.index.yank("e-2.0-py3-none-any.whl")
    assert versions(extras_world.resolve("e[x]")) == {"e": "1.0", "f": "1.0"}
    assert versions(extras_world.resolve("e[x]==2.0")) == {"e": "2.0", "f": "1.0", "g": "1.0"}


def test_named_prerelease_with_an_extra_is_allowed(extras_world):
    extras_world.index.add_wheel("e", "3.0b1", extras={"x": ["g"]})
    assert versions(extras_world.resolve("e[x]")) == {"e": "2.0", "f": "1.0", "g": "1.0"}
    assert versions(extras_world.resolve("e[x]>=3.0b1")) == {"e": "3.0b1", "g": "1.0"}


# -- constraints and the project tree -----------------------------------------------------------------


def test_constraint_alone_adds_nothing_and_asks_nothing(world):
    world.index.add_wheel("b", "1.0")
    res = world.resolve(constraints=("b==1.0",))
    assert res.pins == {} and res.index_requests == 0 and world.index.requests == []


def test_constraint_excludes_the_installed_version(world):
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("b", "2.0")
    world.install("b==2.0")
    res = world.resolve("b", constraints=("b<2",))
    assert versions(res) == {"b": "1.0"} and res.pins["b"].origin == "index"


def test_tree_packages_satisfy_requirements_on_them_without_an_index_request(world):
    from incrinstall.specs.model import LocalPackage

    world.index.add_wheel("provider", "1.0", requires_dist=["proj>=1", "proj[extra]"])
    world.index.add_wheel("proj", "1.5")
    res = world.resolve("provider", local_packages=[LocalPackage("proj", "1.2", ".")])
    assert versions(res) == {"provider": "1.0"}
    assert res.local == {"proj": "1.2"}
    assert "/simple/proj/" not in {p for _m, p in world.index.requests}


# -- conflicts ------------------------------------------------------------------------------------------


def test_conflict_between_two_dependencies_names_both_parents(world):
    world.index.add_wheel("left", "1.0", requires_dist=["shared<2"])
    world.index.add_wheel("right", "1.0", requires_dist=["shared>=2"])
    world.index.add_wheel("shared", "1.0")
    world.index.add_wheel("shared", "2.0")
    with pytest.raises(ResolutionError) as info:
        world.resolve("left", "right")
    err = info.value
    assert exit_code(err) == 1
    detail = render_error(err)
    assert "shared: no version satisfies all of" in detail
    assert "required by left 1.0" in detail and "required by right 1.0" in detail
    assert "available: 2.0, 1.0" in detail


def test_conflict_with_a_root_requirement_names_its_file_and_line(world):
    world.index.add_wheel("left", "1.0", requires_dist=["shared<2"])
    world.index.add_wheel("shared", "2.0")
    world.install("shared")
    with pytest.raises(ResolutionError) as info:
        world.resolve("left", "shared>=2")
    detail = render_error(info.value)
    assert "required by pyproject.toml:2" in detail and "required by left 1.0" in detail
    assert "2.0 (installed)" in detail


# -- through pipeline.make_plan ------------------------------------------------------------------------


def test_make_plan_counts_the_requests_of_the_delta_only(index, venv_factory, tmp_path):
    index.add_wheel("a", "1.0")
    index.add_wheel("b", "1.0")
    py = venv_factory()
    uv_pip_install(py, "a", index_url=index.url)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\ndependencies = ["a", "b"]\n')
    options = pipeline.Options(project_dir=proj, python=str(py), index=IndexConfig(index_url=index.url))
    interpreter = find_interpreter(str(py))
    index.reset_log()

    planned = pipeline.make_plan(options, interpreter)
    assert [(a.action, a.name) for a in planned.plan.changes] == [("install", "b")]
    assert planned.index_requests == index.count() == 2

    uv_pip_install(py, "b", index_url=index.url)
    index.reset_log()
    planned = pipeline.make_plan(options, interpreter)
    assert planned.plan.is_empty and planned.index_requests == 0 and index.requests == []


# -- the delta resolution agrees with the full one ------------------------------------------------------
#
# resolve() first walks the roots through what is installed and hands only the unmet part to
# resolvelib (delta.resolve_delta). Each scenario below is resolved both ways; the answers
# must be the same, and the expected one.

DELTA_SCENARIOS = {
    "bump needs a newer shared dependency that another installed package caps": dict(
        wheels=[("a", "1.0", ["s>=1"]), ("a", "2.0", ["s>=2"]), ("s", "1.0", []), ("s", "2.0", []),
                ("other", "1.0", ["s<2"]), ("other", "2.0", ["s>=2"])],
        install=["a==1.0", "other==1.0", "s==1.0"], roots=["a>=2", "other"],
        expected={"a": "2.0", "s": "2.0", "other": "2.0"}),
    "bump needs a newer shared dependency below the newest": dict(
        wheels=[("a", "1.0", ["s>=1"]), ("a", "2.0", ["s>=2"]), ("s", "1.0", []), ("s", "2.0", []),
                ("s", "3.0", []), ("p", "1.0", ["s<3"])],
        install=["a==1.0", "p", "s==1.0"], roots=["a>=2", "p"],
        expected={"a": "2.0", "s": "2.0", "p": "1.0"}),
    "a new package asks for an extra of an installed one": dict(
        wheels=[("e", "1.0", [], {"x": ["f"]}), ("f", "1.0", []), ("n", "1.0", ["e[x]"])],
        install=["e"], roots=["e", "n"], expected={"e": "1.0", "f": "1.0", "n": "1.0"}),
    "a dropped requirement leaves its subtree out": dict(
        wheels=[("a", "1.0", ["b"]), ("b", "1.0", []), ("c", "1.0", ["d"]), ("d", "1.0", [])],
        install=["a", "c"], roots=["c", "new"], extra_wheels=[("new", "1.0", ["b"])],
        expected={"c": "1.0", "d": "1.0", "new": "1.0", "b": "1.0"}),
    "a constraint excludes an installed deep dependency": dict(
        wheels=[("a", "1.0", ["m"]), ("m", "1.0", ["s>=1"]), ("s", "1.0", []), ("s", "2.0", [])],
        install=["a", "s==2.0"], roots=["a"], constraints=["s<2"],
        expected={"a": "1.0", "m": "1.0", "s": "1.0"}),
    "installed dependency cycle": dict(
        wheels=[("a", "1.0", ["b"]), ("b", "1.0", ["a"]), ("b", "2.0", ["a"])],
        install=["a", "b==1.0"], roots=["a", "b"], expected={"a": "1.0", "b": "1.0"}),
    "the old subtree of a bumped package does not constrain the new resolution": dict(
        wheels=[("a", "1.0", ["x"]), ("a", "2.0", []), ("x", "1.0", ["t<3"]),
                ("t", "1.0", []), ("t", "2.0", []), ("t", "3.0", [])],
        install=["a==1.0", "t==1.0"], roots=["a>=2", "t>=2"], expected={"a": "2.0", "t": "3.0"}),
    "a package kept under a bumped one still constrains it": dict(
        wheels=[("a", "1.0", ["x"]), ("a", "2.0", ["x"]), ("x", "1.0", ["t<3"]),
                ("t", "1.0", []), ("t", "2.0", []), ("t", "3.0", [])],
        install=["a==1.0", "t==1.0"], roots=["a>=2", "t>=2"], expected={"a": "2.0", "x": "1.0", "t": "2.0"}),
    "an upgrade of a dependency drags its dependent along": dict(
        wheels=[("top", "1.0", ["lib<2"]), ("top", "2.0", ["lib>=2"]), ("lib", "1.0", []), ("lib", "2.0", [])],
        install=["top==1.0"], roots=["top", "lib>=2"], expected={"top": "2.0", "lib": "2.0"}),
}


@pytest.mark.parametrize("scenario", list(DELTA_SCENARIOS))
def test_delta_resolution_matches_the_full_resolution(scenario, index, venv_factory, monkeypatch):
    spec = DELTA_SCENARIOS[scenario]
    for name, version, requires, *extras in spec["wheels"]:
        index.add_wheel(name, version, requires_dist=requires, extras=extras[0] if extras else None)
    w = ResolverWorld(index, venv_factory())
    w.install(*spec["install"])
    for name, version, requires in spec.get("extra_wheels", ()):
        index.add_wheel(name, version, requires_dist=requires)
    roots_, constraints = spec["roots"], tuple(spec.get("constraints", ()))

    outcomes = []
    real_delta = resolver.resolve_delta

    def recording_delta(roots, provider):
        outcomes.append(real_delta(roots, provider))
        return outcomes[-1]

    with monkeypatch.context() as m:
        m.setattr(resolver, "resolve_delta", recording_delta)
        delta = w.resolve(*roots_, constraints=constraints)
    assert outcomes[0] is not None, "the delta resolution gave up and handed over to the full one"
    with monkeypatch.context() as m:
        m.setattr(resolver, "resolve_delta", lambda roots, provider: None)
        full = w.resolve(*roots_, constraints=constraints)

    assert versions(delta) == versions(full) == spec["expected"]
    assert delta.required_by == full.required_by
    assert {n: p.origin for n, p in delta.pins.items()} == {n: p.origin for n, p in full.pins.items()}


@pytest.mark.tree_packages({"proj": "1.2"})  # provider requires the tree package proj, never installed
def test_noop_is_resolved_by_walking_the_installed_packages_without_resolvelib(world, monkeypatch):
    world.index.add_wheel("a", "1.0", requires_dist=["b", "c[x]"])
    world.index.add_wheel("b", "1.0")
    world.index.add_wheel("c", "1.0", extras={"x": ["d"]})
    world.index.add_wheel("d", "1.0")
    world.index.add_wheel("provider", "1.0", requires_dist=["proj>=1"])
    world.install("a")
    world.install("--no-deps", "provider")

    def no_resolvelib(*args, **kwargs):
        raise AssertionError("resolvelib must not run when the installed packages satisfy everything")

    monkeypatch.setattr(resolver, "Resolver", no_resolvelib)
    from incrinstall.specs.model import LocalPackage

    res = world.resolve("a", "provider", local_packages=[LocalPackage("proj", "1.2", ".")])
    assert versions(res) == {"a": "1.0", "b": "1.0", "c": "1.0", "d": "1.0", "provider": "1.0"}
    assert res.local == {"proj": "1.2"}
    assert res.required_by["d"] == ["c"] and res.index_requests == 0 and world.index.requests == []


def _consistent(pins: dict[str, str], roots_: list[str], metadata: dict[tuple[str, str], list[str]]) -> list[str]:
    """Problems of a resolution, checked from the wheels' own metadata without the resolver's code."""
    from packaging.requirements import Requirement

    problems, reached, done = [], set(), set()
    todo = [Requirement(r) for r in roots_]
    while todo:
        req = todo.pop()
        if req.name not in pins:
            problems.append(f"{req} is not pinned")
            continue
        if not req.specifier.contains(pins[req.name], prereleases=True):
            problems.append(f"{req} is not met by {pins[req.name]}")
        reached.add(req.name)
        for extra in ["", *sorted(req.extras)]:
            if (req.name, extra) in done:
                continue
            done.add((req.name, extra))
            for line in metadata[(req.name, pins[req.name])]:
                dep = Requirement(line)
                if (dep.marker is None and not extra) or (extra and dep.marker and dep.marker.evaluate({"extra": extra})):
                    todo.append(dep)
    if set(pins) != reached:
        problems.append(f"pinned but not required: {sorted(set(pins) - reached)}")
    return problems


def test_delta_and_full_resolutions_agree_on_random_worlds(index, monkeypatch):
    """Random packages, installed sets and roots: the delta path fails exactly when the full one does,
    and whatever either returns is consistent. (The installed sets are InstalledDist objects built
    from the same metadata, so 40 environments cost no uv runs.)"""
    import random

    from incrinstall.environment.installed import InstalledDist
    from tests.support.wheels import requires_dist_lines

    rng = random.Random(1234)
    names = [f"p{i}" for i in range(10)]
    metadata: dict[tuple[str, str], list[str]] = {}
    for i, name in enumerate(names):
        for version in ("1.0", "2.0", "3.0"):
            deps = [dep + rng.choice(["", ">=2.0", "<3.0", "==1.0", "<2.0"])
                    for dep in rng.sample(names[i + 1:], min(len(names) - i - 1, rng.randint(0, 3)))]
            extras = {"x": [rng.choice(names[i + 1:])]} if i < 9 and rng.random() < 0.25 else None
            index.add_wheel(name, version, requires_dist=deps, extras=extras)
            metadata[(name, version)] = requires_dist_lines(deps, extras)
    interpreter = find_interpreter(sys.executable)
    solved = 0
    for _trial in range(40):
        installed = {}
        for name in rng.sample(names, rng.randint(0, len(names))):
            version = rng.choice(("1.0", "2.0", "3.0"))
            installed[name] = InstalledDist(name, name, version, tuple(metadata[(name, version)]), None, "uv",
                                            None, None, "")
        roots_ = [name + rng.choice(["", "", "[x]"]) + rng.choice(["", "", ">=2.0", "<3.0", "==1.0"])
                  for name in rng.sample(names, rng.randint(1, 4))]

        def attempt():
            client = index_client(interpreter, index.url)
            try:
                res = resolver.resolve(roots(*roots_), interpreter=interpreter, installed=installed, index=client)  # noqa: B023 - called within the iteration
            except ResolutionError:
                return None
            return versions(res)

        delta = attempt()
        with monkeypatch.context() as m:
            m.setattr(resolver, "resolve_delta", lambda roots, provider: None)
            full = attempt()
        assert (delta is None) == (full is None), (roots_, installed, delta, full)
        for pins in (delta, full):
            if pins is not None:
                assert _consistent(pins, roots_, metadata) == [], (roots_, pins)
        solved += delta is not None
    assert solved >= 15  # the property was checked on real resolutions, not only on conflicts


def test_installed_requirements_are_parsed_once_and_answered_from_the_cache_after(world, monkeypatch, incrinstall_cache):
    world.index.add_wheel("app", "1.0", requires_dist=["lib>=1", 'win-only; sys_platform == "win32"',
                                                        'pyver>=2; python_version >= "3"'])
    for name in ("lib", "win-only", "pyver"):
        world.index.add_wheel(name, "1.0" if name == "lib" else "2.0")
    world.install("app", "lib", "pyver")
    first = versions(world.resolve("app", use_index=False))
    assert first == {"app": "1.0", "lib": "1.0", "pyver": "2.0"}
    assert list((Path(incrinstall_cache) / "requires").glob("*.json"))

    parse = requires_dist.parse_requirement

    def no_parse(text, where):
        if not where.startswith("pyproject.toml"):  # the roots are parsed every time; installed lines only once
            raise AssertionError(f"parsed {text!r} of {where} again")
        return parse(text, where)

    monkeypatch.setattr(requires_dist, "parse_requirement", no_parse)
    assert versions(world.resolve("app", use_index=False)) == first


def test_a_damaged_requirements_cache_is_ignored(world, incrinstall_cache):
    world.index.add_wheel("app", "1.0", requires_dist=["lib>=1"])
    world.index.add_wheel("lib", "1.0")
    world.install("app", "lib")
    folder = Path(incrinstall_cache) / "requires"
    folder.mkdir(parents=True, exist_ok=True)
    world.resolve("app", use_index=False)
    for entry in folder.glob("*.json"):
        entry.write_text('{"lib>=1": [true, "other"')
    assert versions(world.resolve("app", use_index=False)) == {"app": "1.0", "lib": "1.0"}
    for entry in folder.glob("*.json"):
        entry.write_text('{"lib>=1": [true, "other", "not a list", 7]}')
    assert versions(world.resolve("app", use_index=False)) == {"app": "1.0", "lib": "1.0"}
