"""A command line the fast path has not seen is parsed, and an unchanged sync is answered before the pipeline loads.

commands.py makes the no-op test (install/stamp.unchanged_since_last_sync) with what parsing built; only a sync
with work to do imports pipeline.py, which imports every stage.
"""

from __future__ import annotations

import pytest

from tests.support.world import World

pytestmark = pytest.mark.slow


def imported(proc) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


@pytest.fixture
def world(tmp_path, index, venv_factory) -> World:
    index.add_wheel("alpha", "1.0")
    index.add_wheel("alpha", "2.0")
    return World(tmp_path, index, venv_factory("target"))


def test_an_unchanged_sync_on_a_new_command_line_imports_no_stage_of_the_pipeline(world):
    world.baseline(["alpha==1.0"])
    world.sync(["alpha==1.0"])
    # Another spelling of the same sync: the invocation record does not know it, the stamp does.
    proc = world.run("sync", world.work, "-v", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0 and "nothing to do" in proc.stdout, proc.stderr[-2000:]
    modules = imported(proc)
    assert {"incrinstall.cli", "incrinstall.commands"} <= modules
    assert not modules & {"incrinstall.pipeline", "incrinstall.install.installer", "incrinstall.specs.collect",
                          "incrinstall.index.client", "resolvelib", "packaging.requirements"}


def test_a_changed_sync_on_a_new_command_line_runs_the_pipeline(world):
    world.baseline(["alpha==1.0"])
    world.sync(["alpha==1.0"])
    world.project(world.work, ["alpha==2.0"])
    proc = world.run("sync", world.work, "-v", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0 and "~ alpha 1.0 -> 2.0" in proc.stdout, proc.stderr[-2000:]
    assert "incrinstall.pipeline" in imported(proc)
