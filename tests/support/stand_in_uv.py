"""A stand-in for uv that does part of a sync's install or removal phase with the real uv, then waits to be killed.

Point INCRINSTALL_UV at it (`stand_in_uv()` gives the environment; `kill_in_phase()` runs a World's
sync with it and kills it there) to hold a phase open at a known
point: in "install", uv installs half of the requirements file and removes the old version of all
but the last of the rest (what uv does first for an upgrade); in "remove", uv uninstalls the first
package. Then the stand-in writes its mark file and sleeps; every other uv call goes to the real uv.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.venvs import uv_bin
from tests.support.world import World

SCRIPT = '''\
import os, subprocess, sys, time
from pathlib import Path

real, phase, mark = os.environ["CRASH_REAL_UV"], os.environ["CRASH_PHASE"], Path(os.environ["CRASH_MARK"])
args = sys.argv[1:]


def stall():
    mark.write_text(str(os.getpid()))
    time.sleep(600)


if phase == "install" and args[:2] == ["pip", "install"] and "-r" in args:
    at = args.index("-r") + 1
    python = args[args.index("--python") + 1]
    lines = [line for line in Path(args[at]).read_text().splitlines() if line.strip()]
    done, rest = lines[: len(lines) // 2], lines[len(lines) // 2:]
    part = mark.with_suffix(".txt")
    part.write_text("\\n".join(done) + "\\n")
    subprocess.run([real, *args[:at], str(part), *args[at + 1:]], check=True, capture_output=True)
    # What uv does first for an upgrade: remove the old versions. Killed before the new ones are in place,
    # and before the last old one was removed.
    rest_names = [line.split("==")[0] for line in rest][:-1]
    subprocess.run([real, "pip", "uninstall", "--python", python, *rest_names], capture_output=True)
    stall()
if phase == "remove" and args[:2] == ["pip", "uninstall"]:
    names = [a for a in args[4:] if not a.startswith("-")]
    subprocess.run([real, *args[:4], names[0]], check=True, capture_output=True)
    stall()
os.execv(real, [real, *args])
'''


def stand_in_uv(folder: Path, phase: str) -> tuple[dict[str, str], Path]:
    """(the environment that makes incrinstall run the stand-in in `phase`, the mark it writes when it stalls)."""
    script = folder / "uv-stand-in"
    script.write_text(f"#!{sys.executable}\n{SCRIPT}")
    script.chmod(0o755)
    mark = folder / f"stalled-{phase}"
    return {"INCRINSTALL_UV": str(script), "CRASH_REAL_UV": uv_bin(), "CRASH_PHASE": phase,
            "CRASH_MARK": str(mark)}, mark


def kill_in_phase(world: World, phase: str, what: str) -> None:
    """`world`'s sync with the stand-in until it stalls in `phase` (the journal agrees), then SIGKILL it all."""

    def in_phase() -> None:
        journal = world.journal()
        assert journal is not None and journal["phase"] == phase, journal

    env, mark = stand_in_uv(world.tmp, phase)
    world.kill_when("sync", mark.exists, what, env=env, inspect=in_phase)
