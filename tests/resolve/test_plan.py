"""plan.diff(), why() and render() as pure functions: a Resolution and installed dists in, a Plan out."""

from __future__ import annotations

import pytest

from incrinstall.environment.installed import InstalledDist
from incrinstall.resolve.plan import ACTIONS, ALWAYS_KEEP, Plan, diff, render, why
from incrinstall.resolve.model import ROOT, Pin, Resolution


def dist(name: str, version: str) -> InstalledDist:
    return InstalledDist(name=name, display_name=name, version=version, requires_dist=(), requires_python=None,
                         installer="uv", editable_path=None, direct_url=None,
                         dist_info=f"/site/{name}-{version}.dist-info")


def installed(**versions: str) -> dict[str, InstalledDist]:
    return {name.replace("_", "-"): dist(name.replace("_", "-"), v) for name, v in versions.items()}


def resolution(pins: dict[str, str], edges: dict[str, list[str]] | None = None,
               roots: dict[str, list[str]] | None = None, local: dict[str, str | None] | None = None) -> Resolution:
    """pins: name -> version; edges: parent -> children; roots: name -> ["file:line", ...]."""
    edges = edges or {}
    roots = roots if roots is not None else {n: [f"pyproject.toml:{i}"] for i, n in enumerate(pins, 5)
                                             if not any(n in kids for kids in edges.values())}
    required_by: dict[str, list[str]] = {}
    for parent, kids in edges.items():
        for kid in kids:
            required_by.setdefault(kid, []).append(parent)
    for name in roots:
        required_by.setdefault(name, []).append(ROOT)
    return Resolution(
        pins={n: Pin(n, v, "index", tuple(edges.get(n, ()))) for n, v in pins.items()},
        local=dict(local or {}),
        required_by={k: sorted(v) for k, v in required_by.items()},
        root_sources=roots,
    )


def summary(plan: Plan) -> dict[str, tuple[str, str | None, str | None]]:
    return {a.name: (a.action, a.from_version, a.to_version) for a in plan.actions}


def test_each_package_gets_exactly_one_action_by_comparing_versions():
    res = resolution({"new": "1.0", "up": "2.0", "down": "1.0", "same": "1.0", "pep440": "1.0.0"})
    plan = diff(res, installed(up="1.9", down="1.10", same="1.0", pep440="1.0", gone="3.0"), managed={"gone"})
    assert summary(plan) == {
        "new": ("install", None, "1.0"),
        "up": ("upgrade", "1.9", "2.0"),
        "down": ("downgrade", "1.10", "1.0"),  # PEP 440 order, not string order
        "same": ("keep", "1.0", "1.0"),
        "pep440": ("keep", "1.0", "1.0.0"),  # 1.0 == 1.0.0: nothing to reinstall
        "gone": ("remove", "3.0", None),
    }
    assert [a.action for a in plan.actions] == sorted((a.action for a in plan.actions), key=ACTIONS.index)
    assert len({a.name for a in plan.actions}) == len(plan.actions)


def test_prerelease_and_post_release_ordering():
    plan = diff(resolution({"a": "2.0", "b": "2.0.post1", "c": "2.0rc1"}),
                installed(a="2.0rc1", b="2.0", c="2.0"), managed=None)
    assert summary(plan) == {"a": ("upgrade", "2.0rc1", "2.0"), "b": ("upgrade", "2.0", "2.0.post1"),
                             "c": ("downgrade", "2.0", "2.0rc1")}


def test_before_any_state_nothing_is_removed():
    plan = diff(resolution({"a": "1.0"}), installed(a="1.0", stray="1.0"), managed=None)
    assert summary(plan)["stray"] == ("keep", "1.0", "1.0")
    assert plan.is_empty
    assert next(a for a in plan.actions if a.name == "stray").reason == "not installed by incrinstall"


def test_only_managed_packages_are_removed_and_with_the_orphan_reason():
    plan = diff(resolution({"a": "1.0"}), installed(a="1.0", orphan="1.0", foreign="1.0"), managed={"a", "orphan"})
    assert summary(plan) == {"a": ("keep", "1.0", "1.0"), "orphan": ("remove", "1.0", None),
                             "foreign": ("keep", "1.0", "1.0")}
    assert plan.of("remove")[0].reason == "no longer required by anything"
    assert not plan.is_empty and [a.name for a in plan.changes] == ["orphan"]


def test_exact_removes_unmanaged_packages_but_never_the_tools_the_tree_or_protected_ones():
    env = installed(a="1.0", foreign="1.0", pip="24.0", setuptools="70.0", uv="0.5", incrinstall="0.1",
                    proj="0.3", packaging="24.0")
    plan = diff(resolution({"a": "1.0"}, local={"proj": "0.3"}), env, managed=None, exact=True,
                protected={"packaging"})
    assert {a.name for a in plan.of("remove")} == {"foreign"}
    assert plan.of("remove")[0].reason == "not required by the specs (--exact)"
    for name in ("pip", "setuptools", "uv", "incrinstall", "proj", "packaging"):
        assert summary(plan)[name] == ("keep", env[name].version, env[name].version)
    assert {"pip", "setuptools", "wheel", "uv", "incrinstall"} <= ALWAYS_KEEP


def test_managed_tool_is_still_kept():
    plan = diff(resolution({}), installed(pip="24.0"), managed={"pip"})
    assert summary(plan) == {"pip": ("keep", "24.0", "24.0")}


def test_changed_packages_carry_the_file_to_install_and_kept_ones_do_not():
    res = resolution({"a": "2.0", "b": "1.0"})
    res.pins["a"] = Pin("a", "2.0", "index", (), file="a-2.0.whl")
    plan = diff(res, installed(a="1.0", b="1.0"), managed=None)
    assert plan.of("upgrade")[0].file == "a-2.0.whl"
    assert plan.of("keep")[0].file is None


def test_reason_of_a_root_names_every_source():
    res = resolution({"a": "1.0"}, roots={"a": ["pyproject.toml:5", "requirements.txt:2"]})
    assert why("a", res) == "required by pyproject.toml:5, requirements.txt:2"


def test_reason_of_a_transitive_package_is_the_shortest_chain_to_a_root():
    res = resolution({"a": "1.0", "b": "2.0", "c": "3.0", "long1": "1", "long2": "1"},
                     edges={"a": ["b", "long1"], "long1": ["long2"], "long2": ["c"], "b": ["c"]},
                     roots={"a": ["pyproject.toml:3"]})
    assert why("b", res) == "required by a 1.0 <- pyproject.toml:3"
    assert why("c", res) == "required by b 2.0 <- a 1.0 <- pyproject.toml:3"
    plan = diff(res, {}, managed=None)
    assert {a.name: a.reason for a in plan.actions}["c"] == "required by b 2.0 <- a 1.0 <- pyproject.toml:3"


def test_reason_survives_a_dependency_cycle():
    res = resolution({"a": "1", "b": "1", "c": "1"}, edges={"a": ["b"], "b": ["c"], "c": ["b"]},
                     roots={"a": ["pyproject.toml:3"]})
    assert why("c", res) == "required by b 1 <- a 1 <- pyproject.toml:3"


def test_reason_through_a_tree_package_uses_the_tree_version():
    res = resolution({"lib": "1.0"}, edges={"proj-sub": ["lib"]}, roots={"proj-sub": ["pyproject.toml:7"]},
                     local={"proj-sub": None})
    assert why("lib", res) == "required by proj-sub (tree) <- pyproject.toml:7"


def test_json_has_the_documented_shape():
    plan = diff(resolution({"a": "2.0", "n": "1.0"}), installed(a="1.0", old="1.0"), managed={"old"})
    data = plan.to_json(python="/venv/bin/python", fingerprint="ab" * 32, index_requests=3)
    assert data["python"] == "/venv/bin/python" and data["index_requests"] == 3
    assert data["actions"] == [
        {"action": "install", "name": "n", "from": None, "to": "1.0", "reason": "required by pyproject.toml:6"},
        {"action": "upgrade", "name": "a", "from": "1.0", "to": "2.0", "reason": "required by pyproject.toml:5"},
        {"action": "remove", "name": "old", "from": "1.0", "to": None, "reason": "no longer required by anything"},
    ]


@pytest.mark.parametrize("show_keep", [False, True])
def test_render_lists_changes_and_counts_what_stays(show_keep):
    plan = diff(resolution({"a": "2.0", "n": "1.0", "k": "1.0"}), installed(a="1.0", k="1.0", old="1.0"),
                managed={"old"})
    lines = render(plan, show_keep=show_keep).splitlines()
    assert lines[-1] == "1 to install, 1 to upgrade, 1 to remove; 1 unchanged"
    body = lines[:-1]
    assert any(line.startswith("+ install") and " n " in line for line in body)
    assert any(line.startswith("~ upgrade") and "1.0 -> 2.0" in line for line in body)
    assert any(line.startswith("- remove") and " old " in line for line in body)
    assert any(line.startswith("= keep") for line in body) is show_keep


def test_render_of_an_empty_plan_says_nothing_to_change():
    plan = diff(resolution({"a": "1.0"}), installed(a="1.0"), managed=set())
    assert plan.is_empty
    assert render(plan) == "nothing to change; 1 unchanged"
