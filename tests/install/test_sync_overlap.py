"""Distributions that ship the same files (jwt / PyJWT, psycopg2 / psycopg2-binary): a removal never breaks a survivor.

Removing one of two dists that share a folder deletes the shared files, which are also the
survivor's. After every sync, every file the RECORD of every installed dist names must exist
with its recorded hash, and the next sync must have nothing to do; a sync killed between the
removal and the survivor's repair is completed by the next one.

Real CLI, real uv, a real loopback index, real venvs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.envcheck import assert_environment_consistent, record_problems
from tests.support.stand_in_uv import kill_in_phase
from tests.support.venvs import installed, site_packages, uv_pip_install
from tests.support.world import World

pytestmark = pytest.mark.slow

# Two pairs of dists that install the same package folder, with different content.
OLD_JWT, NEW_JWT = "jwt-lite", "pyjwt-lite"
PSYCOPG, PSYCOPG_BINARY = "psycopg2-lite", "psycopg2-binary-lite"


def shipping(module: str, dist: str) -> dict[str, str]:
    """Files both dists of a pair ship (`api.py`) and one only this dist ships."""
    return {f"{module}/api.py": f"WHO = {dist!r}\n", f"{module}/only_{dist.replace('-', '_')}.py": ""}


def fill_index(index) -> None:
    index.add_wheel(OLD_JWT, "1.3.1", module="jwt", files=shipping("jwt", OLD_JWT))
    index.add_wheel(NEW_JWT, "2.10.1", module="jwt", files=shipping("jwt", NEW_JWT))
    index.add_wheel(PSYCOPG, "2.9.10", module="psycopg2", files=shipping("psycopg2", PSYCOPG))
    index.add_wheel(PSYCOPG_BINARY, "2.9.10", module="psycopg2", files=shipping("psycopg2", PSYCOPG_BINARY))
    index.add_wheel("other", "1.0")


def shipped_by(world: World, module: str) -> str:
    """Which dist's `module` Python imports (its `__distribution__`, or an error's last line)."""
    proc = subprocess.run([str(world.python), "-c", f"import {module}.api as a, {module} as m; "
                           f"print(m.__distribution__, a.WHO)"], capture_output=True, text=True)
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    fill_index(index)
    return World(tmp_path, index, venv_factory("target"))


def assert_settled(world: World) -> None:
    """Consistent now, and the next sync agrees there is nothing left to do."""
    assert_environment_consistent(world.python)
    assert "nothing to do" in world.sync().stdout


def test_sync_that_swaps_dists_shipping_the_same_folder_leaves_the_new_ones_files(world):
    world.baseline([f"{OLD_JWT}==1.3.1", "other"])
    assert shipped_by(world, "jwt") == f"{OLD_JWT} {OLD_JWT}"

    world.sync([f"{NEW_JWT}==2.10.1", "other"])

    assert installed(world.python) == {NEW_JWT: "2.10.1", "other": "1.0"}
    assert shipped_by(world, "jwt") == f"{NEW_JWT} {NEW_JWT}"
    # What only the old dist shipped went with it.
    assert not any((Path(sp) / "jwt" / "only_jwt_lite.py").exists() for sp in site_packages(world.python))
    assert_settled(world)


def test_removing_a_dist_restores_the_survivor_installed_long_before(world):
    world.baseline([PSYCOPG_BINARY])
    world.sync([PSYCOPG_BINARY, PSYCOPG])  # the second writer wins the shared files
    assert shipped_by(world, "psycopg2") == f"{PSYCOPG} {PSYCOPG}"

    world.sync([PSYCOPG_BINARY])

    assert installed(world.python) == {PSYCOPG_BINARY: "2.9.10"}
    assert shipped_by(world, "psycopg2") == f"{PSYCOPG_BINARY} {PSYCOPG_BINARY}"
    assert_settled(world)


def test_removing_a_dist_restores_a_survivor_incrinstall_does_not_manage(world):
    world.baseline([PSYCOPG, "other"])
    uv_pip_install(world.python, "--no-deps", f"{PSYCOPG_BINARY}==2.9.10", index_url=world.index.url)
    assert shipped_by(world, "psycopg2") == f"{PSYCOPG_BINARY} {PSYCOPG_BINARY}"

    world.sync(["other"])

    assert installed(world.python) == {PSYCOPG_BINARY: "2.9.10", "other": "1.0"}
    assert shipped_by(world, "psycopg2") == f"{PSYCOPG_BINARY} {PSYCOPG_BINARY}"
    assert PSYCOPG_BINARY not in world.managed()  # restored, still not incrinstall's to remove
    assert_settled(world)


def test_sync_killed_after_the_removal_restores_the_survivor_on_the_next_sync(world):
    world.baseline([PSYCOPG_BINARY])
    world.sync([PSYCOPG_BINARY, PSYCOPG])
    world.project(world.work, [PSYCOPG_BINARY])

    kill_in_phase(world, "remove", "the removal")  # uv's uninstall runs, then the sync is killed

    assert installed(world.python) == {PSYCOPG_BINARY: "2.9.10"}
    assert any("psycopg2/api.py is missing" in p for p in record_problems(world.python))  # the survivor is hurt
    assert world.journal() is not None

    proc = world.sync()
    assert "interrupted sync" in proc.stderr
    assert world.journal() is None
    assert shipped_by(world, "psycopg2") == f"{PSYCOPG_BINARY} {PSYCOPG_BINARY}"
    assert_settled(world)


def dist_info(site: Path, name: str, *paths: str) -> None:
    folder = site / f"{name}-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "RECORD").write_text("".join(f"{p},,\n" for p in [*paths, f"{folder.name}/RECORD"]))


def test_overlap_is_found_by_normalized_path_in_and_outside_site_packages(tmp_path):
    from incrinstall.install.overlap import overlapped_survivors

    purelib, platlib = tmp_path / "lib" / "site-packages", tmp_path / "lib64" / "site-packages"
    dist_info(purelib, "gone", "gone/__init__.py", "six.py", "../../bin/tool", "gone/data/x.txt")
    dist_info(purelib, "pkg", "gone/__init__.py")  # the same package folder
    dist_info(purelib, "single", "six.py")  # the same top-level module
    dist_info(purelib, "script", "../../bin/tool")  # the same console script
    dist_info(platlib, "other-site", "../../lib/site-packages/gone/data/x.txt")  # reached from platlib
    dist_info(purelib, "near-miss", "gone2/__init__.py", "gone/data/y.txt", "../../bin/tool2", "six.pyc")
    dist_info(platlib, "same-rel-other-site", "gone/__init__.py")  # another folder's gone/ is another file

    survivors = overlapped_survivors([str(purelib), str(platlib)], ["Gone"])

    assert survivors == ["other-site==1.0", "pkg==1.0", "script==1.0", "single==1.0"]
    assert overlapped_survivors([str(purelib), str(platlib)], ["near-miss"]) == []
