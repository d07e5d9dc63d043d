"""One test world: a loopback index, a target venv and a project tree, driven through the real CLI.

`main/` is the tree a baseline is made from, `work/` the branch a sync reads. Each test file fills
the index with its own packages and writes its own pyproject.toml (`write_project` takes a template),
then calls `world.baseline(deps)`, `world.sync(deps)`, `world.plan()` and reads `world.state()`.

Beyond that, for the suites that look closer:
- `world.run(command, ...)`: any command with this world's --python and indexes (and `env`, added to
  every run: a wrapper uv, TMPDIR, UV_LINK_MODE);
- `world.start(...)`, `world.kill_when(...)`, `world.kill_at(...)`: the CLI in its own session, to be
  killed once something shows (a stand-in uv's mark, tests/support/stand_in_uv.py) or at a chosen file
  operation (`pause`, tests/support/pause_driver.py);
- the records the CLI leaves: `state()` (pylock.toml), `state_json()`, `locked()`, `managed()`,
  `state_files()`, `journal()`;
- `world.tarball()`: a .tar.gz of a tree, what `baseline ARCHIVE` reads.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import tarfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import tomlkit

from tests.support.cli import Arg, run_cli, start_cli
from tests.support.index_server import LoopbackIndex
from tests.support.processes import kill_group, wait_for
from tests.support.venvs import site_packages

# A [project] with dependencies and nothing to build: what most tests need.
PLAIN_PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"
dependencies = {deps}
"""

# The same project, buildable by hatchling from a `myproj/` package (for --editable).
HATCH_PYPROJECT = PLAIN_PYPROJECT + """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["myproj"]
"""


def write_project(root: Path, deps: list[str], *, template: str = PLAIN_PYPROJECT, package: str | None = None) -> Path:
    """pyproject.toml from `template` (its `{deps}` filled in as a TOML list); `package`: an empty package too."""
    root.mkdir(parents=True, exist_ok=True)
    if package is not None:
        (root / package).mkdir(exist_ok=True)
        (root / package / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(template.format(deps=json.dumps(deps)))
    return root


def make_tarball(tree: Path, path: Path, top: str) -> Path:
    """`tree` as a .tar.gz at `path`, everything under one folder `top` (as GitHub's archives have it)."""
    with tarfile.open(path, "w:gz") as tf:
        tf.add(tree, arcname=top)
    return path


class World:
    """One project (`main` for the baseline, `work` for the branch), one venv, one or two indexes.

    `index_url` replaces the index's own URL on the command line (one with credentials in it);
    `env` is added to the environment of every run.
    """

    def __init__(self, tmp: Path, index: LoopbackIndex, python: Path, *, template: str = PLAIN_PYPROJECT,
                 package: str | None = None, extra_index: str | None = None, index_url: str | None = None,
                 env: dict[str, str] | None = None):
        self.tmp, self.index, self.python = tmp, index, python
        self.prefix = python.parent.parent
        self.template, self.package = template, package
        self.index_args = ["--index-url", index_url or index.url] + (
            ["--extra-index-url", extra_index] if extra_index else [])
        self.env = dict(env or {})
        self.main = tmp / "main"
        self.work = tmp / "work"
        self.pause_mark = tmp / "paused"  # what the pause driver writes when it stalls

    def on(self, python: Path) -> World:
        """This world (its trees, indexes and environment) on another venv."""
        other = copy.copy(self)
        other.python, other.prefix = python, python.parent.parent
        other.__dict__.pop("site", None)  # the cached site-packages is the other venv's
        return other

    @property
    def state_dir(self) -> Path:
        """Where incrinstall keeps its records of this venv."""
        return self.prefix / ".incrinstall"

    @cached_property
    def site(self) -> Path:
        """The venv's (first) site-packages folder."""
        return Path(site_packages(self.python)[0])

    # -- trees -------------------------------------------------------------------------------

    def project(self, root: Path, deps: list[str]) -> Path:
        return write_project(root, deps, template=self.template, package=self.package)

    def tarball(self, tree: Path | None = None, *, name: str = "main.tar.gz", top: str = "myproj-main") -> Path:
        """`tree` (default: main) as `tmp/name`, under one folder `top`."""
        return make_tarball(tree or self.main, self.tmp / name, top)

    def source(self, command: str) -> Path:
        """What `command` reads when no source is given: main for a baseline, work otherwise."""
        return self.main if command == "baseline" else self.work

    # -- the CLI -----------------------------------------------------------------------------

    def argv(self, command: str, *args: Arg) -> list[Arg]:
        """`command ARGS` with this world's --python and indexes."""
        return [command, *args, "--python", self.python, *self.index_args]

    def run(self, command: str, *args: Arg, ok: bool = True, env: dict[str, str] | None = None,
            cwd: Arg | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """The CLI with this world's --python and index; `ok` asserts exit 0 (with the output in the message)."""
        proc = run_cli(*self.argv(command, *args), env={**self.env, **(env or {})}, cwd=cwd, timeout=timeout)
        if ok:
            assert proc.returncode == 0, f"{command} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def baseline(self, source: list[str] | Arg | None = None, *args: Arg, ok: bool = True,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`baseline` of main with `source` as its dependencies (a list), of `source("baseline")` (None: main as
        it is), or of `source` (a folder, an archive, a URL)."""
        if isinstance(source, list):
            source = self.project(self.main, source)
        return self.run("baseline", self.source("baseline") if source is None else source, *args, ok=ok, env=env)

    def sync(self, deps: list[str] | None = None, *args: Arg, ok: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        if deps is not None:
            self.project(self.work, deps)
        return self.run("sync", self.work, *args, ok=ok, env=env)

    def plan(self, deps: list[str] | None = None, *args: Arg, ok: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        if deps is not None:
            self.project(self.work, deps)
        return self.run("plan", self.work, *args, ok=ok, env=env)

    def start(self, command: str, source: Arg | None = None, *args: Arg, env: dict[str, str] | None = None,
              log: str = "cli.log", pause: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        """The CLI in its own session, output to `tmp/log`; returns the process and the log.

        `pause` ("replace:RECORD:1:before"): run under the pause driver, which stalls at that file
        operation and then writes `pause_mark`.
        """
        env = {**self.env, **(env or {})}
        if pause is not None:
            self.pause_mark.unlink(missing_ok=True)
            env.update(PAUSE_AT=pause, PAUSE_MARK=str(self.pause_mark))
        out = self.tmp / log
        argv = self.argv(command, self.source(command) if source is None else source, *args)
        module = "incrinstall" if pause is None else "tests.support.pause_driver"
        return start_cli(*argv, log=out, env=env, module=module), out

    def kill_when(self, command: str, ready: Callable[[], object], what: str, source: Arg | None = None,
                  *args: Arg, env: dict[str, str] | None = None, pause: str | None = None,
                  inspect: Callable[[], None] | None = None) -> None:
        """Start `command`, wait until `ready()` (failing if it exits first), call `inspect()`, SIGKILL its group."""
        proc, log = self.start(command, source, *args, env=env, log="killed.log", pause=pause)
        try:
            wait_for(ready, proc, what, timeout=120, log=log)
            if inspect is not None:
                inspect()
            kill_group(proc)
        finally:
            if proc.poll() is None:
                kill_group(proc)

    def kill_at(self, command: str, point: str, source: Arg | None = None, *args: Arg,
                inspect: Callable[[], None] | None = None) -> None:
        """Run `command` until it stalls at the file operation `point` (a pause), `inspect()`, SIGKILL it."""
        self.kill_when(command, self.pause_mark.exists, f"the pause at {point}", source, *args, pause=point,
                       inspect=inspect)

    # -- what the CLI recorded ------------------------------------------------------------------

    def state(self) -> dict:
        """The state file (pylock.toml) as plain data."""
        return tomlkit.parse((self.state_dir / "pylock.toml").read_text()).unwrap()

    def state_json(self) -> dict:
        """The state's JSON copy (pylock.json), which the fast path reads."""
        return json.loads((self.state_dir / "pylock.json").read_text())

    def locked(self) -> dict[str, dict]:
        """name -> the state's entry for it, with or without a file (from pylock.json)."""
        data = self.state_json()
        return {p["name"]: p for p in [*data["packages"],
                                       *data["tool"]["incrinstall"].get("packages-without-file", [])]}

    def managed(self) -> list[str]:
        """The names the state says incrinstall manages, as recorded."""
        return self.state()["tool"]["incrinstall"]["managed"]

    def state_files(self) -> list[str]:
        """What the state folder holds, sorted (after a finished run: lock, pylock.json, pylock.toml, stamp.json)."""
        return sorted(os.listdir(self.state_dir))

    def journal(self) -> dict | None:
        """The journal of a sync under way (or killed), None without one (or an unreadable one)."""
        try:
            return json.loads((self.state_dir / "journal.json").read_text())
        except (OSError, ValueError):
            return None
