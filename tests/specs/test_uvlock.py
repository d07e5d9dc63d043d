"""specs/uvlock.py: a uv.lock read into plain data, block by block, with errors at the lock's own lines."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from incrinstall.common import tomlfile
from incrinstall.common.errors import SpecError
from incrinstall.specs import uvlock
from incrinstall.specs.uvlock import Edge, Source

# What uv 0.13 writes for a small workspace (checked against real `uv lock` output by tests/e2e/test_lock.py).
LOCK = '''\
version = 1
revision = 3
requires-python = ">=3.10"
resolution-markers = [
    "python_full_version >= '3.12'",
    "python_full_version < '3.12'",
]

[manifest]
members = [
    "app",
    "lib",
]

[manifest.dependency-groups]
ci = [{ name = "linty" }]

[[package]]
name = "app"
version = "0.1"
source = { editable = "." }
dependencies = [
    { name = "lib" },
    { name = "split", version = "1.0", source = { registry = "https://example.org/simple" }, marker = "python_full_version < '3.12'" },
    { name = "split", version = "2.0", source = { registry = "https://example.org/simple" }, marker = "python_full_version >= '3.12'" },
]

[package.optional-dependencies]
fast = [
    { name = "gamma", extra = ["speed"] },
]

[package.dev-dependencies]
dev = [
    { name = "pytesty" },
]

[package.metadata]
requires-dist = [{ name = "lib", editable = "lib" }]

[[package]]
name = "gamma"
version = "1.0"
source = { registry = "https://example.org/simple" }
sdist = { url = "https://example.org/files/gamma-1.0.tar.gz", hash = "sha256:aa", size = 10, upload-time = "2024-01-01T00:00:00Z" }
wheels = [
    { url = "https://example.org/files/gamma-1.0-cp312-cp312-manylinux_2_17_x86_64.whl", hash = "sha256:bb", size = 11 },
    { url = "https://example.org/files/gamma-1.0-py3-none-any.whl", hash = "sha256:cc", size = 12 },
]

[package.optional-dependencies]
speed = [
    { name = "delta" },
]

[[package]]
name = "lib"
version = "2.0"
source = { virtual = "lib" }

[[package]]
name = "split"
version = "1.0"
source = { registry = "https://example.org/simple" }
resolution-markers = [
    "python_full_version < '3.12'",
]
wheels = [
    { url = "https://example.org/files/split-1.0-py3-none-any.whl", hash = "sha256:dd", size = 13 },
]

[[package]]
name = "split"
version = "2.0"
source = { registry = "https://example.org/simple" }
resolution-markers = [
    "python_full_version >= '3.12'",
]
wheels = [
    { url = "https://example.org/files/split-2.0-py3-none-any.whl", hash = "sha256:ee", size = 14 },
]
'''


def write(tmp_path: Path, text: str = LOCK) -> Path:
    path = tmp_path / "uv.lock"
    path.write_text(text)
    return path


def test_read_gives_every_package_with_its_source_edges_and_files(tmp_path):
    lock = uvlock.read(write(tmp_path), "uv.lock")
    assert [(p.name, p.version) for p in lock.packages] == [
        ("app", "0.1"), ("gamma", "1.0"), ("lib", "2.0"), ("split", "1.0"), ("split", "2.0")]
    assert lock.members == ("app", "lib") and lock.requires_python == ">=3.10" and not lock.conflicts
    app, gamma, lib = lock.packages[:3]
    assert app.source == Source("editable", ".") and lib.source.is_tree and not gamma.source.is_tree
    assert app.dependencies[1] == Edge("split", "1.0", Source("registry", "https://example.org/simple"),
                                       "python_full_version < '3.12'")
    assert app.optional == {"fast": (Edge("gamma", None, None, None, ("speed",)),)}
    assert app.groups == {"dev": (Edge("pytesty", None, None, None),)}
    assert [w.filename for w in gamma.wheels] == ["gamma-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                                                   "gamma-1.0-py3-none-any.whl"]
    assert gamma.sdist is not None and gamma.sdist.hashes == {"sha256": "aa"}
    assert lock.root_groups["ci"][0].name == "linty"
    # Lines are the `[[package]]` headers', as a reader of the file counts them.
    lines = LOCK.splitlines()
    assert all(lines[p.line - 1] == "[[package]]" and lines[p.line].endswith(f'"{p.name}"') for p in lock.packages)


def test_read_by_blocks_equals_a_whole_parse(tmp_path):
    lock = uvlock.read(write(tmp_path), "uv.lock")
    whole = tomllib.loads(LOCK)["package"]
    assert [(p.name, p.version, len(p.dependencies), len(p.wheels)) for p in lock.packages] == [
        (p["name"], p["version"], len(p.get("dependencies", [])), len(p.get("wheels", []))) for p in whole]


def test_a_moved_lock_parses_only_the_blocks_that_changed(tmp_path, monkeypatch):
    path = write(tmp_path)
    uvlock.read(path, "uv.lock")  # fills the cache
    parsed: list[str] = []
    real = tomlfile.parse_toml
    monkeypatch.setattr(uvlock, "parse_toml", lambda text, rel: parsed.append(text) or real(text, rel))
    path.write_text(LOCK.replace('version = "1.0"\nsource = { registry = "https://example.org/simple" }\n'
                                 'sdist', 'version = "1.1"\nsource = { registry = "https://example.org/simple" }\nsdist'))
    lock = uvlock.read(path, "uv.lock")
    assert [p.version for p in lock.packages if p.name == "gamma"] == ["1.1"]
    assert len(parsed) == 1 and 'name = "gamma"' in parsed[0]  # gamma's block: no other, not the header
    parsed.clear()
    assert uvlock.read(path, "uv.lock").packages == lock.packages
    assert parsed == []


def test_invalid_toml_in_a_block_names_its_line_in_the_lock(tmp_path):
    text = LOCK.replace('version = "2.0"\nsource = { virtual', 'version = 2.0.0\nsource = { virtual')
    line = text.splitlines().index('version = 2.0.0') + 1
    with pytest.raises(SpecError) as info:
        uvlock.read(write(tmp_path, text), "uv.lock")
    assert info.value.where == f"uv.lock:{line}"


def test_a_lock_version_this_reader_does_not_know_is_refused_at_its_line(tmp_path):
    with pytest.raises(SpecError) as info:
        uvlock.read(write(tmp_path, LOCK.replace("version = 1\n", "version = 2\n", 1)), "uv.lock")
    assert info.value.where == "uv.lock:1" and "--no-lock" in info.value.message


def test_a_multiline_string_is_read_by_a_whole_parse(tmp_path):
    text = LOCK.replace('requires-python = ">=3.10"', 'requires-python = """>=3.10"""')
    lock = uvlock.read(write(tmp_path, text), "uv.lock")
    assert lock.requires_python == ">=3.10" and len(lock.packages) == 5
    assert lock.packages[1].line == LOCK.splitlines().index('name = "gamma"')  # its [[package]] line


def test_root_requirements_of_the_manifest_are_refused(tmp_path):
    text = LOCK.replace("[manifest.dependency-groups]", 'requirements = [{ name = "x" }]\n\n[manifest.dependency-groups]')
    with pytest.raises(SpecError) as info:
        uvlock.read(write(tmp_path, text), "uv.lock")
    assert info.value.where == f"uv.lock:{text.splitlines().index('[manifest]') + 1}"
