"""What a new user reads first: `--help` names every command, every argument, and the same facts as README."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from incrinstall.cli import EXACT_KEEPS, build_parser
from incrinstall.resolve.kept import ALWAYS_KEEP
from tests.support.paths import REPO_ROOT


def help_text(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "400", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-m", "incrinstall", *args, "--help"], capture_output=True, text=True,
                          env=env, check=True)
    return proc.stdout


def _commands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return list(sub.choices)


def test_the_summary_lists_every_command():
    summary = help_text().split("positional arguments")[0]
    listed = re.findall(r"^  incrinstall (\w+)", summary, re.MULTILINE)
    assert sorted(listed) == sorted(_commands()), summary


@pytest.mark.parametrize("command", [c for c in _commands() if c != "baseline"])
def test_project_dir_is_explained(command):
    line = [line for line in help_text(command).splitlines() if line.strip().startswith("PROJECT_DIR")]
    assert line and "the project's folder" in line[0], line


def test_exact_keeps_what_readme_says():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- `--exact` also removes packages incrinstall did not install \((.*)\)\.$", readme,
                       re.MULTILINE)
    assert bullet is not None
    assert bullet.group(1) == EXACT_KEEPS
    for name in ALWAYS_KEEP:
        assert name in EXACT_KEEPS
    for command in ("sync", "baseline", "plan"):
        assert EXACT_KEEPS in " ".join(help_text(command).split()), command


def test_exclude_newer_mentions_durations():
    text = " ".join(help_text("sync").split())
    assert "--exclude-newer WHEN" in text
    assert re.search(r"duration back from now \(\"4 days\"", text), text
