"""Without PEP 658 metadata files, a wheel's METADATA is read by HTTP ranges, not by downloading the wheel.

The loopback index serves no `.metadata` files and big wheels (a 2 MB payload each, stored
uncompressed so its size is what travels). incrinstall must read the zip's end, its directory
and the METADATA member only; a server that ignores Range gets the whole file and the plan
is the same.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.trees import write_project
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.slow

PAYLOAD = 2 * 1024 * 1024


def big_wheel(folder: Path, name: str, version: str, **kw) -> Path:
    return build_wheel(folder, name, version, files={f"{name.replace('-', '_')}/blob.bin": os.urandom(PAYLOAD)}, **kw)


@pytest.mark.parametrize("ranges", [True, False])
def test_metadata_without_pep_658_is_read_by_ranges_where_the_server_allows(
        index_factory, tmp_path, run_cli, venv_factory, ranges):
    served = index_factory(serve_metadata=False, ranges=ranges)
    big_wheel(served.root, "big-a", "1.0", requires_dist=["big-b>=1"])
    big_wheel(served.root, "big-b", "1.0")
    tree = write_project(tmp_path / "tree", ["big-a"])

    proc = run_cli("plan", tree, "--python", venv_factory("target"), "--index-url", served.url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert {a["name"]: a["to"] for a in json.loads(proc.stdout)["actions"]} == {"big-a": "1.0", "big-b": "1.0"}
    file_requests = [r for r in served.request_log if r.path.startswith("/files/")]
    sent = sum(r.bytes_sent for r in file_requests)
    if ranges:
        assert all("range" in r.headers for r in file_requests)
        assert sent < PAYLOAD // 20, sent  # two wheels of 2 MB: a few kilobytes read
    else:
        assert sent >= 2 * PAYLOAD  # the fallback: whole files, hash-checked
