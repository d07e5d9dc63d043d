"""The target environment: finding and asking interpreters (real ones), reading dist-info, the signature."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.tags import sys_tags

from incrinstall.environment import interpreter as interpreter_mod
from incrinstall.cli import render_error
from incrinstall.install.stamp import env_signature
from incrinstall.common.errors import InterpreterError
from incrinstall.environment.installed import InstalledDist, read_installed
from incrinstall.environment.interpreter import find_interpreter
from tests.support.venvs import find_python, make_venv, run_uv, site_packages, uv_pip_install
from tests.support.wheels import build_wheel

PROBE = str(Path(interpreter_mod.__file__).with_name("_probe.py"))


def _other_python() -> str:
    """A real Python 3.12 or 3.13 (pyenv first) that is not the one running the tests."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for version in ("3.12", "3.13"):
        found = find_python(version) if version != running else None
        if found:
            return found
    pytest.skip("no Python 3.12/3.13 other than the running one on this machine (pyenv)")


def _old_python() -> str:
    """A Python too old for our `packaging` (< 3.10): its tags come from the fallback."""
    for version in ("3.9", "3.8", "3.7"):
        found = find_python(version)
        if found:
            return found
    pytest.skip("no Python 3.7-3.9 on this machine (pyenv)")


def _probe_raw(python: str, *args: str) -> dict:
    out = subprocess.run([python, "-I", "-S", PROBE, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _forbid_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)


def _write_dist_info(site: Path, folder: str, metadata: str | bytes, *, installer: str | None = None,
                     direct_url: dict | None = None) -> Path:
    path = site / folder
    path.mkdir(parents=True)
    data = metadata.encode() if isinstance(metadata, str) else metadata
    (path / "METADATA").write_bytes(data)
    (path / "RECORD").write_text("")
    if installer is not None:
        (path / "INSTALLER").write_text(installer + "\n")
    if direct_url is not None:
        (path / "direct_url.json").write_text(json.dumps(direct_url))
    return path


def _next_second() -> None:
    """Sleep into the next wall-clock second: the signature deliberately ignores sub-second mtimes."""
    time.sleep(1.05 - (time.time() % 1.0))


# --- interpreters -------------------------------------------------------------------------------


def test_other_interpreter_reports_its_own_version_markers_and_tags():
    python = _other_python()
    interp = find_interpreter(python, environ={"PATH": ""})
    truth = _probe_raw(python)  # the target itself, no packaging: version and paths straight from it
    short = ".".join(str(p) for p in truth["version_info"][:2])
    nodot = short.replace(".", "")

    assert interp.version == ".".join(str(p) for p in truth["version_info"])
    assert interp.markers["python_version"] == short != f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert interp.markers["python_full_version"] == interp.version
    assert set(interp.markers) == set(default_environment())
    assert interp.tags[0].startswith(f"cp{nodot}-cp{nodot}-")
    assert f"cp{nodot}-abi3-manylinux_2_17_x86_64" in interp.tags or sys.platform != "linux"
    assert "py3-none-any" in interp.tags
    running = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert not any(t.startswith(f"{running}-{running}-") for t in interp.tags)
    assert interp.executable == python and interp.found_by == "--python"
    assert not interp.is_venv and interp.prefix == interp.base_prefix == truth["prefix"]
    assert interp.purelib == truth["purelib"] and interp.site_dirs == (truth["purelib"],)


def test_tags_match_what_packaging_computes_inside_the_target():
    python = _other_python()
    interp = find_interpreter(python, environ={})
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); from packaging.tags import sys_tags; "
              "print(json.dumps([str(t) for t in sys_tags()]))")
    packaging_dir = str(Path(interpreter_mod._packaging_dir()).parent)
    out = subprocess.run([python, "-I", "-c", script, packaging_dir], capture_output=True, text=True, check=True)
    assert list(interp.tags) == json.loads(out.stdout)


def test_running_interpreter_gets_the_same_markers_and_tags_as_packaging_reports_in_process():
    interp = find_interpreter(sys.executable, environ={})
    assert interp.markers == default_environment()
    assert list(interp.tags) == [str(t) for t in sys_tags()]


def test_fallback_tags_equal_packaging_tags_for_a_target_where_both_work():
    python = _other_python()
    info = _probe_raw(python, interpreter_mod._packaging_dir())
    assert info["tags"] and info["packaging_error"] is None
    assert interpreter_mod._fallback_tags(info) == info["tags"]


def test_hand_computed_markers_equal_packaging_default_environment_in_the_target():
    python = _other_python()
    with_packaging = _probe_raw(python, interpreter_mod._packaging_dir())["markers"]
    by_hand = _probe_raw(python)["markers"]
    assert by_hand == with_packaging


def test_python_too_old_for_our_packaging_still_gets_markers_and_tags():
    python = _old_python()
    info = _probe_raw(python, interpreter_mod._packaging_dir())
    assert info["tags"] is None and info["packaging_error"]  # the fallback is really taken
    interp = find_interpreter(python, environ={})
    major, minor = info["version_info"][:2]
    cp = f"cp{major}{minor}"
    abi = f"{cp}m" if (major, minor) < (3, 8) else cp
    assert interp.markers["python_version"] == f"{major}.{minor}"
    assert set(interp.markers) == set(default_environment())
    assert interp.tags[0].startswith(f"{cp}-{abi}-")
    assert f"{cp}-abi3-manylinux_2_17_x86_64" in interp.tags or sys.platform != "linux"
    assert f"{cp}-none-any" in interp.tags and "py3-none-any" in interp.tags
    assert len(interp.tags) == len(set(interp.tags)) > 100


def test_venv_python_stays_the_venvs_and_reports_venv_paths(tmp_path: Path):
    python = _other_python()
    exe = make_venv(tmp_path / "venv", python)
    interp = find_interpreter(str(exe), environ={})
    assert interp.executable == str(exe)  # not resolved to the base interpreter it links to
    assert interp.is_venv
    assert interp.prefix == str(tmp_path / "venv")
    assert interp.base_prefix == str(Path(python).parent.parent)
    assert interp.site_dirs == tuple(site_packages(exe))
    assert interp.scripts == str(tmp_path / "venv" / "bin")


def test_venv_folder_is_accepted_as_python(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    interp = find_interpreter(str(tmp_path / "venv"), environ={})
    assert interp.executable == str(exe) and interp.is_venv


def test_bare_venv_folder_name_in_the_working_directory_is_accepted(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    exe = make_venv(tmp_path / ".venv")
    monkeypatch.chdir(tmp_path)
    interp = find_interpreter(".venv", environ={"PATH": ""})
    assert interp.executable == str(exe)


def test_default_is_the_active_virtual_environment(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    other_bin = tmp_path / "decoy-bin"
    other_bin.mkdir()
    interp = find_interpreter(None, environ={"VIRTUAL_ENV": str(tmp_path / "venv"), "PATH": str(other_bin)})
    assert interp.found_by == "VIRTUAL_ENV"
    assert interp.executable == str(exe) and interp.is_venv


def test_without_venv_the_python_on_path_is_used(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    interp = find_interpreter(None, environ={"PATH": str(exe.parent)})
    assert interp.found_by == "PATH"
    assert interp.executable == str(exe.parent / "python3")
    assert interp.prefix == str(tmp_path / "venv")


def test_python_name_is_looked_up_on_path(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    name = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert (exe.parent / name).exists()
    interp = find_interpreter(name, environ={"PATH": str(exe.parent)})
    assert interp.executable == str(exe.parent / name) and interp.found_by == "--python"



class _ProbeSpy:
    count = 0


@pytest.fixture
def probes(monkeypatch) -> _ProbeSpy:
    """Counts the interpreter probes (subprocesses of the target interpreter) a test causes."""
    spy = _ProbeSpy()
    real = interpreter_mod._run_probe

    def counting(exe):
        spy.count += 1
        return real(exe)

    monkeypatch.setattr(interpreter_mod, "_run_probe", counting)
    return spy


def test_wrapper_script_is_reported_as_the_interpreter_it_runs_and_never_cached(tmp_path: Path,
                                                                                  incrinstall_cache: Path, probes):
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    before = probes.count
    first = find_interpreter(str(wrapper), environ={})
    second = find_interpreter(str(wrapper), environ={})
    assert first.executable == second.executable == sys.executable
    assert probes.count == before + 2
    assert not list(incrinstall_cache.rglob("*.json"))


def test_second_lookup_starts_no_subprocess(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            incrinstall_cache: Path, probes):
    exe = make_venv(tmp_path / "venv")
    first = find_interpreter(str(exe), environ={})
    cached = list((incrinstall_cache / "interpreters").glob("*.json"))
    assert len(cached) == 1
    _forbid_subprocesses(monkeypatch)
    before = probes.count
    second = find_interpreter(str(exe), environ={})
    assert second == first
    assert probes.count == before


def test_cache_is_invalidated_when_the_executable_changes(tmp_path: Path, probes):
    base = _other_python()
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--copies", "--without-pip", str(venv)], check=True)
    exe = venv / "bin" / "python"
    find_interpreter(str(exe), environ={})
    before = probes.count
    find_interpreter(str(exe), environ={})
    assert probes.count == before  # cached
    st = exe.stat()
    os.utime(exe, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    find_interpreter(str(exe), environ={})
    assert probes.count == before + 1


def test_venv_recreated_with_another_python_at_the_same_path_is_noticed(tmp_path: Path):
    other = _other_python()
    venv = tmp_path / "venv"
    exe = make_venv(venv)
    first = find_interpreter(str(exe), environ={})
    run_uv(["venv", "--quiet", "--no-config", "--clear", "--python", other, str(venv)])
    second = find_interpreter(str(exe), environ={})
    assert first.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert second.markers["python_version"] != first.markers["python_version"]
    assert second.markers["python_version"] in other


def test_cache_file_from_an_older_probe_version_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probes):
    exe = make_venv(tmp_path / "venv")
    find_interpreter(str(exe), environ={})
    monkeypatch.setattr(interpreter_mod, "PROBE_VERSION", interpreter_mod.PROBE_VERSION + 1)
    before = probes.count
    find_interpreter(str(exe), environ={})
    assert probes.count == before + 1


def test_missing_python_path_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InterpreterError) as err:
        find_interpreter(str(tmp_path / "nope" / "python"), environ={})
    assert render_error(err.value) == f"{tmp_path / 'nope' / 'python'}: no such file (given with --python)"


def test_unknown_python_name_is_a_clear_error():
    with pytest.raises(InterpreterError, match="no such interpreter on PATH"):
        find_interpreter("python9.99", environ={"PATH": ""})


def test_non_executable_file_is_a_clear_error(tmp_path: Path):
    fake = tmp_path / "python"
    fake.write_text("")
    with pytest.raises(InterpreterError, match="not executable"):
        find_interpreter(str(fake), environ={})


def test_folder_that_is_not_a_venv_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InterpreterError, match="not a virtual environment"):
        find_interpreter(str(tmp_path), environ={})


def test_stale_virtual_env_variable_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InterpreterError) as err:
        find_interpreter(None, environ={"VIRTUAL_ENV": str(tmp_path / "gone"), "PATH": os.environ["PATH"]})
    assert err.value.where == "VIRTUAL_ENV" and "gone" in err.value.message


def test_executable_that_is_not_python_is_a_clear_error(tmp_path: Path):
    true = shutil.which("true")
    if not true:
        pytest.skip("no `true` binary")
    with pytest.raises(InterpreterError, match="not a usable Python 3 interpreter"):
        find_interpreter(true, environ={})


def test_nothing_on_path_and_no_venv_is_a_clear_error(tmp_path: Path):
    with pytest.raises(InterpreterError, match="pass --python"):
        find_interpreter(None, environ={"PATH": str(tmp_path)})


# --- installed distributions ----------------------------------------------------------------------


def test_metadata_headers_folded_multiple_requires_and_body_ignored(tmp_path: Path):
    site = tmp_path / "site"
    body = "Requires-Dist: not-a-header\nName: impostor\n" * 500
    _write_dist_info(site, "Foo.Bar_baz-1.2.dist-info", (
        "Metadata-Version: 2.1\n"
        "Name: Foo.Bar_baz\n"
        "Version: 1.2\n"
        "Summary: folded\n   summary line\n"
        "Requires-Dist: alpha>=1\n"
        "Requires-Dist: beta[x] (>=2,<3);\n"
        "        python_version < \"3.13\"\n"
        "requires-dist: gamma; extra == \"test\"\n"
        "Requires-Python: >=3.9\n"
        "Description-Content-Type: text/markdown\n"
        "\n" + body), installer="uv")
    dist = read_installed([str(site)])["foo-bar-baz"]
    assert dist == InstalledDist(
        name="foo-bar-baz", display_name="Foo.Bar_baz", version="1.2",
        requires_dist=("alpha>=1", 'beta[x] (>=2,<3); python_version < "3.13"', 'gamma; extra == "test"'),
        requires_python=">=3.9", installer="uv", editable_path=None, direct_url=None,
        dist_info=str(site / "Foo.Bar_baz-1.2.dist-info"))


def test_old_style_description_header_longer_than_the_first_read_is_skipped(tmp_path: Path):
    site = tmp_path / "site"
    description = "\n        |".join(f"line {i} Requires-Dist: fake{i}" for i in range(20_000))  # ~600 KB
    _write_dist_info(site, "old-1.0.dist-info", (
        "Metadata-Version: 1.2\nName: old\nVersion: 1.0\n"
        f"Description: {description}\n"
        "Requires-Dist: real-dep\nRequires-Python: >=3.6\n\nbody\n"))
    dist = read_installed([str(site)])["old"]
    assert dist.requires_dist == ("real-dep",)
    assert dist.requires_python == ">=3.6"


def test_crlf_metadata_and_metadata_without_body(tmp_path: Path):
    site = tmp_path / "site"
    _write_dist_info(site, "crlf-2.0.dist-info",
                     b"Metadata-Version: 2.1\r\nName: crlf\r\nVersion: 2.0\r\nRequires-Dist: a\r\n\r\n"
                     b"Requires-Dist: body\r\n")
    _write_dist_info(site, "nobody-3.0.dist-info", "Metadata-Version: 2.1\nName: nobody\nVersion: 3.0\n"
                     "Requires-Dist: b")
    dists = read_installed([str(site)])
    assert (dists["crlf"].version, dists["crlf"].requires_dist) == ("2.0", ("a",))
    assert (dists["nobody"].version, dists["nobody"].requires_dist) == ("3.0", ("b",))


def test_editable_direct_url_gives_the_source_path(tmp_path: Path):
    site = tmp_path / "site"
    src = tmp_path / "my project"
    url = {"url": src.as_uri(), "dir_info": {"editable": True}}
    _write_dist_info(site, "proj-0.1.dist-info", "Name: proj\nVersion: 0.1\n\n", direct_url=url)
    archive = {"url": "https://example.invalid/x-1.0.tar.gz", "archive_info": {}}
    _write_dist_info(site, "x-1.0.dist-info", "Name: x\nVersion: 1.0\n\n", direct_url=archive)
    noneditable = {"url": src.as_uri(), "dir_info": {}}
    _write_dist_info(site, "y-1.0.dist-info", "Name: y\nVersion: 1.0\n\n", direct_url=noneditable)
    dists = read_installed([str(site)])
    assert "%20" in url["url"]
    assert dists["proj"].editable_path == str(src)
    assert dists["proj"].direct_url == url
    assert dists["x"].editable_path is None and dists["x"].direct_url == archive
    assert dists["y"].editable_path is None
    assert dists["proj"].installer is None


def test_first_site_dir_wins_for_duplicates_and_broken_folders_are_skipped(tmp_path: Path):
    first, second = tmp_path / "first", tmp_path / "second"
    _write_dist_info(first, "dup-1.0.dist-info", "Name: dup\nVersion: 1.0\n\n")
    _write_dist_info(second, "Dup-2.0.dist-info", "Name: DUP\nVersion: 2.0\n\n")
    (second / "half-1.0.dist-info").mkdir()  # no METADATA: an interrupted install
    _write_dist_info(second, "noname-1.0.dist-info", "Version: 1.0\n\n")
    dists = read_installed([str(first), str(second), str(tmp_path / "missing")])
    assert set(dists) == {"dup"}
    assert dists["dup"].version == "1.0"


def test_egg_info_folder_and_file_are_read(tmp_path: Path):
    site = tmp_path / "site"
    egg = site / "Legacy_Pkg-0.5-py3.11.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: Legacy-Pkg\nVersion: 0.5\n\nbody\n")
    (egg / "requires.txt").write_text(
        "six>=1.0\n\n[:python_version < \"3.8\"]\nimportlib-metadata\n\n"
        "[test]\npytest\n\n[docs:sys_platform == \"linux\"]\nsphinx\n")
    (site / "single-1.0-py3.11.egg-info").write_text("Metadata-Version: 1.0\nName: single\nVersion: 1.0\n")
    dists = read_installed([str(site)])
    assert dists["legacy-pkg"].version == "0.5"
    assert dists["legacy-pkg"].requires_dist == (
        "six>=1.0", 'importlib-metadata; python_version < "3.8"', 'pytest; extra == "test"',
        'sphinx; (sys_platform == "linux") and extra == "docs"')
    assert dists["single"].version == "1.0" and dists["single"].requires_dist == ()


@pytest.mark.slow
def test_inspect_reads_what_uv_really_installed(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    wheel = build_wheel(tmp_path / "wheels", "Tiny-Pkg", "1.0", requires_dist=["other-pkg>=2"],
                        requires_python=">=3.8")
    other = build_wheel(tmp_path / "wheels", "other_pkg", "2.1")
    uv_pip_install(exe, "--offline", "--no-index", str(wheel), str(other))
    interpreter = find_interpreter(str(exe))
    assert interpreter.executable == str(exe)
    dists = read_installed(interpreter.site_dirs)
    tiny = dists["tiny-pkg"]
    assert (tiny.version, tiny.requires_dist, tiny.requires_python) == ("1.0", ("other-pkg>=2",), ">=3.8")
    assert tiny.installer == "uv" and tiny.editable_path is None
    assert dists["other-pkg"].version == "2.1"
    assert set(dists) == {"tiny-pkg", "other-pkg"}


# --- the environment signature ------------------------------------------------------------------


def test_signature_is_stable_and_ignores_files_that_are_not_metadata(tmp_path: Path):
    site = tmp_path / "site"
    _write_dist_info(site, "a-1.0.dist-info", "Name: a\nVersion: 1.0\n\n")
    before = env_signature([str(site)])
    assert env_signature([str(site)]) == before
    (site / "a").mkdir()
    (site / "a" / "__init__.py").write_text("")
    (site / "a.pth").write_text("")
    assert env_signature([str(site)]) == before


def test_signature_changes_on_add_remove_and_replaced_folder(tmp_path: Path):
    site = tmp_path / "site"
    _write_dist_info(site, "a-1.0.dist-info", "Name: a\nVersion: 1.0\n\n")
    start = env_signature([str(site)])
    added = _write_dist_info(site, "b-1.0.dist-info", "Name: b\nVersion: 1.0\n\n")
    with_b = env_signature([str(site)])
    assert with_b != start
    shutil.rmtree(added)
    assert env_signature([str(site)]) == start
    folder = site / "a-1.0.dist-info"
    st = folder.stat()
    os.utime(folder, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # what a reinstall does
    assert env_signature([str(site)]) != start


def test_signature_ignores_sub_second_mtimes_lost_in_docker_layers(tmp_path: Path):
    site = tmp_path / "site"
    folder = _write_dist_info(site, "a-1.0.dist-info", "Name: a\nVersion: 1.0\n\n")
    os.utime(folder, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    precise = env_signature([str(site)])
    os.utime(folder, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))  # as a layer export leaves it
    assert env_signature([str(site)]) == precise


def test_signature_of_missing_folder_differs_from_empty_folder(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert env_signature([str(tmp_path / "empty")]) != env_signature([str(tmp_path / "missing")])


@pytest.mark.slow
def test_signature_follows_real_uv_install_uninstall_and_reinstall(tmp_path: Path):
    exe = make_venv(tmp_path / "venv")
    sites = site_packages(exe)
    wheel = build_wheel(tmp_path / "wheels", "tiny", "1.0")
    empty = env_signature(sites)
    uv_pip_install(exe, "--offline", "--no-index", str(wheel))
    installed = env_signature(sites)
    assert installed != empty
    assert env_signature(sites) == installed
    _next_second()
    uv_pip_install(exe, "--offline", "--no-index", "--reinstall", str(wheel))
    reinstalled = env_signature(sites)
    assert reinstalled not in (installed, empty)
    run_uv(["pip", "uninstall", "--no-config", "--python", str(exe), "tiny"])
    assert env_signature(sites) == empty
