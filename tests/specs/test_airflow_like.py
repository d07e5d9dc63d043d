"""`incrinstall specs` on an Airflow-2-like tree equals what the real build backend puts into the editable wheel.

The tree (tests/data/airflow_like) computes its dependencies and extras in a
hatch_build.py hook from generated/provider_dependencies.json, and has
providers/*/provider.yaml files with cross-provider dependencies. The reference
is independent of incrinstall: uv installs the tree editable (its own PEP 660
frontend, real hatchling from the loopback index) and we evaluate the installed
METADATA ourselves.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import sys
from email.parser import HeaderParser
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.venvs import make_venv, site_packages, uv_pip_install
from tests.support.paths import AIRFLOW_LIKE

FIXTURE = AIRFLOW_LIKE
PROJECT = "apache-airflow-lite"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(real_wheels_index, tmp_path_factory):
    """The METADATA uv's editable install of the tree writes, plus a cache folder shared by this module's CLI runs."""
    base = tmp_path_factory.mktemp("airflow-like-reference")
    tree = base / "tree"
    shutil.copytree(FIXTURE, tree)
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith(("UV_", "PIP_"))]:
            mp.delenv(key)
        mp.setenv("UV_CACHE_DIR", str(base / "uv-cache"))
        mp.setenv("UV_NO_CONFIG", "1")
        python = make_venv(base / "venv")
        uv_pip_install(python, "--no-deps", "-e", str(tree), index_url=real_wheels_index.url)
    [meta] = [m for sp in site_packages(python)
              for m in glob.glob(os.path.join(sp, "apache_airflow_lite-*.dist-info", "METADATA"))]
    return {"metadata": Path(meta).read_text(encoding="utf-8"), "cache": base / "incrinstall-cache",
            "index_url": real_wheels_index.url}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "airflow-like"
    shutil.copytree(FIXTURE, copy)
    return copy


def normalized(req: Requirement) -> str:
    extras = f"[{','.join(sorted(canonicalize_name(e) for e in req.extras))}]" if req.extras else ""
    target = f" @ {req.url}" if req.url else str(req.specifier)
    return f"{canonicalize_name(req.name)}{extras}{target}"


def metadata_requirements(metadata: str, extras: list[str]) -> set[str]:
    """Requires-Dist that apply for `extras` on this interpreter; self-references expanded, markers dropped."""
    env = default_environment()
    requires = [Requirement(v) for v in HeaderParser().parsestr(metadata).get_all("Requires-Dist") or []]
    todo, done, out = ["", *map(canonicalize_name, extras)], set(), set()
    while todo:
        extra = todo.pop()
        if extra in done:
            continue
        done.add(extra)
        for req in requires:
            applies = extra == "" if req.marker is None else req.marker.evaluate({**env, "extra": extra})
            if not applies:
                continue
            if canonicalize_name(req.name) == PROJECT:
                todo += [canonicalize_name(e) for e in req.extras]
            else:
                out.add(normalized(req))
    return out


def specs_json(run_cli, tree: Path, reference, *args: str) -> dict:
    proc = run_cli("specs", tree, "--json", "--python", sys.executable, *args,
                   env={"INCRINSTALL_CACHE_DIR": reference["cache"], "UV_INDEX_URL": reference["index_url"]})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# Every provider.yaml of the tree is a spec source unless --provider narrows it down, so each
# case selects the providers whose extras it asks for (and "all" asks for every provider).
CASES = [
    pytest.param([], ["common.sql"], id="core-only"),
    pytest.param(["all"], [], id="all-every-provider"),
    pytest.param(["amazon"], ["amazon"], id="amazon"),
    pytest.param(["google"], ["google"], id="google-needs-amazon-and-common-sql"),
    pytest.param(["devel"], ["amazon"], id="devel-self-references"),
    pytest.param(["gcp", "pandas"], ["google"], id="deprecated-alias-and-core-extra"),
]


@pytest.mark.parametrize("extras, providers", CASES)
def test_specs_equal_requires_dist_of_real_editable_wheel(run_cli, tree, reference, extras, providers):
    args = [a for e in extras for a in ("--extra", e)] + [a for p in providers for a in ("--provider", p)]
    out = specs_json(run_cli, tree, reference, *args)
    got = {normalized(Requirement(r["requirement"])) for r in out["requirements"]}
    expected = metadata_requirements(reference["metadata"], extras)
    assert got == expected
    assert not any(r.startswith("oldcloud") for r in got), "a suspended provider contributes nothing"


def test_specs_files_include_what_the_hook_read(run_cli, tree, reference):
    out = specs_json(run_cli, tree, reference, "--extra", "all")
    files = set(out["files"])
    assert {"generated/provider_dependencies.json", "airflow/__init__.py", "hatch_build.py", "pyproject.toml",
            "providers/amazon/provider.yaml", "providers/google/provider.yaml"} <= files
    assert "airflow/models.py" not in files
    kinds = {r["kind"] for r in out["requirements"]}
    assert "backend" in kinds


def test_generated_json_change_reaches_specs_and_fingerprint_source_change_does_not(run_cli, tree, reference):
    before = specs_json(run_cli, tree, reference, "--extra", "amazon", "--provider", "amazon")

    (tree / "airflow" / "models.py").write_text("def answer():\n    return 43\n")
    same = specs_json(run_cli, tree, reference, "--extra", "amazon", "--provider", "amazon")
    assert same["fingerprint"] == before["fingerprint"]

    deps = tree / "generated" / "provider_dependencies.json"
    deps.write_text(deps.read_text().replace('"s3-transfer-lite"', '"s3-transfer-lite", "retry-lite>=2"'))
    after = specs_json(run_cli, tree, reference, "--extra", "amazon", "--provider", "amazon")
    assert after["fingerprint"] != before["fingerprint"]
    assert "retry-lite>=2" in {r["requirement"] for r in after["requirements"]}
    assert "retry-lite>=2" not in {r["requirement"] for r in before["requirements"]}
