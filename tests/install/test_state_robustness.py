"""Damaged records never crash a sync: stamp, invocation record, state file and journal of any shape.

Real CLI, real uv, a real loopback index, a real venv. Each test syncs the venv, damages one
record the way another version, a hand edit or a broken disk could (a JSON list instead of an
object, a missing key, a wrong type, another schema, garbage), syncs again with the same
command and checks: exit 0, no traceback, and an environment that is complete and consistent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomlkit
from packaging import pylock

from tests.support.cli import imported_by
from tests.support.envcheck import assert_environment_consistent
from tests.support.venvs import installed, site_packages
from tests.support.world import World

try:
    from tomllib import loads as parse_toml  # the standard library's strict parser
except ImportError:  # Python 3.10

    def parse_toml(text: str) -> dict:
        return tomlkit.parse(text).unwrap()

pytestmark = pytest.mark.slow

EXPECTED = {"aaa": "1.0", "bbb": "1.0"}


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    """A venv synced to the work tree's `aaa` (which needs bbb), with the same command line each sync repeats."""
    index.add_wheel("aaa", "1.0", requires_dist=["bbb>=1"])
    index.add_wheel("bbb", "1.0")
    index.add_wheel("ccc", "1.0")
    w = World(tmp_path, index, venv_factory("target"))
    assert_clean(w.sync(["aaa"], ok=False))
    assert installed(w.python) == EXPECTED
    return w


def invocation_records(cache: Path) -> list[Path]:
    """The fast path's invocation records in incrinstall's cache."""
    return sorted((cache / "invocations").glob("*.json"))


def assert_clean(proc) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Traceback" not in output, output


def assert_environment_correct(world: World, expected: dict[str, str]) -> None:
    """The packages expected, each with RECORD and METADATA and every file RECORD names, and `uv pip check` clean."""
    assert installed(world.python) == expected
    assert_environment_consistent(world.python)


def assert_state_valid(world: World) -> None:
    """A fresh state file of this version: PEP 751, schema 1, a JSON copy that says the same."""
    doc = parse_toml((world.state_dir / "pylock.toml").read_text(encoding="utf-8"))
    pylock.Pylock.from_dict(doc).validate()
    assert doc["tool"]["incrinstall"]["schema"] == 1
    assert json.loads((world.state_dir / "pylock.json").read_text(encoding="utf-8")) == doc


# -- the invocation record (cache invocations/*.json): the fast path's first read ------------------------------------

INVOCATION_SHAPES = {
    "a list": lambda prefix: [{"schema": 1, "prefix": prefix}],
    "a string": lambda prefix: prefix,
    "no prefix": lambda prefix: {"schema": 1},
    "prefix a number": lambda prefix: {"schema": 1, "prefix": 5},
    "prefix null": lambda prefix: {"schema": 1, "prefix": None},
    "another schema": lambda prefix: {"schema": 99, "prefix": prefix},
}


@pytest.mark.parametrize("shape", list(INVOCATION_SHAPES))
def test_damaged_invocation_record_falls_through_to_the_full_path(world, incrinstall_cache, shape):
    [record] = invocation_records(incrinstall_cache)
    record.write_text(json.dumps(INVOCATION_SHAPES[shape](str(world.prefix))))
    proc = world.sync(ok=False, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert_clean(proc)
    assert "incrinstall.cli" in imported_by(proc)  # the full path answered, after parsing the arguments
    assert "nothing to do" in proc.stdout  # and the stamp still says so
    assert_environment_correct(world, EXPECTED)


# -- the stamp (<prefix>/.incrinstall/stamp.json): read by the fast path and by the full path ------------------------

STAMP_SHAPES = {
    "a list": lambda s: ["python", "files"],
    "no options": lambda s: {k: v for k, v in s.items() if k != "options"},
    "files a number": lambda s: {**s, "files": 5},
    "markers a string": lambda s: {**s, "markers": "linux"},
    "python null": lambda s: {**s, "python": None},
    "dirs of numbers": lambda s: {**s, "dirs": [1, 2]},
    "another schema": lambda s: {**s, "schema": 99},
}
# (shape, path): "fast" repeats the last command (the fast path reads the stamp); "full" adds -v, which the
# fast path leaves to the full path (pipeline.sync reads the stamp). Each pair crashed or wrongly said "unchanged".
STAMP_CASES = [("a list", "fast"), ("a list", "full"), ("no options", "fast"), ("files a number", "fast"),
               ("files a number", "full"), ("markers a string", "fast"), ("python null", "fast"),
               ("dirs of numbers", "fast"), ("dirs of numbers", "full"), ("another schema", "fast"),
               ("another schema", "full")]


@pytest.mark.parametrize(("shape", "path"), STAMP_CASES, ids=[f"{s}-{p}" for s, p in STAMP_CASES])
def test_damaged_stamp_means_no_stamp(world, shape, path):
    stamp_file = world.state_dir / "stamp.json"
    stamp = json.loads(stamp_file.read_text())
    stamp_file.write_text(json.dumps(STAMP_SHAPES[shape](stamp)))
    proc = world.sync(None, *(["-v"] if path == "full" else []), ok=False)
    assert_clean(proc)
    assert "nothing to do" not in proc.stdout  # not known to be unchanged: the full sync ran
    assert_environment_correct(world, EXPECTED)
    assert json.loads(stamp_file.read_text())["schema"] == 1  # and wrote a stamp of this version
    assert "nothing to do" in world.sync().stdout


# -- the state file (<prefix>/.incrinstall/pylock.toml and its JSON copy) --------------------------------------------


def _edit(change):
    def apply(doc: dict) -> tuple[bytes, str | None]:
        change(doc)
        return tomlkit.dumps(doc).encode(), None  # no JSON copy: the TOML is read
    return apply


STATE_SHAPES = {
    "garbage": lambda doc: (b"\x00\xff[[[ not toml", None),
    "copy a JSON list": lambda doc: (tomlkit.dumps(doc).encode(), "[1, 2, 3]"),
    "package without version": _edit(lambda doc: doc["packages"][0].pop("version")),
    "packages a table": _edit(lambda doc: doc.update(packages={"aaa": "1.0"})),
    "managed a number": _edit(lambda doc: doc["tool"]["incrinstall"].update(managed=5)),
    "another schema": _edit(lambda doc: doc["tool"]["incrinstall"].update(schema=99)),
}


@pytest.mark.parametrize("shape", list(STATE_SHAPES))
def test_damaged_state_is_treated_as_absent(world, shape):
    lock, copy = world.state_dir / "pylock.toml", world.state_dir / "pylock.json"
    toml_bytes, copy_text = STATE_SHAPES[shape](parse_toml(lock.read_text(encoding="utf-8")))
    lock.write_bytes(toml_bytes)
    copy.unlink()
    if copy_text is not None:
        copy.write_text(copy_text)  # newer than the TOML: read first
    proc = world.sync(["aaa", "ccc"], ok=False)  # a change, so the full path reads the state
    assert_clean(proc)
    if shape == "copy a JSON list":
        assert "warning" not in proc.stderr  # the TOML itself was fine
    else:
        [warning] = [line for line in proc.stderr.splitlines() if "warning" in line]
        assert warning.startswith("warning: ignoring the state file") and "pylock.toml" in warning
    assert_environment_correct(world, {**EXPECTED, "ccc": "1.0"})
    assert_state_valid(world)
    assert "ccc" in parse_toml(lock.read_text(encoding="utf-8"))["tool"]["incrinstall"]["managed"]


# -- the journal (<prefix>/.incrinstall/journal.json): a sync was interrupted ----------------------------------------

JOURNAL_SHAPES = {
    "garbage": "\x00 not json {",
    "empty": "",
    "a list": '["install", "bbb==1.0"]',
    "install a number": '{"schema": 1, "phase": "install", "install": 5, "remove": [], "pid": 1}',
    "install of numbers": '{"schema": 1, "phase": "install", "install": [1], "remove": [], "pid": 1}',
    "another version": '{"schema": 99, "steps": [{"do": "install", "what": "bbb==1.0"}]}',
}


@pytest.mark.parametrize("shape", list(JOURNAL_SHAPES))
def test_unreadable_journal_still_converges_the_interrupted_sync(world, shape):
    # What a uv killed while installing bbb leaves: a metadata folder without RECORD.
    [bbb] = [m for site in site_packages(world.python) for m in Path(site).glob("bbb-*.dist-info")]
    (bbb / "RECORD").unlink()
    (world.state_dir / "journal.json").write_text(JOURNAL_SHAPES[shape])
    proc = world.sync(ok=False)
    assert_clean(proc)
    assert "interrupted sync" in proc.stderr  # never silently ignored
    assert_environment_correct(world, EXPECTED)  # bbb was reinstalled whole
    assert not (world.state_dir / "journal.json").exists()
    assert_state_valid(world)
    assert "nothing to do" in world.sync().stdout
