"""What the index hands back that cannot be used is a specific error with its facts: HashMismatch, InvalidMetadata.

Against the real loopback index; the CLI alone renders them (text on stderr, one JSON object
with the error's kind under --json, exit code 2).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from incrinstall.cli import error_json, exit_code, render_error
from incrinstall.common.errors import (
    HashMismatch,
    IncrinstallError,
    IndexUnavailable,
    InvalidMetadata,
    ResolutionError,
)
from incrinstall.index.client import IndexClient
from incrinstall.common.config import IndexConfig
from incrinstall.specs.backend_metadata import parse_metadata
from tests.support import wheels

TAGS = ["py3-none-any"]


def client(url: str, **config) -> IndexClient:
    return IndexClient(IndexConfig(index_url=url, **config), python_full_version="3.12.4", tags=TAGS)


def with_metadata(wheel: Path, text: bytes) -> Path:
    """Rewrite the wheel's .dist-info/METADATA (the RECORD is left stale: nothing installs it)."""
    with zipfile.ZipFile(wheel) as zf:
        entries = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, text if info.filename.endswith(".dist-info/METADATA") else data)
    return wheel


def test_a_download_with_the_wrong_sha256_is_a_hash_mismatch_with_both_digests(index_factory):
    idx = index_factory(serve_metadata=False, ranges=False)  # no PEP 658, no ranges: the wheel is downloaded
    idx.add_wheel("tamper", "1.0", requires_dist=["a"])
    c = client(idx.url)
    (iv,) = c.versions("tamper")
    advertised = iv.best.hashes["sha256"]
    served = idx.add_wheel("tamper", "1.0", requires_dist=["b"])  # same filename, other bytes
    actual = hashlib.sha256(served.read_bytes()).hexdigest()
    assert actual != advertised

    with pytest.raises(HashMismatch) as caught:
        c.metadata(iv)
    err = caught.value
    filename = wheels.wheel_filename("tamper", "1.0")
    assert (err.file, err.algorithm, err.expected, err.got, err.metadata) == (filename, "sha256", advertised,
                                                                             actual, False)
    assert err.url == idx.file_url(filename)
    # The message users have always seen, made from the fields.
    assert str(err) == err.message == (f"{filename} from {idx.file_url(filename)} does not match its sha256 hash "
                                       f"(expected {advertised}, got {actual})")
    assert err.where == filename
    assert isinstance(err, IndexUnavailable)  # the sites that recover from an unusable index still see it
    assert render_error(err) == f"{filename}: {err.message}" and exit_code(err) == 2


def test_a_metadata_file_with_the_wrong_hash_is_a_hash_mismatch_of_the_metadata_file(index):
    index.add_wheel("liar", "1.0", requires_dist=["a"])
    c = client(index.url)
    (iv,) = c.versions("liar")
    advertised = iv.best.metadata_hashes["sha256"]
    index.add_wheel("liar", "1.0", requires_dist=["b"])  # the page advertised the old metadata's hash
    filename = wheels.wheel_filename("liar", "1.0")

    with pytest.raises(HashMismatch) as caught:
        c.metadata(iv)
    err = caught.value
    assert err.metadata is True and err.file == filename and err.expected == advertised
    assert err.got == hashlib.sha256(wheels.read_wheel_metadata(index.root / filename)).hexdigest()
    assert str(err) == (f"metadata file {index.file_url(filename)}.metadata does not match its sha256 hash "
                        f"(expected {advertised}, got {err.got})")


@pytest.mark.parametrize("served", [
    {},  # PEP 658 metadata file
    {"serve_metadata": False},  # METADATA read from the wheel by HTTP ranges
    {"serve_metadata": False, "ranges": False},  # the whole wheel downloaded
], ids=["pep658", "ranges", "download"])
def test_metadata_that_cannot_be_parsed_is_invalid_metadata_naming_file_project_and_version(index_factory, tmp_path,
                                                                                            served):
    idx = index_factory(**served)
    built = wheels.build_wheel(tmp_path / "built", "twice", "1.0")
    # Two Version fields: which one is meant cannot be told (the old header scan took the first).
    idx.add_file(with_metadata(built, b"Metadata-Version: 2.1\nName: twice\nVersion: 1.0\nVersion: 2.0\n\n"))
    c = client(idx.url)
    (iv,) = c.versions("twice")

    with pytest.raises(InvalidMetadata) as caught:
        c.metadata(iv)
    err = caught.value
    assert (err.project, err.version, err.file) == ("twice", "1.0", built.name)
    assert err.reason == "invalid core metadata: Version appears 2 times"
    assert str(err) == f"{built.name}: invalid core metadata: Version appears 2 times"
    assert err.where == "twice"


def test_a_requirement_field_that_is_not_utf8_is_invalid_metadata(index, tmp_path):
    built = wheels.build_wheel(tmp_path / "built", "latin", "1.0")
    index.add_file(with_metadata(built, b"Metadata-Version: 2.1\nName: latin\nVersion: 1.0\n"
                                        b"Author: Jos\xe9\nRequires-Dist: caf\xe9\n\n"))
    c = client(index.url)
    with pytest.raises(InvalidMetadata, match=r"Requires-Dist is not UTF-8$"):
        c.metadata(c.versions("latin")[0])


def test_a_field_incrinstall_does_not_read_may_be_anything(index, tmp_path):
    built = wheels.build_wheel(tmp_path / "built", "oldauthor", "1.0")
    index.add_file(with_metadata(built, b"Metadata-Version: 2.1\nName: oldauthor\nVersion: 1.0\n"
                                        b"Author: Jos\xe9\nSummary: one\nSummary: two\nRequires-Dist: a>=1\n"
                                        b"Requires-Dist: b ;\n extra == 'x'\nProvides-Extra: X\n\nbody \xff\n"))
    c = client(index.url)
    md = c.metadata(c.versions("oldauthor")[0])
    assert (md.name, md.version, md.requires_dist, md.provides_extra) == (
        "oldauthor", "1.0", ("a>=1", "b ; extra == 'x'"), ("x",))


def test_metadata_without_a_version_keeps_its_message(index, tmp_path):
    built = wheels.build_wheel(tmp_path / "built", "noversion", "1.0")
    index.add_file(with_metadata(built, b"Metadata-Version: 2.1\nName: noversion\n\n"))
    c = client(index.url)
    with pytest.raises(InvalidMetadata) as caught:
        c.metadata(c.versions("noversion")[0])
    assert str(caught.value) == "a metadata file has no Name or Version"
    assert caught.value.where == "noversion"


def test_a_hook_metadata_text_that_cannot_be_parsed_is_invalid_metadata():
    assert parse_metadata("Name: a\nVersion: 1\nRequires-Dist: b  >=1\n\n") == (["b >=1"], [])
    with pytest.raises(InvalidMetadata, match="the build backend wrote invalid core metadata: Name appears 2 times"):
        parse_metadata("Name: a\nName: b\nVersion: 1\n", where="/tree")


def test_the_cli_reports_a_hash_mismatch_as_text_and_as_json_with_its_kind(index_factory, tmp_path, run_cli,
                                                                            venv_factory):
    idx = index_factory(serve_metadata=False, ranges=False)
    wheel = idx.add_wheel("tamper", "1.0")
    wrong = "0" * 64
    page = tmp_path / "links.html"  # a find-links page that lists the wheel with a hash it does not have
    page.write_text(f'<a href="{idx.file_url(wheel.name)}#sha256={wrong}">{wheel.name}</a>\n')
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0.1"\ndependencies = ["tamper"]\n')
    py = venv_factory()

    args = ["plan", proj, "--python", py, "--no-index", "--find-links", page]
    text = run_cli(*args)
    as_json = run_cli(*args, "--json")

    actual = hashlib.sha256(wheel.read_bytes()).hexdigest()
    message = (f"{wheel.name} from {idx.file_url(wheel.name)} does not match its sha256 hash "
               f"(expected {wrong}, got {actual})")
    assert text.returncode == as_json.returncode == 2
    assert text.stdout == ""
    assert text.stderr == as_json.stderr == f"error: {wheel.name}: {message}\n"
    assert json.loads(as_json.stdout) == {"error": {
        "kind": "HashMismatch", "message": message, "where": wheel.name, "detail": None, "exit_code": 2,
        "file": wheel.name, "url": idx.file_url(wheel.name), "algorithm": "sha256", "expected": wrong,
        "got": actual, "metadata": False}}


def test_exit_codes_and_json_come_from_the_kind():
    assert exit_code(ResolutionError("no")) == 1
    assert exit_code(IncrinstallError("x")) == exit_code(InvalidMetadata("bad")) == 2
    reported = error_json(InvalidMetadata("bad", project="p", version="1", file="p-1.whl"))
    assert reported == {"kind": "InvalidMetadata", "message": "p-1.whl: bad", "where": "p", "detail": None,
                        "exit_code": 2, "project": "p", "version": "1", "file": "p-1.whl", "reason": "bad"}
