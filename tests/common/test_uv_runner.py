"""common/uv.py: a failed uv call is a UvError carrying all that uv printed; stages take a UvRunner, the real one by default."""

from __future__ import annotations

import subprocess

from incrinstall.cli import error_json, exit_code
from incrinstall.common.errors import InstallError, UvError
from incrinstall.common.uv import REAL_UV, RealUv, failure, run_uv

HEADLINE_OUTPUT = ("Resolved 4 packages in 6ms\n"
                   "error: Failed to download `gamma==1.0`\n  cause: Hash mismatch for `gamma==1.0`\n")


def test_a_uv_failure_with_a_package_headline_keeps_all_of_uvs_output_as_a_field():
    err = failure("installing with uv", 1, ["uv", "pip", "install"], HEADLINE_OUTPUT)
    assert isinstance(err, UvError) and isinstance(err, InstallError)  # the same exit code as before
    assert err.message == "installing with uv failed (exit 1): Failed to download `gamma==1.0`"
    assert err.output == HEADLINE_OUTPUT  # the whole output, not only the detail's lines
    assert (err.returncode, err.command) == (1, ["uv", "pip", "install"])
    assert "Resolved 4 packages" not in err.detail


def test_a_uv_error_reports_its_kind_and_fields_in_json_with_exit_code_2():
    said = "error: No solution found when resolving dependencies\n"
    report = error_json(failure("resolving with uv", 1, ["uv", "pip", "compile", "r.in"], said))
    assert report["kind"] == "UvError" and report["exit_code"] == 2
    assert report["output"] == said and report["returncode"] == 1


def test_run_uv_raises_a_uv_error_from_the_real_uv(tmp_path):
    missing = tmp_path / "no-such-requirements.in"
    try:
        run_uv(["pip", "compile", str(missing)], what="compiling")
    except UvError as exc:
        assert exc.returncode != 0 and str(missing) in exc.output
        assert exc.message.startswith("compiling failed (exit ")
    else:
        raise AssertionError("uv compiled a file that does not exist")


def test_the_real_runner_is_run_uv():
    assert isinstance(REAL_UV, RealUv)
    proc = REAL_UV.run(["--version"], what="asking uv its version")
    assert isinstance(proc, subprocess.CompletedProcess) and proc.stdout.startswith("uv ")
    assert exit_code(failure("x", 2, ["uv"], "")) == 2
