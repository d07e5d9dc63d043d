"""resolve/locked.py: a lock's selection for a target as a Resolution, and what it refuses, at the lock's lines.

The selection itself is compared with uv's (`uv sync --frozen`, `uv pip install -r pylock.toml`) on real
locks in tests/e2e/test_lock.py; these are the cases a real uv lock is awkward to make for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from incrinstall.common.errors import SpecError
from incrinstall.environment.installed import InstalledDist
from incrinstall.resolve.locked import select_pylock, select_uv_lock
from incrinstall.resolve.plan import diff
from incrinstall.specs import pylock, uvlock
from incrinstall.specs.model import Selection

LINUX_311 = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
             "platform_system": "Linux", "platform_machine": "x86_64", "implementation_name": "cpython",
             "platform_python_implementation": "CPython", "os_name": "posix", "platform_release": "",
             "platform_version": "", "implementation_version": "3.11.7"}
TAGS_311 = ("cp311-cp311-manylinux_2_17_x86_64", "cp311-abi3-manylinux_2_17_x86_64", "py3-none-any")
REGISTRY = 'source = { registry = "https://example.org/simple" }'


def wheel(name: str, version: str, tag: str = "py3-none-any", digest: str = "00") -> str:
    return f'    {{ url = "https://example.org/files/{name}-{version}-{tag}.whl", hash = "sha256:{digest}", size = 1 }},\n'


def package(name: str, version: str, *, source: str = REGISTRY, deps: str = "", wheels: str = "", extra: str = "") -> str:
    text = f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n{source}\n'
    if deps:
        text += f"dependencies = [\n{deps}]\n"
    if wheels:
        text += f"wheels = [\n{wheels}]\n"
    return text + extra


HEADER = 'version = 1\nrevision = 3\nrequires-python = ">=3.10"\n'


def root(deps: str, extra: str = "") -> str:
    return package("app", "0.1", source='source = { virtual = "." }', deps=deps, extra=extra)


def read(tmp_path: Path, text: str) -> uvlock.UvLock:
    path = tmp_path / "uv.lock"
    path.write_text(text)
    return uvlock.read(path, "uv.lock")


def select(lock, selection: Selection | None = None, installed=None, installed_files=None, tags=TAGS_311,
           default_groups=("dev",)):
    return select_uv_lock(lock, selection=selection or Selection(), default_groups=default_groups, markers=LINUX_311,
                          tags=tags,
                          python_full_version="3.11.7", installed=installed or {}, installed_files=installed_files)


OTHER, FROMGIT = 'name = "other"', 'name = "fromgit"'


def line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


def dist(name: str, version: str) -> InstalledDist:
    return InstalledDist(name, name, version, (), None, "uv", None, None, f"/site/{name}-{version}.dist-info")


def test_the_best_wheel_for_the_target_tags_else_the_sdist(tmp_path):
    text = HEADER + root('    { name = "fast" },\n    { name = "pure" },\n    { name = "other" },\n')
    text += package("fast", "1.0", wheels=wheel("fast", "1.0", "py3-none-any", "a1")
                    + wheel("fast", "1.0", "cp311-cp311-manylinux_2_17_x86_64", "a2")
                    + wheel("fast", "1.0", "cp311-abi3-manylinux_2_17_x86_64", "a3"))
    text += package("pure", "2.0", wheels=wheel("pure", "2.0", "cp39-cp39-win_amd64"),
                    extra='sdist = { url = "https://example.org/files/pure-2.0.tar.gz", hash = "sha256:b1", size = 1 }\n')
    text += package("other", "3.0", wheels=wheel("other", "3.0", "cp311-cp311-macosx_11_0_arm64"))
    lock = read(tmp_path, text)
    with pytest.raises(SpecError) as info:
        select(lock)
    assert info.value.where == f"uv.lock:{line_of(text, OTHER) - 1}"
    assert "no wheel of the lock suits the target" in info.value.message
    lock = read(tmp_path, text.replace('    { name = "other" },\n', ""))
    pins = select(lock).pins
    assert pins["fast"].file.url.endswith("fast-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert pins["fast"].hashes == ("sha256:a2",) and pins["fast"].index == "https://example.org/simple"
    assert pins["pure"].file.url.endswith("pure-2.0.tar.gz") and pins["pure"].direct_url is None


def test_a_git_source_is_refused_at_its_line_only_when_the_target_needs_it(tmp_path):
    git = 'source = { git = "https://example.org/repo.git?rev=abc#abc" }'
    text = HEADER + root('    { name = "fromgit", marker = "sys_platform == \'win32\'" },\n')
    text += package("fromgit", "1.0", source=git)
    assert select(read(tmp_path, text)).pins == {}  # behind a marker this target does not meet: not needed
    text = text.replace(', marker = "sys_platform == \'win32\'"', "")
    with pytest.raises(SpecError) as info:
        select(read(tmp_path, text))
    assert info.value.where == f"uv.lock:{line_of(text, FROMGIT) - 1}"
    assert "git repository" in info.value.message and "--no-lock" in info.value.message


def test_conflict_markers_are_refused_not_guessed(tmp_path):
    text = HEADER.replace("revision = 3\n", "revision = 3\nconflicts = [[\n"
                          '    { package = "app", extra = "cpu" },\n    { package = "app", extra = "gpu" },\n]]\n')
    text += root('    { name = "torchy", marker = "extra == \'extra-3-app-cpu\'" },\n')
    text += package("torchy", "1.0", wheels=wheel("torchy", "1.0"))
    with pytest.raises(SpecError) as info:
        select(read(tmp_path, text))
    assert "conflicts" in info.value.message and info.value.where.startswith("uv.lock:")


def test_a_target_outside_requires_python_is_refused(tmp_path):
    lock = read(tmp_path, HEADER.replace(">=3.10", ">=3.12") + root(""))
    with pytest.raises(SpecError) as info:
        select(lock)
    assert info.value.where == "uv.lock:3" and "3.11.7" in info.value.message


def test_unknown_workspace_package_is_refused(tmp_path):
    with pytest.raises(SpecError) as info:
        select(read(tmp_path, HEADER + root("")), Selection(packages=("nope",)))
    assert info.value.where == "--package" and "valid packages: app" in info.value.message


def test_default_groups_join_the_groups_asked_for(tmp_path):
    groups = '\n[package.dev-dependencies]\ndev = [\n    { name = "d" },\n]\nlint = [\n    { name = "l" },\n]\n'
    text = HEADER + root("", groups) + package("d", "1.0", wheels=wheel("d", "1.0")) \
        + package("l", "1.0", wheels=wheel("l", "1.0"))
    lock = read(tmp_path, text)
    assert set(select(lock).pins) == {"d"}
    assert set(select(lock, Selection(groups=("lint",))).pins) == {"d", "l"}
    assert set(select(lock, Selection(groups=("lint",), no_default_groups=True)).pins) == {"l"}
    assert set(select(lock, default_groups="all").pins) == {"d", "l"}
    assert set(select(lock, default_groups=()).pins) == set()


def test_installed_at_the_locked_version_is_kept_and_another_file_of_it_is_reinstalled(tmp_path):
    text = HEADER + root('    { name = "a" },\n    { name = "b" },\n') \
        + package("a", "1.0", wheels=wheel("a", "1.0", digest="aa")) + package("b", "2.0", wheels=wheel("b", "2.0"))
    lock = read(tmp_path, text)
    installed = {"a": dist("a", "1.0"), "b": dist("b", "1.0")}
    resolution = select(lock, installed=installed, installed_files={"a": ("1.0", "aa")})
    assert resolution.pins["a"].origin == "installed" and resolution.reinstall == {}
    plan = diff(resolution, installed, managed=set())
    assert [(a.action, a.name) for a in plan.changes] == [("upgrade", "b")]
    resolution = select(lock, installed=installed, installed_files={"a": ("1.0", "ff")})
    plan = diff(resolution, installed, managed=set())
    assert [(a.action, a.name) for a in plan.changes] == [("upgrade", "b"), ("reinstall", "a")]
    assert "a-1.0-py3-none-any.whl" in plan.changes[1].reason


def test_pylock_vcs_and_outside_folders_are_refused_at_their_entries(tmp_path):
    head = 'lock-version = "1.0"\ncreated-by = "tests"\n'
    vcs = head + '\n[[packages]]\nname = "x"\nvcs = { type = "git", url = "https://example.org/x.git", commit-id = "abc" }\n'
    path = tmp_path / "pylock.toml"
    path.write_text(vcs)
    with pytest.raises(SpecError) as info:
        select_pylock(pylock.read(path, "pylock.toml"), selection=Selection(), markers=LINUX_311, tags=TAGS_311,
                      python_full_version="3.11.7", installed={}, project_dir=tmp_path)
    assert info.value.where == "pylock.toml:4" and "VCS" in info.value.message
    path.write_text(head + '\n[[packages]]\nname = "y"\ndirectory = { path = "../elsewhere" }\n')
    with pytest.raises(SpecError) as info:
        select_pylock(pylock.read(path, "pylock.toml"), selection=Selection(), markers=LINUX_311, tags=TAGS_311,
                      python_full_version="3.11.7", installed={}, project_dir=tmp_path)
    assert info.value.where == "pylock.toml:4" and "outside the project" in info.value.message


def test_an_invalid_pylock_is_refused_at_its_entry(tmp_path):
    path = tmp_path / "pylock.toml"
    path.write_text('lock-version = "1.0"\ncreated-by = "t"\n\n[[packages]]\nname = "a"\nversion = "1"\n'
                    'wheels = [{ url = "https://e.org/a-1-py3-none-any.whl", hashes = {} }]\n\n'
                    '[[packages]]\nname = "b"\nversion = "1"\nwheels = "no"\n')
    with pytest.raises(SpecError) as info:
        pylock.read(path, "pylock.toml")
    assert info.value.where in ("pylock.toml:4", "pylock.toml:9")
