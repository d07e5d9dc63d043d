"""README's first command runs examples/demo.py: it must keep working end to end."""

import subprocess
import sys
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


def test_bundled_demo_syncs_the_delta_and_matches_a_fresh_install():
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "demo.py")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    # The sync shows exactly the delta the demo's edits cause, then a no-op.
    for line in ("+ metrics-lite==0.5", "~ orm-lite 1.4 -> 1.5", "~ db-driver-lite 2.1 -> 2.2", "- yaml-lite==6.0"):
        assert line in out
    assert "sync: 9 changed, 34 unchanged" in out
    assert "nothing to do" in out
    assert "synced env equals the fresh install: yes; dependency check clean: yes" in out
