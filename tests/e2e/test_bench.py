"""`incrinstall bench` and the benchmark suite's building blocks: arithmetic, tree mirroring, the synthetic generator.

Timings are never asserted; what is asserted is the arithmetic, what each tool did to its scratch
environment, and that the user's project is left untouched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from incrinstall import bench
from incrinstall.bench import BenchReport, Measurement, render_table
from incrinstall.benchkit import Stats, compare_to_expected, env_diff, ratio, reset_tree, speedup, summarize
from incrinstall.common.errors import SpecError
from incrinstall.common.config import IndexConfig
from incrinstall.specs.model import Selection
from tests.support import synthetic
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


# -- arithmetic ------------------------------------------------------------------------------


def test_summarize_reports_runs_median_min_and_max():
    assert summarize([0.5, 0.1, 0.3, 0.9, 0.2]) == Stats(runs=5, median=0.3, min=0.1, max=0.9)


def test_ratio_is_ours_over_theirs_and_speedup_its_inverse():
    ours, theirs = Stats(5, 0.05, 0.04, 0.06), Stats(5, 0.80, 0.7, 0.9)
    assert ratio(ours, theirs) == pytest.approx(0.0625)
    assert speedup(ours, theirs) == pytest.approx(16.0)
    assert ratio(0.3, 0.1) == pytest.approx(3.0)


def test_ratio_against_a_zero_time_is_undefined_not_a_crash():
    assert ratio(0.1, 0.0) is None
    assert speedup(0.0, 0.1) is None


def test_env_diff_separates_installed_removed_and_changed():
    before = {"a": "1.0", "b": "2.0", "c": "3.0"}
    after = {"a": "1.0", "b": "2.1", "d": "0.1"}
    assert env_diff(before, after) == (["d"], ["c"], ["b"])


def test_compare_to_expected_finds_orphans_missing_and_other_versions_and_ignores_tooling():
    actual = {"a": "1", "b": "2", "orphan": "1", "pip": "24"}
    expected = {"a": "1", "b": "3", "missing": "1"}
    assert compare_to_expected(actual, expected, ignore={"pip"}) == {
        "extraneous": ["orphan"], "missing": ["missing"], "wrong_version": ["b"]}


def test_render_table_shows_each_tool_and_incrinstalls_ratio_to_the_others():
    report = BenchReport(project_dir="/p", python="/py", runs=3, measurements=[
        Measurement("noop", "incrinstall", "incrinstall sync", Stats(3, 0.05, 0.04, 0.07), 0, 0, 0, True, 0),
        Measurement("noop", "uv-handmade", "uv pip install", Stats(3, 0.50, 0.45, 0.60), 0, 0, 0, True),
    ])
    table = render_table(report)
    assert "incrinstall" in table and "uv-handmade" in table
    assert "0.10" in table  # 0.05 / 0.50
    assert "50 ms" in table and "500 ms" in table
    assert report.ratios() == [("noop", "uv-handmade", pytest.approx(0.1))]
    assert report.to_json()["ratios"][0]["ratio"] == pytest.approx(0.1)


# -- restoring trees -------------------------------------------------------------------------


def _listing(root: Path) -> dict[str, tuple]:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder, name)
            st = p.lstat()
            content = p.read_bytes() if p.is_file() and not p.is_symlink() else None
            out[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_mode, content, os.readlink(p) if p.is_symlink() else None)
    return out


def test_reset_tree_makes_an_exact_copy_again_with_mtimes(tmp_path: Path):
    snap = tmp_path / "snap"
    (snap / "pkg-1.0.dist-info").mkdir(parents=True)
    (snap / "pkg-1.0.dist-info" / "METADATA").write_text("Name: pkg\n")
    (snap / "keep.txt").write_text("keep")
    (snap / "link").symlink_to("keep.txt")
    os.utime(snap / "pkg-1.0.dist-info", ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    work = tmp_path / "work"
    reset_tree(snap, work)
    assert _listing(work) == _listing(snap)

    # A tool installs, removes and rewrites things in the copy...
    (work / "new-2.0.dist-info").mkdir()
    (work / "new-2.0.dist-info" / "METADATA").write_text("Name: new\n")
    (work / "keep.txt").write_text("changed")
    import shutil
    shutil.rmtree(work / "pkg-1.0.dist-info")
    (work / "link").unlink()
    (work / "link").symlink_to("elsewhere")
    # ...and the next run starts from the snapshot again.
    reset_tree(snap, work)
    assert _listing(work) == _listing(snap)


# -- the synthetic generator the benchmarks use -------------------------------------------------


def test_synthetic_universe_is_deterministic_and_installs_exactly_n_packages():
    a = synthetic.make_universe(60, seed=7)
    b = synthetic.make_universe(60, seed=7)
    assert a.packages == b.packages and a.core == b.core
    assert len(synthetic.expected_set(a, "noop")) == 60
    assert synthetic.make_universe(60, seed=8).packages != a.packages


def test_synthetic_scenarios_change_exactly_what_they_say():
    u = synthetic.make_universe(80, seed=3)
    base = synthetic.expected_set(u, "noop")
    deltas = {}
    for scenario in synthetic.SCENARIOS:
        after = synthetic.expected_set(u, scenario)
        deltas[scenario] = env_diff(base, after)
    assert deltas["noop"] == ([], [], [])
    assert deltas["bump"] == ([], [], [u.bump_name])
    assert sorted(deltas["add"][0]) == sorted([u.add_name, *u.add_new]) and deltas["add"][1:] == ([], [])
    assert sorted(deltas["remove"][1]) == sorted([u.remove_name, *u.remove_orphans])
    assert deltas["provider"] == ([u.provider_new], [u.provider_old], [])
    assert sorted(deltas["hatch-deps"][0]) == sorted([u.plugin_new, u.plugin_new_dep])
    assert deltas["hatch-nodeps"] == ([], [], [])
    # Each scenario edits the files it names, and only those.
    assert synthetic.changed_files(u, "noop") == {}
    assert set(synthetic.changed_files(u, "bump")) == {"pyproject.toml"}
    assert set(synthetic.changed_files(u, "provider")) == {"providers/beta/provider.yaml"}
    assert set(synthetic.changed_files(u, "hatch-nodeps")) == {"hatch_build.py"}


# -- incrinstall bench on a real (tiny) project -------------------------------------------------


def _load_demo():
    spec = importlib.util.spec_from_file_location("incrinstall_demo", REPO / "examples" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_change_target_is_the_project_file_with_the_same_name(tmp_path: Path):
    project = tmp_path / "p"
    (project / "providers" / "a").mkdir(parents=True)
    (project / "providers" / "b").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "providers" / "a" / "provider.yaml").write_text("")
    (project / "providers" / "b" / "provider.yaml").write_text("")
    edited = tmp_path / "pyproject.toml"
    assert bench._change_target(project.resolve(), edited, None) == "pyproject.toml"
    with pytest.raises(SpecError, match="2 files named provider.yaml"):
        bench._change_target(project.resolve(), tmp_path / "provider.yaml", None)
    assert bench._change_target(project.resolve(), tmp_path / "x.yaml", "providers/b/provider.yaml") == \
        "providers/b/provider.yaml"


@pytest.mark.slow
def test_bench_times_noop_and_a_change_in_scratch_envs_and_leaves_the_project_alone(tmp_path, index, monkeypatch):
    demo = _load_demo()
    for name, versions in demo.UNIVERSE.items():
        for version, requires in versions.items():
            index.add_wheel(name, version, requires_dist=requires)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the scratch runs start `python -m incrinstall`
    project = REPO / "examples" / "demo-project"
    before = _tree_digest(project)
    edited = tmp_path / "pyproject.toml"
    text = (project / "pyproject.toml").read_text()
    edited.write_text(text.replace('"orm-lite>=1.4,<1.5"', '"orm-lite>=1.5"').replace('    "yaml-lite",\n', ""))
    lines: list[str] = []

    report = bench.run_bench(project, change_file=edited, runs=2, python=sys.executable,
                             index=IndexConfig(index_url=index.url), selection=Selection(extras=("devel",)),
                             report=lines.append, scratch_dir=tmp_path)

    assert _tree_digest(project) == before
    assert not any(p.name.startswith("incrinstall-bench-") for p in tmp_path.iterdir())  # scratch removed
    got = {(m.scenario, m.tool): m for m in report.measurements}
    assert set(got) == {(s, t) for s in ("noop", "change") for t in ("incrinstall", "uv-handmade", "uv-fresh")}
    assert all(m.stats.runs == 2 and m.stats.min <= m.stats.median <= m.stats.max for m in got.values())
    # No-op: nothing changes anywhere except the fresh venv, which gets everything.
    assert (got["noop", "incrinstall"].installed, got["noop", "incrinstall"].removed) == (0, 0)
    assert got["noop", "incrinstall"].index_requests == 0
    assert (got["noop", "uv-handmade"].installed, got["noop", "uv-handmade"].removed) == (0, 0)
    total = got["noop", "uv-fresh"].installed
    assert total > 20
    # The change: orm-lite upgraded (it brings typing-ext-lite), yaml-lite and its scanner-lite dropped.
    ours = got["change", "incrinstall"]
    assert (ours.installed, ours.removed, ours.changed, ours.check_ok) == (1, 2, 1, True)
    handmade = got["change", "uv-handmade"]
    assert (handmade.installed, handmade.removed, handmade.changed) == (1, 0, 1)  # leaves the orphans
    assert got["change", "uv-fresh"].installed == total - 1
    table = bench.render_table(report)
    assert "change" in table and "uv-fresh" in table
    assert any("run 2 of 2" in line for line in lines)
