"""The state file: PEP 751 pylock.toml, and the JSON copy that is read when it is current."""

from __future__ import annotations

import os

import tomlkit

from incrinstall import state


def sample() -> state.State:
    return state.State(
        packages={
            "aaa": state.LockedPackage("aaa", "1.0", "http://x/aaa-1.0-py3-none-any.whl", {"sha256": "ab" * 32}),
            "bbb": state.LockedPackage("bbb", "2.0", "http://x/bbb-2.0.tar.gz", {"sha256": "cd" * 32}),
            "ccc": state.LockedPackage("ccc", "3.0"),  # installed by other means: no file known
        },
        managed={"aaa", "bbb"},
        fingerprint="f" * 64,
        selection={"extras": ["devel"], "all_extras": False, "note": 'quotes " and \\ and ünicode'},
        baseline={"source": "https://example/archive/main.tar.gz", "sha256": "0" * 64, "created": "now"},
        project_dir="/src/proj",
        editable=None,
    )


def test_json_copy_and_toml_give_the_same_state(tmp_path):
    state.save(str(tmp_path), sample())
    from_copy = state.load(str(tmp_path))
    os.unlink(tmp_path / ".incrinstall" / state.READ_COPY)
    from_toml = state.load(str(tmp_path))
    assert from_copy == from_toml == sample()
    # The TOML is what a TOML parser reads back, as the copy says.
    doc = tomlkit.parse((tmp_path / ".incrinstall" / "pylock.toml").read_text()).unwrap()
    assert doc["packages"][0]["wheels"][0]["url"].endswith("aaa-1.0-py3-none-any.whl")
    assert doc["packages"][1]["sdist"]["hashes"] == {"sha256": "cd" * 32}


def test_a_hand_edited_pylock_toml_newer_than_the_copy_wins(tmp_path):
    state.save(str(tmp_path), sample())
    lock = tmp_path / ".incrinstall" / "pylock.toml"
    lock.write_text(lock.read_text().replace('version = "1.0"', 'version = "1.1"'))
    copy = tmp_path / ".incrinstall" / state.READ_COPY
    older = lock.stat().st_mtime_ns - 10_000_000_000
    os.utime(copy, ns=(older, older))
    assert state.load(str(tmp_path)).packages["aaa"].version == "1.1"
