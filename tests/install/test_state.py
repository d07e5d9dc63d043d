"""The state file: PEP 751 pylock.toml, and the JSON copy that is read when it is current."""

from __future__ import annotations

import json
import os

import pytest
import tomlkit
from packaging import pylock

from incrinstall.install import state

try:
    from tomllib import loads as parse_toml  # the standard library's strict parser
except ImportError:  # Python 3.10

    def parse_toml(text: str) -> dict:
        return tomlkit.parse(text).unwrap()

# Every character TOML must escape or may not hold literally, and one outside the BMP (a
# surrogate pair in JSON's escapes, which TOML does not have).
AWKWARD = "😀 \x00\x01\x08\t\n\x0c\r\x1b\x1f\x7f \" \\ ' ünicode \u2028 𝄞"


def sample(text: str = 'quotes " and \\ and ünicode') -> state.State:
    return state.State(
        packages={
            "aaa": state.LockedPackage("aaa", "1.0", "http://x/aaa-1.0-py3-none-any.whl", {"sha256": "ab" * 32}),
            "bbb": state.LockedPackage("bbb", "2.0", "http://x/bbb-2.0.tar.gz", {"sha256": "cd" * 32}),
            "ccc": state.LockedPackage("ccc", "3.0"),  # installed by other means: no file known
        },
        managed={"aaa", "bbb"},
        fingerprint="f" * 64,
        selection={"extras": ["devel"], "all_extras": False, "note": text},
        baseline={"source": "https://example/archive/main.tar.gz", "sha256": "0" * 64, "created": "now"},
        project_dir="/src/proj",
        editable=None,
        tree={"proj": "1.0.dev0", "proj-member": "2.1"},
    )


def lock_text(prefix) -> str:
    return (prefix / ".incrinstall" / "pylock.toml").read_text(encoding="utf-8")


def load_from_toml(prefix) -> state.State | None:
    """Load with the JSON copy out of the way, so the TOML itself is what is read."""
    (prefix / ".incrinstall" / state.READ_COPY).unlink(missing_ok=True)
    return state.load(str(prefix))


def test_json_copy_and_toml_give_the_same_state(tmp_path):
    state.save(str(tmp_path), sample())
    from_copy = state.load(str(tmp_path))
    from_toml = load_from_toml(tmp_path)
    assert from_copy == from_toml == sample()
    # The TOML is what a TOML parser reads back, as the copy says.
    doc = tomlkit.parse(lock_text(tmp_path)).unwrap()
    assert doc["packages"][0]["wheels"][0]["url"].endswith("aaa-1.0-py3-none-any.whl")
    assert doc["packages"][1]["sdist"]["hashes"] == {"sha256": "cd" * 32}


def test_state_file_validates_as_pep_751(tmp_path):
    state.save(str(tmp_path), sample())
    path = tmp_path / ".incrinstall" / "pylock.toml"
    assert pylock.is_valid_pylock_path(path)
    lock = pylock.Pylock.from_dict(parse_toml(lock_text(tmp_path)))
    lock.validate()
    assert {p.name: str(p.version) for p in lock.packages} == {"aaa": "1.0", "bbb": "2.0"}


@pytest.mark.parametrize("where", ["project_dir", "url", "selection", "baseline", "tree"])
@pytest.mark.parametrize("text", [AWKWARD, "/src/😀", "\x01\x7f"], ids=["all", "emoji", "control"])
def test_any_string_round_trips_through_valid_toml(tmp_path, where, text):
    saved = sample()
    if where == "project_dir":
        saved.project_dir = "/src/" + text
    elif where == "url":
        saved.packages["aaa"].url = f"http://x/{text}/aaa-1.0-py3-none-any.whl"
    elif where == "selection":
        saved.selection = {"extras": [text], "note": text, text: True}
    elif where == "baseline":
        saved.baseline = {**saved.baseline, "source": text}
    else:
        saved.tree = {text: text}
    state.save(str(tmp_path), saved)
    doc = parse_toml(lock_text(tmp_path))  # raised "invalid TOML" with JSON's surrogate-pair escapes
    pylock.Pylock.from_dict(doc).validate()
    assert json.loads((tmp_path / ".incrinstall" / state.READ_COPY).read_text(encoding="utf-8")) == doc
    assert state.load(str(tmp_path)) == saved
    assert load_from_toml(tmp_path) == saved


def test_tree_packages_round_trip_and_default_to_empty(tmp_path):
    saved = sample()
    state.save(str(tmp_path), saved)
    assert parse_toml(lock_text(tmp_path))["tool"]["incrinstall"]["tree-packages"] == {
        "proj": "1.0.dev0", "proj-member": "2.1"}
    assert load_from_toml(tmp_path).tree == {"proj": "1.0.dev0", "proj-member": "2.1"}
    # A state written without the key (an older file of the same schema) loads with no tree packages.
    path = tmp_path / ".incrinstall" / "pylock.toml"
    doc = parse_toml(lock_text(tmp_path))
    del doc["tool"]["incrinstall"]["tree-packages"]
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    assert state.load(str(tmp_path)).tree == {}


def test_a_hand_edited_pylock_toml_newer_than_the_copy_wins(tmp_path):
    state.save(str(tmp_path), sample())
    lock = tmp_path / ".incrinstall" / "pylock.toml"
    lock.write_text(lock.read_text().replace('version = "1.0"', 'version = "1.1"'))
    copy = tmp_path / ".incrinstall" / state.READ_COPY
    older = lock.stat().st_mtime_ns - 10_000_000_000
    os.utime(copy, ns=(older, older))
    assert state.load(str(tmp_path)).packages["aaa"].version == "1.1"


BROKEN_STATES = {
    "garbage": b"\x00\xff not toml at all [[[",
    "empty": b"",
    "other schema": lambda doc: doc["tool"]["incrinstall"].update(schema=999),
    "tool not a table": lambda doc: doc.update(tool=["x"]),
    "packages not a list": lambda doc: doc.update(packages={"a": 1}),
    "package without name": lambda doc: doc["packages"][0].pop("name"),
    "version a number": lambda doc: doc["packages"][0].update(version=1),
    "wheels of strings": lambda doc: doc["packages"][0].update(wheels=["x"]),
    "managed a string": lambda doc: doc["tool"]["incrinstall"].update(managed="aaa"),
    "managed of numbers": lambda doc: doc["tool"]["incrinstall"].update(managed=[1, 2]),
    "selection a list": lambda doc: doc["tool"]["incrinstall"].update(selection=[]),
    "tree of numbers": lambda doc: doc["tool"]["incrinstall"].update({"tree-packages": {"a": 1}}),
    "baseline a string": lambda doc: doc["tool"]["incrinstall"].update(baseline="x"),
}


@pytest.mark.parametrize("shape", list(BROKEN_STATES))
def test_an_unreadable_state_loads_as_absent_with_a_warning(tmp_path, capsys, shape):
    state.save(str(tmp_path), sample())
    broken = BROKEN_STATES[shape]
    if isinstance(broken, bytes):
        toml_bytes, copy_text = broken, broken.decode("latin-1")
    else:
        doc = parse_toml(lock_text(tmp_path))
        broken(doc)
        toml_bytes, copy_text = tomlkit.dumps(doc).encode(), json.dumps(doc)
    (tmp_path / ".incrinstall" / "pylock.toml").write_bytes(toml_bytes)
    (tmp_path / ".incrinstall" / state.READ_COPY).write_text(copy_text, encoding="utf-8")
    assert state.load(str(tmp_path)) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ignoring the state file")


def test_a_damaged_copy_falls_back_to_the_toml(tmp_path, capsys):
    state.save(str(tmp_path), sample())
    (tmp_path / ".incrinstall" / state.READ_COPY).write_text("[1, 2]", encoding="utf-8")
    assert state.load(str(tmp_path)) == sample()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("garbage", ["[" * 100_000, "a = " + "[" * 100_000], ids=["json-like", "toml-like"])
def test_deeply_nested_garbage_is_unreadable_not_a_crash(tmp_path, capsys, garbage):
    state.save(str(tmp_path), sample())
    (tmp_path / ".incrinstall" / "pylock.toml").write_text(garbage)
    (tmp_path / ".incrinstall" / state.READ_COPY).write_text(garbage)
    assert state.load(str(tmp_path)) is None
    assert capsys.readouterr().err.startswith("warning: ignoring the state file")


def test_a_state_written_before_schema_numbers_keeps_its_managed_set(tmp_path):
    lock = tmp_path / ".incrinstall" / "pylock.toml"
    lock.parent.mkdir(parents=True)
    # The layout incrinstall 0.1 wrote: no [tool.incrinstall] schema.
    lock.write_text('lock-version = "1.0"\ncreated-by = "incrinstall"\n\n[tool.incrinstall]\nfingerprint = "f"\n'
                    'project-dir = ""\nselection = {}\nmanaged = ["aaa"]\n'
                    'packages-without-file = [{name = "aaa", version = "1.0"}]\n')
    loaded = state.load(str(tmp_path))
    assert loaded is not None and loaded.managed == {"aaa"} and loaded.pins == {"aaa": "1.0"}


def test_the_lock_a_sync_installed_from_round_trips(tmp_path):
    lock = {"file": "uv.lock", "format": "uv.lock", "sha256": "ab" * 32}
    state.save(str(tmp_path), state.State(packages={"a": state.LockedPackage("a", "1.0")}, lock=lock))
    assert state.load(str(tmp_path)).lock == lock
    (tmp_path / ".incrinstall" / state.READ_COPY).unlink()
    assert state.load(str(tmp_path)).lock == lock  # from the TOML too
    state.save(str(tmp_path), state.State())
    assert state.load(str(tmp_path)).lock is None
