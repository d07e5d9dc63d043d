"""The subprocess runner incrinstall gives pyproject_hooks: our bootstrap goes in front of its hook script.

pyproject_hooks decides what to run (`[python, _in_process.py, hook, control_dir]`);
this runner decides how: isolated (-I), without writing bytecode into the tree (-B),
with the output captured for the error tail, the build environment's bin/ first on
PATH (as pypa/build does), and through _hook_runner.py, which records the project
files the hook reads and where in the project it failed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

BOOTSTRAP = Path(__file__).with_name("_hook_runner.py")


class HookReport(TypedDict, total=False):
    """What _hook_runner.py noted: the project files the hook opened, the folders it listed, the VCS tools it ran,
    and where in the project (file:line) it raised what."""

    opened: list[str]
    listed: list[str]
    vcs: list[str]
    error: str
    where: str


class RecordingRunner:
    """Runs one hook; afterwards `output` holds what it printed and `report` what the bootstrap noted.

    `report`: {"opened": [relpaths]} when recording, plus {"error", "where"} when the hook raised.
    A non-zero exit raises subprocess.CalledProcessError, as pyproject_hooks' own runners do.
    """

    def __init__(self, project_dir: Path, work: Path, *, record_files: bool, exclude: Sequence[str | Path] = ()):
        self.project_dir = project_dir
        self.work = work
        self.record_files = record_files
        self.exclude = [str(p) for p in exclude]
        self.output = ""
        self.report: HookReport = {}

    def __call__(self, cmd: Sequence[str], cwd: str | None = None,
                 extra_environ: Mapping[str, str] | None = None) -> None:
        python, *script_args = cmd
        request_path = self.work / "request.json"
        report_path = self.work / "report.json"
        request = {
            "project_dir": str(self.project_dir),
            "record_files": self.record_files,
            "exclude": [*self.exclude, str(self.work)],
            "report_path": str(report_path),
        }
        request_path.write_text(json.dumps(request), encoding="utf-8")
        # -I: neither our folder nor the user site leak in; -B: no .pyc written into the tree;
        # -u: stdout and stderr interleave in order, so the output tail ends with the traceback.
        proc = subprocess.run(
            [python, "-I", "-B", "-u", str(BOOTSTRAP), str(request_path), *script_args],
            cwd=cwd, env=hook_environ(python, extra_environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )
        self.output = proc.stdout or ""
        try:
            self.report = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.report = {}  # the process died before it could say anything
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, list(cmd), output=self.output)


def hook_environ(python: str, extra_environ: Mapping[str, str] | None) -> dict[str, str]:
    """Our environment plus pyproject_hooks' variables, with the build env's scripts first on PATH."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(extra_environ or {})
    # A hook that runs `python` or a tool its requires installed must find the build env's (pypa/build does this).
    scripts = os.path.dirname(python)
    env["PATH"] = os.pathsep.join(filter(None, [scripts, os.environ.get("PATH")]))
    return env
