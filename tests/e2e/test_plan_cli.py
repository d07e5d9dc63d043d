"""`incrinstall plan` end to end: a real loopback index, real venvs filled by real uv, the real CLI.

Each test builds its own small world of wheels, installs the "already installed" state with uv,
writes a project, and reads the plan's JSON (or its error). Index traffic is checked twice: the
`index_requests` the plan reports, and the loopback index's own request log.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from incrinstall.install import state
from tests.support.venvs import find_python, installed, uv_pip_install

ACTIONS = {"install", "upgrade", "downgrade", "remove", "keep"}

pytestmark = pytest.mark.slow  # real venvs made and filled by uv


# -- helpers ------------------------------------------------------------------------------


def write_project(folder: Path, deps: list[str], *, name: str = "proj", version: str | None = "0.1",
                  extras: dict[str, list[str]] | None = None) -> Path:
    """A static pyproject.toml, one requirement per line (so each has its own file:line)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["[project]", f'name = "{name}"']
    if version is None:
        lines.append('dynamic = ["version"]')
    else:
        lines.append(f'version = "{version}"')
    lines.append("dependencies = [")
    lines += [f'  "{d}",' for d in deps]
    lines.append("]")
    if extras:
        lines.append("[project.optional-dependencies]")
        for extra, reqs in extras.items():
            lines.append(f"{extra} = [" + ", ".join(f'"{r}"' for r in reqs) + "]")
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return folder


def where(project: Path, requirement: str) -> str:
    """"pyproject.toml:N" of the line that declares `requirement`."""
    for number, line in enumerate((project / "pyproject.toml").read_text().splitlines(), 1):
        if line.strip() == f'"{requirement}",':
            return f"pyproject.toml:{number}"
    raise AssertionError(f"{requirement} is not declared in {project}")


def plan(run_cli, project: Path, python: Path, index, *args: str, expect_rc: int = 0) -> dict:
    """Run `incrinstall plan --json` and return the parsed JSON; check the exit code and the invariants."""
    proc = run_cli("plan", project, "--python", python, "--index-url", index.url, "--json", *args)
    assert proc.returncode == expect_rc, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    data = json.loads(proc.stdout)
    check_invariants(data)
    return data


def plan_error(run_cli, project: Path, python: Path, index, *args: str) -> str:
    """Run `incrinstall plan` expecting exit code 1 (unsatisfiable); return stderr."""
    proc = run_cli("plan", project, "--python", python, "--index-url", index.url, *args)
    assert proc.returncode == 1, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def check_invariants(data: dict) -> None:
    """Every package once, in exactly one action, with a reason, and from/to that fit the action."""
    assert set(data) == {"python", "fingerprint", "actions", "index_requests"}
    assert re.fullmatch(r"[0-9a-f]{64}", data["fingerprint"])
    names = [a["name"] for a in data["actions"]]
    assert len(names) == len(set(names)), f"a package appears twice: {names}"
    for a in data["actions"]:
        assert a["action"] in ACTIONS, a
        assert a["reason"].strip(), a
        old, new = a["from"], a["to"]
        if a["action"] == "install":
            assert old is None and new is not None, a
        elif a["action"] == "remove":
            assert old is not None and new is None, a
        elif a["action"] == "keep":
            assert old == new and old is not None, a
        elif a["action"] == "upgrade":
            assert Version(old) < Version(new), a
        else:
            assert Version(old) > Version(new), a


def by_name(data: dict) -> dict[str, dict]:
    return {a["name"]: a for a in data["actions"]}


def changes(data: dict) -> dict[str, tuple[str, str | None, str | None]]:
    """name -> (action, from, to) for everything that is not kept."""
    return {a["name"]: (a["action"], a["from"], a["to"]) for a in data["actions"] if a["action"] != "keep"}


def kept(data: dict) -> dict[str, str]:
    return {a["name"]: a["from"] for a in data["actions"] if a["action"] == "keep"}


def paths(index) -> set[str]:
    return {path for _method, path in index.requests}


def md(name: str, version: str, tag: str = "py3-none-any") -> str:
    """The PEP 658 metadata path of a wheel on the loopback index."""
    return f"/files/{name}-{version}-{tag}.whl.metadata"


@pytest.fixture
def world(index):
    """A small index: a -> b; c -> d; newer versions of a and b; `new` only needed by a 2.0."""
    index.add_wheel("a", "1.0", requires_dist=["b>=1"])
    index.add_wheel("a", "2.0", requires_dist=["b>=1", "new"])
    index.add_wheel("b", "1.0")
    index.add_wheel("b", "2.0")
    index.add_wheel("c", "1.0", requires_dist=["d"])
    index.add_wheel("d", "1.0")
    index.add_wheel("new", "1.0")
    return index


# -- fresh, no-op, bump, add, remove ----------------------------------------------------------


def test_fresh_resolve_plans_every_package_for_install_with_its_reason(world, venv_factory, run_cli, tmp_path):
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["a", "c"])
    data = plan(run_cli, proj, py, world, "--check", expect_rc=1)  # --check: the plan is not empty

    assert changes(data) == {
        "a": ("install", None, "2.0"), "b": ("install", None, "2.0"), "new": ("install", None, "1.0"),
        "c": ("install", None, "1.0"), "d": ("install", None, "1.0"),
    }
    actions = by_name(data)
    assert actions["a"]["reason"] == f"required by {where(proj, 'a')}"
    assert actions["b"]["reason"] == f"required by a 2.0 <- {where(proj, 'a')}"
    assert actions["d"]["reason"] == f"required by c 1.0 <- {where(proj, 'c')}"
    assert data["python"] == str(py)
    # The plan's own count is what the index saw; a plan changes nothing.
    assert data["index_requests"] == world.count() > 0
    assert installed(py) == {}


def test_noop_plan_makes_zero_index_requests(world, venv_factory, run_cli, tmp_path):
    py = venv_factory()
    uv_pip_install(py, "a==2.0", "c", index_url=world.url)
    proj = write_project(tmp_path / "proj", ["a", "c"])
    world.reset_log()

    data = plan(run_cli, proj, py, world, "--check", expect_rc=0)

    assert changes(data) == {}
    assert kept(data) == {"a": "2.0", "b": "2.0", "new": "1.0", "c": "1.0", "d": "1.0"}
    assert data["index_requests"] == 0
    assert world.requests == []
    text = run_cli("plan", proj, "--python", py, "--index-url", world.url)
    assert text.returncode == 0 and "nothing to change" in text.stdout
    assert "index requests: 0" in text.stdout


def test_bumped_requirement_fetches_only_that_package_and_what_it_newly_needs(world, venv_factory, run_cli,
                                                                              tmp_path):
    py = venv_factory()
    uv_pip_install(py, "a==1.0", "b==1.0", "c", index_url=world.url)
    proj = write_project(tmp_path / "proj", ["a>=2", "c"])
    world.reset_log()

    data = plan(run_cli, proj, py, world)

    assert changes(data) == {"a": ("upgrade", "1.0", "2.0"), "new": ("install", None, "1.0")}
    # b 2.0 exists, but the installed b 1.0 still satisfies a 2.0: it is neither upgraded nor looked up.
    assert kept(data) == {"b": "1.0", "c": "1.0", "d": "1.0"}
    assert by_name(data)["new"]["reason"] == f"required by a 2.0 <- {where(proj, 'a>=2')}"
    assert paths(world) == {"/simple/a/", md("a", "2.0"), "/simple/new/", md("new", "1.0")}
    assert data["index_requests"] == world.count() == 4


def test_added_requirement_brings_its_transitive_dependencies(world, venv_factory, run_cli, tmp_path):
    world.add_wheel("x", "1.0", requires_dist=["y", "b>=1"])
    world.add_wheel("y", "1.0", requires_dist=["z>=1", "d"])
    world.add_wheel("z", "1.0")
    py = venv_factory()
    uv_pip_install(py, "a==1.0", "c", index_url=world.url)
    proj = write_project(tmp_path / "proj", ["a", "c", "x"])
    world.reset_log()

    data = plan(run_cli, proj, py, world)

    assert changes(data) == {"x": ("install", None, "1.0"), "y": ("install", None, "1.0"),
                             "z": ("install", None, "1.0")}
    assert kept(data) == {"a": "1.0", "b": "2.0", "c": "1.0", "d": "1.0"}
    actions = by_name(data)
    assert actions["x"]["reason"] == f"required by {where(proj, 'x')}"
    assert actions["z"]["reason"] == f"required by y 1.0 <- x 1.0 <- {where(proj, 'x')}"
    # Shared dependencies that are installed (b, d) cost nothing.
    assert paths(world) == {"/simple/x/", md("x", "1.0"), "/simple/y/", md("y", "1.0"),
                            "/simple/z/", md("z", "1.0")}
    assert data["index_requests"] == world.count() == 6


def test_removed_requirement_orphans_are_planned_for_removal_once_sync_recorded_them(world, venv_factory, run_cli,
                                                                                   tmp_path):
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["a==1.0", "c"])
    synced = run_cli("sync", proj, "--python", py, "--index-url", world.url)
    assert synced.returncode == 0, synced.stderr
    assert installed(py) == {"a": "1.0", "b": "2.0", "c": "1.0", "d": "1.0"}

    write_project(proj, ["c"])
    world.reset_log()
    data = plan(run_cli, proj, py, world, "--check", expect_rc=1)

    assert changes(data) == {"a": ("remove", "1.0", None), "b": ("remove", "2.0", None)}
    assert {by_name(data)[n]["reason"] for n in ("a", "b")} == {"no longer required by anything"}
    assert kept(data) == {"c": "1.0", "d": "1.0"}
    assert data["index_requests"] == 0 and world.requests == []
    assert installed(py) == {"a": "1.0", "b": "2.0", "c": "1.0", "d": "1.0"}  # plan changed nothing


def test_nothing_is_removed_before_any_state_exists_unless_exact(world, venv_factory, run_cli, tmp_path):
    py = venv_factory()
    uv_pip_install(py, "a==1.0", "c", index_url=world.url)  # installed by other means: no state file
    proj = write_project(tmp_path / "proj", ["c"])

    data = plan(run_cli, proj, py, world, "--check", expect_rc=0)
    assert changes(data) == {}
    assert by_name(data)["a"]["reason"] == by_name(data)["b"]["reason"] == "not installed by incrinstall"

    exact = plan(run_cli, proj, py, world, "--exact", "--check", expect_rc=1)
    assert changes(exact) == {"a": ("remove", "1.0", None), "b": ("remove", "2.0", None)}
    assert kept(exact) == {"c": "1.0", "d": "1.0"}


# -- extras, markers, yanked, pre-releases ---------------------------------------------------------


def test_extra_adds_its_dependencies_at_the_installed_base_version(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("e", "1.0", extras={"x": ["f"]})
    index.add_wheel("e", "2.0", extras={"x": ["f>=2", "g"]})
    index.add_wheel("f", "1.0")
    index.add_wheel("f", "2.0", extras={"y": ["h"]})
    index.add_wheel("g", "1.0")
    index.add_wheel("h", "1.0")
    py = venv_factory()
    uv_pip_install(py, "e==1.0", index_url=index.url)
    proj = write_project(tmp_path / "proj", ["e[x]"])

    data = plan(run_cli, proj, py, index)
    # e stays 1.0, so its extra asks for 1.0's dependencies (f), not 2.0's (g); f's extra is not asked for.
    assert changes(data) == {"f": ("install", None, "2.0")}
    assert kept(data) == {"e": "1.0"}
    assert by_name(data)["f"]["reason"] == f"required by e 1.0 <- {where(proj, 'e[x]')}"

    # An extra that asks for another package's extra pulls that package and the extra's dependency.
    write_project(proj, ["e[x]>=2", "f[y]"])
    data = plan(run_cli, proj, py, index)
    assert changes(data) == {"e": ("upgrade", "1.0", "2.0"), "f": ("install", None, "2.0"),
                             "g": ("install", None, "1.0"), "h": ("install", None, "1.0")}
    assert by_name(data)["h"]["reason"] == f"required by f 2.0 <- {where(proj, 'f[y]')}"


def _other_python() -> tuple[str, str] | None:
    """(path, "3.X") of a pyenv 3.12 or 3.13 that is not the running interpreter's version."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for version in ("3.12", "3.13"):
        if version == running:
            continue
        found = find_python(version)
        if found:
            return found, version
    return None


def test_markers_tags_and_requires_python_are_evaluated_for_the_target_python(index, venv_factory, run_cli,
                                                                              tmp_path):
    other = _other_python()
    if other is None:
        pytest.skip("no Python 3.12 or 3.13 (other than the running one) found in pyenv or on PATH")
    other_path, version = other
    tag = "cp" + version.replace(".", "")
    index.add_wheel("m", "1.0", requires_dist=[f'only-target; python_version == "{version}"',
                                               f'only-running; python_version != "{version}"'])
    index.add_wheel("only-target", "1.0")
    index.add_wheel("only-running", "1.0")
    index.add_wheel("t", "1.0")
    index.add_wheel("t", "2.0", tag=f"{tag}-none-any")  # installable only into the target
    proj = write_project(tmp_path / "proj", ["m", "t"])

    target = venv_factory("target", other_path)
    data = plan(run_cli, proj, target, index)
    assert changes(data) == {"m": ("install", None, "1.0"), "only-target": ("install", None, "1.0"),
                             "t": ("install", None, "2.0")}
    assert by_name(data)["only-target"]["reason"] == f"required by m 1.0 <- {where(proj, 'm')}"
    assert "/simple/only-running/" not in paths(index)

    index.reset_log()
    running = venv_factory("running")  # the interpreter that runs incrinstall
    data = plan(run_cli, proj, running, index)
    assert changes(data) == {"m": ("install", None, "1.0"), "only-running": ("install", None, "1.0"),
                             "t": ("install", None, "1.0")}
    assert md("t", "2.0", f"{tag}-none-any") not in paths(index)


def test_requires_python_of_the_target_decides_the_version(index, venv_factory, run_cli, tmp_path):
    other = _other_python()
    if other is None or Version(other[1]) < Version(f"{sys.version_info[0]}.{sys.version_info[1]}"):
        pytest.skip("needs a Python 3.12 or 3.13 newer than the running one")
    other_path, version = other
    index.add_wheel("r", "1.0")
    index.add_wheel("r", "2.0", requires_python=f">={version}")
    proj = write_project(tmp_path / "proj", ["r"])
    assert changes(plan(run_cli, proj, venv_factory("target", other_path), index)) == {"r": ("install", None, "2.0")}
    assert changes(plan(run_cli, proj, venv_factory("running"), index)) == {"r": ("install", None, "1.0")}


def test_yanked_version_is_chosen_only_when_the_user_pins_it(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("y", "1.0")
    index.add_wheel("y", "2.0")
    index.yank("y-2.0-py3-none-any.whl", "broken")
    index.add_wheel("needs-y", "1.0", requires_dist=["y==2.0"])
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["y"])
    assert changes(plan(run_cli, proj, py, index)) == {"y": ("install", None, "1.0")}

    write_project(proj, ["y==2.0"])
    assert changes(plan(run_cli, proj, py, index)) == {"y": ("install", None, "2.0")}

    write_project(proj, ["y>=2"])
    assert "y" in plan_error(run_cli, proj, py, index)

    # A package's own pin does not opt in to a yanked file: only the user's does.
    write_project(proj, ["needs-y"])
    message = plan_error(run_cli, proj, py, index)
    assert "==2.0" in message and "needs-y 1.0" in message


def test_prerelease_is_chosen_only_when_asked_or_when_nothing_else_exists(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("p", "1.0")
    index.add_wheel("p", "2.0b1")
    index.add_wheel("q", "1.0a1")  # nothing but a pre-release
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["p", "q"])
    assert changes(plan(run_cli, proj, py, index)) == {"p": ("install", None, "1.0"), "q": ("install", None, "1.0a1")}
    assert changes(plan(run_cli, proj, py, index, "--prerelease", "allow")) == {
        "p": ("install", None, "2.0b1"), "q": ("install", None, "1.0a1")}
    assert "q" in plan_error(run_cli, proj, py, index, "--prerelease", "disallow")

    write_project(proj, ["p>=2.0b1"])  # a specifier that names a pre-release opts in
    assert changes(plan(run_cli, proj, py, index)) == {"p": ("install", None, "2.0b1")}

    write_project(proj, ["p>1"])  # ... one that does not, does not (2.0b1 would fit)
    assert "p" in plan_error(run_cli, proj, py, index)


# -- errors and --check -------------------------------------------------------------------------------


def test_unsatisfiable_specs_exit_1_naming_each_requirement_and_where_it_came_from(index, venv_factory, run_cli,
                                                                                  tmp_path):
    index.add_wheel("a", "1.0", requires_dist=["b<2"])
    index.add_wheel("b", "1.0")
    index.add_wheel("b", "2.0")
    py = venv_factory()
    uv_pip_install(py, "b==1.0", index_url=index.url)
    proj = write_project(tmp_path / "proj", ["a", "b>=2"])

    proc = run_cli("plan", proj, "--python", py, "--index-url", index.url, "--json")
    assert proc.returncode == 1, proc.stderr
    reported = json.loads(proc.stdout)["error"]  # --json: stdout is one JSON object, failure or not
    assert reported["kind"] == "ResolutionError" and reported["exit_code"] == 1
    message = proc.stderr
    assert "cannot be satisfied" in message
    assert reported["message"].splitlines()[0] in message
    lines = message.splitlines()
    b_line = next(i for i, line in enumerate(lines) if line.strip().startswith("b:"))
    block = "\n".join(lines[b_line:])
    assert re.search(rf">=2\s+required by {re.escape(where(proj, 'b>=2'))}", block), message
    assert re.search(r"<2\s+required by a 1\.0", block), message
    assert installed(py) == {"b": "1.0"}  # nothing changed


def test_check_exits_0_for_an_empty_plan_and_1_otherwise(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("b", "1.0")
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["b"])
    args = ("plan", proj, "--python", py, "--index-url", index.url, "--check")
    assert run_cli(*args).returncode == 1
    uv_pip_install(py, "b", index_url=index.url)
    assert run_cli(*args).returncode == 0
    assert run_cli(*args, "--exact").returncode == 0  # nothing extra installed: still empty
    index.add_wheel("stray", "1.0")
    uv_pip_install(py, "stray", index_url=index.url)
    assert run_cli(*args).returncode == 0  # not ours, so not removed
    assert run_cli(*args, "--exact").returncode == 1


# -- the project tree, constraints, baseline pins, installed preference -------------------------------------


def test_index_package_requiring_the_project_is_satisfied_by_the_tree(index, venv_factory, run_cli, tmp_path):
    index.add_wheel("provider", "1.0", requires_dist=["proj>=0.1"])
    index.add_wheel("proj", "9.0")  # the published project: must be neither chosen nor fetched
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["provider"], version="0.3")

    data = plan(run_cli, proj, py, index)
    assert changes(data) == {"provider": ("install", None, "1.0")}
    assert not [p for p in paths(index) if "proj" in p.replace("provider", "")]

    index.add_wheel("provider", "2.0", requires_dist=["proj>=5"])  # needs a newer project than the tree
    data = plan(run_cli, proj, py, index)
    assert changes(data) == {"provider": ("install", None, "1.0")}
    write_project(proj, ["provider>=2"], version="0.3")
    message = plan_error(run_cli, proj, py, index)
    assert ">=5" in message and "provider 2.0" in message and "0.3 (from the project tree)" in message


def test_provider_asking_for_an_extra_of_the_project_brings_in_the_extras_own_dependencies(
        index, venv_factory, run_cli, tmp_path):
    index.add_wheel("provider", "1.0", requires_dist=["proj[x]>=0.1"])
    index.add_wheel("proj", "9.0")
    index.add_wheel("f", "1.0")
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["provider"], extras={"x": ["f"]})

    data = plan(run_cli, proj, py, index)
    assert changes(data) == {"provider": ("install", None, "1.0"), "f": ("install", None, "1.0")}
    assert "/simple/proj/" not in paths(index)


def test_a_dynamic_version_without_a_build_backend_is_an_error_naming_pyproject(index, venv_factory, run_cli,
                                                                                tmp_path):
    index.add_wheel("provider", "1.0", requires_dist=["proj>=0.1"])
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["provider"], version=None)

    proc = run_cli("plan", proj, "--python", py, "--index-url", index.url)
    assert proc.returncode == 2, proc.stderr
    assert "pyproject.toml" in proc.stderr and "[build-system]" in proc.stderr and "Traceback" not in proc.stderr


def test_constraints_restrict_versions_without_adding_packages(world, venv_factory, run_cli, tmp_path):
    world.add_wheel("unrelated", "1.0")
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["a==1.0"])
    (proj / "constraints.txt").write_text("b<2\nunrelated==1.0\n")

    data = plan(run_cli, proj, py, world, "-c", "constraints.txt")
    assert changes(data) == {"a": ("install", None, "1.0"), "b": ("install", None, "1.0")}
    assert "/simple/unrelated/" not in paths(world)

    # An installed version the constraint excludes is replaced.
    uv_pip_install(py, "a==1.0", "b==2.0", index_url=world.url)
    data = plan(run_cli, proj, py, world, "-c", "constraints.txt")
    assert changes(data) == {"b": ("downgrade", "2.0", "1.0")}


def _record_pins(python: Path, pins: dict[str, str]) -> None:
    prefix = str(python.parent.parent)
    state.save(prefix, state.State(packages={n: state.LockedPackage(n, v) for n, v in pins.items()},
                                   managed=set(pins)))


def test_baseline_pin_is_preferred_over_the_newest_version_when_not_installed(world, venv_factory, run_cli,
                                                                             tmp_path):
    py = venv_factory()
    proj = write_project(tmp_path / "proj", ["b"])
    assert changes(plan(run_cli, proj, py, world)) == {"b": ("install", None, "2.0")}

    _record_pins(py, {"b": "1.0"})
    assert changes(plan(run_cli, proj, py, world)) == {"b": ("install", None, "1.0")}

    write_project(proj, ["b>=2"])  # a pin the specs exclude is ignored
    assert changes(plan(run_cli, proj, py, world)) == {"b": ("install", None, "2.0")}


def test_installed_version_is_kept_when_it_satisfies_even_over_newer_and_baseline(world, venv_factory, run_cli,
                                                                                 tmp_path):
    py = venv_factory()
    uv_pip_install(py, "b==1.0", index_url=world.url)
    _record_pins(py, {"b": "2.0"})
    proj = write_project(tmp_path / "proj", ["b"])
    world.reset_log()

    data = plan(run_cli, proj, py, world)
    assert changes(data) == {}
    assert kept(data) == {"b": "1.0"}
    assert world.requests == []

    write_project(proj, ["b>1"])  # no longer satisfied: the index is asked, for b only
    data = plan(run_cli, proj, py, world)
    assert changes(data) == {"b": ("upgrade", "1.0", "2.0")}
    assert paths(world) == {"/simple/b/", md("b", "2.0")}
