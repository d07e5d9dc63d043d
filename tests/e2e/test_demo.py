"""README's first command runs examples/demo.py: it must keep working end to end, and meet a new user well.

`--help` explains and runs nothing, a Python without uv gets a clear message instead of a traceback,
and `--bench` names the interpreter its timings are for (the demo's target).
"""

import os
import re
import subprocess
import sys

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
DEMO = REPO / "examples" / "demo.py"


def run_demo(*args: str, python: str = sys.executable, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # as from a fresh shell
    return subprocess.run([python, str(DEMO), *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_bundled_demo_syncs_the_delta_and_matches_a_fresh_install():
    proc = run_demo("--bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # The sync shows exactly the delta the demo's edits cause, then a no-op.
    for line in ("+ metrics-lite==0.5", "~ orm-lite 1.4 -> 1.5", "~ db-driver-lite 2.1 -> 2.2", "- yaml-lite==6.0"):
        assert line in out
    assert "sync: 9 changed, 34 unchanged" in out
    assert "nothing to do" in out
    assert "synced env equals the fresh install: yes; dependency check clean: yes" in out
    # --bench times the demo's target interpreter, and says so.
    target = re.search(r"^\$ incrinstall baseline .* --python (\S+)", out, re.MULTILINE).group(1)
    assert f"\npython: {target}\n" in out, out[-2000:]


def test_help_prints_help_and_runs_nothing():
    proc = run_demo("--help", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: examples/demo.py") and "--bench" in proc.stdout
    assert "$ incrinstall" not in proc.stdout and "index:" not in proc.stdout


def test_a_python_without_uv_gets_a_clear_message(tmp_path):
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    proc = run_demo(python=str(tmp_path / "bare" / "bin" / "python"), timeout=30)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "has no uv" in proc.stderr and "pip install -e ." in proc.stderr, proc.stderr
