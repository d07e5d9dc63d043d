"""incrinstall against uv on a real Apache Airflow 3 workspace (issue #9), on the real index.

Not part of the test suite (it needs PyPI; a full run takes tens of minutes on 2 cores). Run from a
checkout with incrinstall installed:

    python benchmarks/bench_airflow3.py --work /tmp/af3 --build [--runs 3] [--json out.json]

`--build` lays out WORK/tree-3.3.2 with benchmarks/airflow3_tree.py (or pass --tree). The target is
Python 3.12 (`PYENV_VERSION=3.12.1 pyenv which python`, or --target-python). The index is PyPI
(or whatever uv and incrinstall are configured for); both sides share one uv cache, and every timed
command is run once untimed first (warm cache), then --runs times: the table shows the median and
[min-max]. Runs are few (default 3) because each one resolves ~800 packages.

Steps (pick with --steps, default all):
  a  the package set of a fresh resolution: `incrinstall plan --json` on an empty venv ("install"
     actions) against the pins of `uv export --frozen` (markers evaluated for the target), for five
     selections, with the names and versions that differ;
  b  time of a fresh ci-image resolution: `incrinstall plan --group ci-image` from an empty venv
     against `uv lock` (uv.lock removed first) + `uv export`, and against `uv pip compile` of
     incrinstall's own root requirements with the tree's members pinned (`-c`) to the tree's versions;
  c  the same plan from a venv holding an older release's dependencies (`uv pip install
     apache-airflow[all]==3.2.2 apache-airflow-devel-common[no-doc,docs,docs-gen]==0.1.0 plyvel`,
     the 3.2.2 counterpart of the ci-image group without the workspace-only packages) against
     `uv pip install --dry-run` of the same roots and constraints into a copy of that venv;
  d  a one-package change against the synced environment (`incrinstall sync --group ci-image`,
     then one provider's lower bound raised past what is installed): plan time and index requests;
  e  `incrinstall baseline TREE.tar.gz --group ci-image`, then `sync` to a tree with a changed
     provider dependency: packages changed, `uv pip check`, and whether every RECORD file exists.

incrinstall's plan, sync, baseline and specs run with --no-lock: these steps measure its resolution,
and the tree's uv.lock is only uv's reference (benchmarks/bench_lock.py measures a plan from the lock).

It writes only under --work (and --json); the checkout is not touched.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

SELECTIONS = {
    "default": ([], ["--no-default-groups"]),
    "extras fab,http,postgres": (["--extra", "fab", "--extra", "http", "--extra", "postgres"],
                                 ["--no-default-groups", "--extra", "fab", "--extra", "http", "--extra", "postgres"]),
    "group ci-image": (["--group", "ci-image"], ["--no-default-groups", "--group", "ci-image"]),
    "all-packages": (["--all-packages"], ["--no-default-groups", "--all-packages"]),
    "all-packages + group dev": (["--all-packages", "--group", "dev"],
                                 ["--no-default-groups", "--all-packages", "--group", "dev"]),
}
OLD_RELEASE = ["apache-airflow[all]==3.2.2", "apache-airflow-devel-common[no-doc,docs,docs-gen]==0.1.0",
               "plyvel>=1.5.1"]
# Step d/e's change: raise a provider's lower bound past what the resolution picked.
CHANGE_FILE = "providers/http/pyproject.toml"
CHANGE_PACKAGE = "aiohttp"

MARKER_ENV_CODE = r"""
import json, os, platform, sys
def fmt(info):
    v = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        v += info.releaselevel[0] + str(info.serial)
    return v
print(json.dumps({
    "implementation_name": sys.implementation.name,
    "implementation_version": fmt(sys.implementation.version),
    "os_name": os.name, "platform_machine": platform.machine(), "platform_release": platform.release(),
    "platform_system": platform.system(), "platform_version": platform.version(),
    "python_full_version": platform.python_version(), "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]), "sys_platform": sys.platform}))
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Runner:
    def __init__(self, incrinstall: list[str], uv: str, timeout: float, log: Path):
        self.incr, self.uv, self.timeout, self.log = incrinstall, uv, timeout, log
        self.failures: list[dict] = []

    def run(self, cmd: list[str], *, cwd=None, env=None, what: str = "", record_failure=True) -> dict:
        cmd = [str(c) for c in cmd]
        at = len(self.incr)
        if cmd[:at] == [str(c) for c in self.incr] and cmd[at:at + 1] in (["plan"], ["sync"], ["baseline"], ["specs"]):
            # These steps measure the resolution without a lock: the tree's uv.lock is uv's reference here.
            cmd.insert(at + 1, "--no-lock")
        started = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=self.timeout)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc = "timeout"
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = (exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")) + \
                f"\n[killed after {self.timeout:.0f} s]"
        seconds = time.perf_counter() - started
        line = shlex.join(cmd)
        with self.log.open("a") as fh:
            fh.write(f"\n$ {line}\n[exit {rc}, {seconds:.2f} s]\n--- stderr tail\n{err[-3000:]}\n")
        res = {"cmd": line, "rc": rc, "seconds": seconds, "stdout": out, "stderr": err}
        if rc != 0 and record_failure:
            self.failures.append({"what": what, "cmd": line, "rc": rc,
                                  "stderr_tail": "\n".join(err.strip().splitlines()[-15:])})
            print(f"  ! {what}: exit {rc}: {line}\n    " + "\n    ".join(err.strip().splitlines()[-6:]))
        return res

    def incrinstall(self, *args, **kw) -> dict:
        return self.run([*self.incr, *args], **kw)

    def uvrun(self, *args, **kw) -> dict:
        return self.run([self.uv, *args], **kw)

    def timed(self, make_cmd, runs: int, prepare=None, what="") -> dict:
        """Run once untimed (warm cache), then `runs` timed; prepare() before each."""
        samples, last = [], None
        for i in range(runs + 1):
            if prepare:
                prepare()
            cmds = make_cmd()
            total, ok = 0.0, True
            for cmd in cmds:
                last = self.run(cmd[0], cwd=cmd[1] if len(cmd) > 1 else None, what=what)
                total += last["seconds"]
                if last["rc"] != 0:
                    ok = False
                    break
            if not ok:
                return {"ok": False, "cmd": " && ".join(shlex.join(map(str, c[0])) for c in cmds),
                        "rc": last["rc"], "last": last}
            if i:
                samples.append(total)
        return {"ok": True, "median": statistics.median(samples), "min": min(samples), "max": max(samples),
                "runs": runs, "cmd": " && ".join(shlex.join(map(str, c[0])) for c in cmds), "last": last}


def fmt_t(t: dict) -> str:
    if not t.get("ok"):
        return f"FAILED (exit {t.get('rc')})"
    return f"{t['median']:.1f} s [{t['min']:.1f}-{t['max']:.1f}]"


def marker_env(python: str) -> dict:
    return json.loads(subprocess.run([python, "-c", MARKER_ENV_CODE], capture_output=True, text=True,
                                     check=True).stdout)


def export_pins(text: str, env: dict) -> dict[str, str]:
    """name -> version of `uv export` lines whose markers hold for the target."""
    from packaging.markers import Marker

    pins = {}
    for raw in text.splitlines():
        if not raw or raw.startswith((" ", "#", "-", ".")):
            continue
        req, _, marker = raw.partition(";")
        m = re.match(r"\s*([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)", req)
        if not m:
            continue
        if marker.strip() and not Marker(marker.strip()).evaluate(env):
            continue
        pins[canonical(m.group(1))] = m.group(2)
    return pins


def plan_installs(stdout: str) -> tuple[dict[str, str], dict]:
    data = json.loads(stdout)
    return {canonical(a["name"]): a["to"] for a in data["actions"] if a["action"] == "install"}, data


def diff_sets(ours: dict[str, str], theirs: dict[str, str]) -> dict:
    only_ours = sorted(f"{n}=={ours[n]}" for n in ours.keys() - theirs.keys())
    only_theirs = sorted(f"{n}=={theirs[n]}" for n in theirs.keys() - ours.keys())
    versions = sorted(f"{n}: incrinstall {ours[n]} / uv {theirs[n]}" for n in ours.keys() & theirs.keys()
                      if ours[n] != theirs[n])
    return {"only_incrinstall": only_ours, "only_uv": only_theirs, "version_differs": versions}


def tree_members(tree: Path) -> dict[str, str]:
    """canonical name -> version ("" when dynamic and not found) of every workspace member."""
    import tomllib

    root = tomllib.loads((tree / "pyproject.toml").read_text())
    out = {}
    for member in root["tool"]["uv"]["workspace"]["members"]:
        file = tree / member / "pyproject.toml"
        if not file.exists():
            continue
        project = tomllib.loads(file.read_text()).get("project", {})
        version = project.get("version", "")
        if not version and (tree / member / "PKG-INFO").exists():
            m = re.search(r"^Version: (\S+)", (tree / member / "PKG-INFO").read_text(), re.M)
            version = m.group(1) if m else ""
        out[canonical(project["name"])] = version
    return out


def new_venv(r: Runner, path: Path, python: str) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    r.uvrun("venv", "--quiet", "--python", python, path, what="uv venv")
    return path / "bin" / "python"


def installed(r: Runner, python: Path) -> dict[str, str]:
    out = r.uvrun("pip", "list", "--python", python, "--format", "json", what="uv pip list")["stdout"]
    return {canonical(d["name"]): d["version"] for d in json.loads(out or "[]")}


def record_check(python: Path) -> dict:
    """Every file named in every RECORD of the venv's site-packages exists."""
    site = next(python.parent.parent.glob("lib/python*/site-packages"))
    missing, dists = [], 0
    for record in site.glob("*.dist-info/RECORD"):
        dists += 1
        with record.open(newline="") as fh:
            for row in csv.reader(fh):
                if not row or not row[0]:
                    continue
                path = (site / row[0]).resolve() if not os.path.isabs(row[0]) else Path(row[0])
                if not path.exists() and not row[0].endswith(".pyc"):
                    missing.append(f"{record.parent.name}: {row[0]}")
    return {"dists": dists, "missing": len(missing), "missing_sample": missing[:10]}


def change_tree(src: Path, dest: Path, pins: dict[str, str]) -> str:
    """Copy SRC to DEST and raise CHANGE_PACKAGE's lower bound in CHANGE_FILE past the pinned version."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("uv.lock", ".venv"))
    file = dest / CHANGE_FILE
    text = file.read_text()
    have = pins.get(CHANGE_PACKAGE)
    m = re.search(rf'"{CHANGE_PACKAGE}([^"]*)"', text)
    if not m:
        raise SystemExit(f"{CHANGE_FILE} has no {CHANGE_PACKAGE} requirement")
    # A version newer than the installed one is unknown without asking the index; ask for > installed.
    new = f'"{CHANGE_PACKAGE}>{have}"' if have else f'"{CHANGE_PACKAGE}>=99"'
    file.write_text(text.replace(m.group(0), new, 1))
    return f'{CHANGE_FILE}: {m.group(0)} -> {new}'


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--tree", type=Path, help="an Airflow 3 tree (default WORK/tree-3.3.2)")
    ap.add_argument("--build", action="store_true", help="(re)build the tree with airflow3_tree.py first")
    ap.add_argument("--target-python", help="default: PYENV_VERSION=3.12.1 pyenv which python")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per command (default 600)")
    ap.add_argument("--steps", default="abcde")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--incrinstall-python", default=sys.executable,
                    help="the interpreter that runs `-m incrinstall` (default: this one)")
    ap.add_argument("--uv", help="uv binary (default: incrinstall's bundled uv)")
    args = ap.parse_args(argv)

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    tree = (args.tree or work / "tree-3.3.2").resolve()
    if args.build or not tree.exists():
        subprocess.run([sys.executable, str(HERE / "airflow3_tree.py"), "--out", str(tree),
                        "--sdists", str(work / "sdists")], check=True)
    target = args.target_python or subprocess.run(
        ["pyenv", "which", "python"], env={**os.environ, "PYENV_VERSION": "3.12.1"},
        capture_output=True, text=True, check=True).stdout.strip()
    if args.uv:
        uv = args.uv
    else:
        from incrinstall.common.uv import uv_binary
        uv = str(uv_binary())
    log = work / "bench_airflow3.log"
    log.write_text("")
    r = Runner([args.incrinstall_python, "-m", "incrinstall"], uv, args.timeout, log)
    env = marker_env(target)
    members = tree_members(tree)
    version = r.incrinstall("--version", what="version")["stdout"].strip()
    uv_version = r.uvrun("--version", what="uv version")["stdout"].strip()
    results: dict = {"tree": str(tree), "target_python": target, "incrinstall": version, "uv": uv_version,
                     "runs": args.runs, "timeout": args.timeout, "steps": {}}
    rows: list[tuple[str, str, str, str]] = []  # step, what, incrinstall, uv
    print(f"tree {tree}\ntarget {target} ({env['python_full_version']})\n{version}, {uv_version}\n")

    # The lock every uv export reads (uv resolves it once; step b times it again from scratch).
    if not (tree / "uv.lock").exists():
        r.uvrun("lock", "--directory", tree, what="uv lock (setup)")
    empty = new_venv(r, work / "empty-venv", target)

    def specs_roots(sel: list[str]) -> tuple[list[str], dict]:
        res = r.incrinstall("specs", tree, "--json", "--python", target, *sel, what="incrinstall specs")
        if res["rc"] != 0:
            return [], res
        return [x["requirement"] for x in json.loads(res["stdout"])["requirements"]], res

    # ---- a: package sets
    if "a" in args.steps:
        print("== a: the package set of a fresh resolution")
        step = results["steps"]["a"] = {}
        for label, (ours, theirs) in SELECTIONS.items():
            roots, sres = specs_roots(ours)
            pres = r.incrinstall("plan", tree, "--json", "--python", empty, *ours, what=f"plan {label}")
            xres = r.uvrun("export", "--frozen", "--no-hashes", "--directory", tree, *theirs, what=f"uv export {label}")
            entry = {"specs_cmd": sres["cmd"], "plan_cmd": pres["cmd"], "export_cmd": xres["cmd"],
                     "roots": len(roots), "plan_rc": pres["rc"], "plan_seconds": pres["seconds"]}
            uv_pins = export_pins(xres["stdout"], env) if xres["rc"] == 0 else {}
            uv_pins = {n: v for n, v in uv_pins.items() if n not in members}
            entry["uv_packages"] = len(uv_pins)
            if pres["rc"] == 0:
                ours_set, _ = plan_installs(pres["stdout"])
                entry["incrinstall_packages"] = len(ours_set)
                entry["diff"] = diff_sets(ours_set, uv_pins)
                d = entry["diff"]
                summary = (f"{len(ours_set)} vs {len(uv_pins)}; only incrinstall {len(d['only_incrinstall'])}, "
                           f"only uv {len(d['only_uv'])}, versions differ {len(d['version_differs'])}")
            else:
                summary = f"incrinstall plan FAILED (exit {pres['rc']})"
            print(f"  {label}: {len(roots)} roots; packages {summary}")
            step[label] = entry
            rows.append(("a", f"{label}: roots / packages / differences",
                         f"{len(roots)} roots, {entry.get('incrinstall_packages', 'FAILED')} packages",
                         f"{len(uv_pins)} packages; " + (summary.split('; ', 1)[1] if pres["rc"] == 0 else "")))

    # Root requirements and tree-member constraints that uv gets for steps b and c.
    roots, _ = specs_roots(["--group", "ci-image"])
    (work / "ci-image.in").write_text("".join(f"{x}\n" for x in roots))
    stubs = {n for n, v in members.items() if v == "0.0.0"}
    (work / "tree-members.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(members.items())
                                                   if v and n not in stubs))

    # ---- b: fresh ci-image resolution time
    if "b" in args.steps:
        print("== b: fresh resolution of --group ci-image")
        step = results["steps"]["b"] = {}
        ours = r.timed(lambda: [(r.incr + ["plan", str(tree), "--group", "ci-image", "--json", "--python", str(empty)],)],
                       args.runs, what="plan ci-image (empty venv)")
        locktree = work / "tree-uvlock"

        def fresh_copy():
            shutil.rmtree(locktree, ignore_errors=True)
            shutil.copytree(tree, locktree, ignore=shutil.ignore_patterns("uv.lock"))

        lock = r.timed(lambda: [([uv, "lock", "--directory", str(locktree)],),
                                ([uv, "export", "--frozen", "--no-hashes", "--no-default-groups", "--group", "ci-image",
                                  "--directory", str(locktree)],)], args.runs, prepare=fresh_copy,
                       what="uv lock + export")
        compile_ = r.timed(lambda: [([uv, "pip", "compile", str(work / "ci-image.in"), "-c", str(work / "tree-members.txt"),
                                      "--python", target, "--no-header", "--quiet", "-o", str(work / "ci-image.txt")], work)],
                           args.runs, prepare=lambda: (work / "ci-image.txt").unlink(missing_ok=True),
                           what="uv pip compile")
        for k, v in (("incrinstall_plan", ours), ("uv_lock_export", lock), ("uv_pip_compile", compile_)):
            v.pop("last", None)
            step[k] = v
        ratio_lock = ours["median"] / lock["median"] if ours["ok"] and lock["ok"] else None
        ratio_comp = ours["median"] / compile_["median"] if ours["ok"] and compile_["ok"] else None
        step["ratio_vs_lock"], step["ratio_vs_compile"] = ratio_lock, ratio_comp
        rows.append(("b", "fresh ci-image resolution vs uv lock + export (universal)", fmt_t(ours),
                     fmt_t(lock) + (f"; ratio {ratio_lock:.2f}x" if ratio_lock else "")))
        rows.append(("b", "fresh ci-image resolution vs uv pip compile of incrinstall's roots (target ≤ 1.5x)",
                     fmt_t(ours), fmt_t(compile_) + (f"; ratio {ratio_comp:.2f}x" if ratio_comp else "")))
        print(f"  incrinstall {fmt_t(ours)}; uv lock+export {fmt_t(lock)}; uv pip compile {fmt_t(compile_)}")

    synced = work / "synced-venv"
    # ---- d: one-package change against the synced environment
    if "d" in args.steps:
        print("== d: one-package change against the synced ci-image environment")
        step = results["steps"]["d"] = {}
        py = new_venv(r, synced, target)
        s = r.incrinstall("sync", tree, "--group", "ci-image", "--python", py, "--json", what="sync ci-image")
        step["sync_cmd"], step["sync_rc"], step["sync_seconds"] = s["cmd"], s["rc"], s["seconds"]
        rows.append(("d", "initial sync --group ci-image into an empty venv", f"{s['seconds']:.1f} s (exit {s['rc']})", ""))
        if s["rc"] == 0:
            pins = installed(r, py)
            step["installed"] = len(pins)
            changed = work / "tree-changed"
            step["change"] = change_tree(tree, changed, pins)
            nochange = r.timed(lambda: [(r.incr + ["plan", str(tree), "--group", "ci-image", "--json", "--python", str(py)],)],
                               args.runs, what="plan no change")
            one = r.timed(lambda: [(r.incr + ["plan", str(changed), "--group", "ci-image", "--json", "--python", str(py)],)],
                          args.runs, what="plan one change")
            for k, v in (("plan_unchanged", nochange), ("plan_one_change", one)):
                if v["ok"]:
                    data = json.loads(v["last"]["stdout"])
                    v["index_requests"] = data.get("index_requests")
                    v["actions"] = [f"{a['action']} {a['name']} {a.get('from')} -> {a.get('to')}"
                                    for a in data["actions"] if a["action"] != "keep"]
                v.pop("last", None)
                step[k] = v
            rows.append(("d", "plan, tree unchanged", fmt_t(nochange) + f", {nochange.get('index_requests')} index requests", ""))
            rows.append(("d", f"plan, one change ({step['change']}) (target < 1 s)",
                         fmt_t(one) + f", {one.get('index_requests')} index requests; " + "; ".join(one.get("actions", [])), ""))
            print(f"  unchanged {fmt_t(nochange)}; one change {fmt_t(one)}, requests {one.get('index_requests')}, "
                  f"actions {one.get('actions')}")

    # ---- e: baseline from a tarball, then sync to a changed tree
    if "e" in args.steps:
        print("== e: baseline from a tarball, sync to a changed tree")
        step = results["steps"]["e"] = {}
        archive = work / "tree-3.3.2.tar.gz"
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(tree, arcname="apache-airflow-3.3.2", filter=lambda ti: None if ti.name.endswith("uv.lock") else ti)
        py = new_venv(r, work / "baseline-venv", target)
        b = r.incrinstall("baseline", archive, "--group", "ci-image", "--python", py, "--json", what="baseline tarball")
        step.update(baseline_cmd=b["cmd"], baseline_rc=b["rc"], baseline_seconds=b["seconds"])
        rows.append(("e", "baseline TREE.tar.gz --group ci-image", f"{b['seconds']:.1f} s (exit {b['rc']})", ""))
        if b["rc"] == 0:
            before = installed(r, py)
            changed = work / "tree-changed-e"
            step["change"] = change_tree(tree, changed, before)
            sres = r.incrinstall("sync", changed, "--group", "ci-image", "--python", py, "--json", what="sync changed")
            after = installed(r, py)
            step.update(sync_cmd=sres["cmd"], sync_rc=sres["rc"], sync_seconds=sres["seconds"])
            step["changed_packages"] = sorted(
                f"{n}: {before.get(n)} -> {after.get(n)}" for n in before.keys() | after.keys() if before.get(n) != after.get(n))
            check = r.uvrun("pip", "check", "--python", py, what="uv pip check", record_failure=False)
            step["uv_pip_check"] = {"rc": check["rc"], "output": (check["stdout"] + check["stderr"]).strip()[-2000:]}
            step["record"] = record_check(py)
            rows.append(("e", f"sync to changed tree ({step['change']})",
                         f"{sres['seconds']:.1f} s (exit {sres['rc']}); changed: {', '.join(step['changed_packages']) or 'none'}",
                         ""))
            rows.append(("e", "after sync: uv pip check / RECORD files",
                         f"uv pip check exit {check['rc']}; {step['record']['dists']} dists, "
                         f"{step['record']['missing']} RECORD files missing", ""))
            print(f"  changed {step['changed_packages']}; uv pip check {check['rc']}; record {step['record']}")

    # ---- c: from an older release's environment
    if "c" in args.steps:
        print("== c: plan from an environment holding Airflow 3.2.2's dependencies")
        step = results["steps"]["c"] = {"old_release": OLD_RELEASE}
        oldvenv = work / "old-venv"
        py = new_venv(r, oldvenv, target)
        inst = r.uvrun("pip", "install", "--python", py, *OLD_RELEASE, what="install 3.2.2 set")
        step.update(install_cmd=inst["cmd"], install_rc=inst["rc"])
        if inst["rc"] == 0:
            step["old_installed"] = len(installed(r, py))
            copy = work / "old-venv-copy"

            def copy_venv():
                shutil.rmtree(copy, ignore_errors=True)
                r.run(["cp", "-a", oldvenv, copy], what="copy venv")

            copy_venv()
            ours = r.timed(lambda: [(r.incr + ["plan", str(tree), "--group", "ci-image", "--json", "--python", str(py)],)],
                           args.runs, what="plan from 3.2.2 set")
            # the copy's pyvenv.cfg and scripts still name old-venv; --python names the copy's interpreter
            theirs = r.timed(lambda: [([uv, "pip", "install", "--dry-run", "--python", str(copy / "bin" / "python"),
                                        "-r", str(work / "ci-image.in"), "-c", str(work / "tree-members.txt")], work)],
                             args.runs, what="uv pip install --dry-run")
            if ours["ok"]:
                data = json.loads(ours["last"]["stdout"])
                from collections import Counter
                step["incrinstall_actions"] = dict(Counter(a["action"] for a in data["actions"]))
                step["index_requests"] = data.get("index_requests")
            if theirs["ok"]:
                tail = theirs["last"]["stderr"].strip().splitlines()
                step["uv_summary"] = [ln for ln in tail if ln.startswith(("Would", "Resolved"))]
            for k, v in (("incrinstall_plan", ours), ("uv_dry_run", theirs)):
                v.pop("last", None)
                step[k] = v
            ratio = ours["median"] / theirs["median"] if ours["ok"] and theirs["ok"] else None
            step["ratio"] = ratio
            rows.append(("c", f"plan from a venv with {' '.join(OLD_RELEASE)} (target ≤ 2x)",
                         fmt_t(ours) + f" {step.get('incrinstall_actions', '')}",
                         fmt_t(theirs) + (f"; ratio {ratio:.2f}x" if ratio else "") + f" {step.get('uv_summary', '')}"))
            print(f"  incrinstall {fmt_t(ours)}; uv dry-run {fmt_t(theirs)}")

    results["failures"] = r.failures
    used = []
    for name, step in results["steps"].items():
        def walk(obj, label, step_name=name):
            if isinstance(obj, dict):
                for k, v in obj.items():
                    if k == "cmd" or k.endswith("_cmd"):
                        used.append((step_name, f"{label} {k}".strip(), v))
                    else:
                        walk(v, f"{label} {k}".strip() if isinstance(v, dict) else label)
        walk(step, "")
    results["commands"] = used
    print("\n| step | what | incrinstall | uv |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(x.replace("|", "/") for x in row) + " |")
    print(f"\nmedian [min-max] of {args.runs} runs after one warm-up run each; one uv cache for both sides; "
          f"index: {os.environ.get('UV_INDEX_URL', 'PyPI')}; full command lines in {log} and the JSON.")
    print("\n| step | command |\n|---|---|")
    for name, label, cmd in used:
        print(f"| {name} {label} | `{cmd.replace('|', '/')}` |")
    if r.failures:
        print("\nfailures:")
        for f in r.failures:
            print(f"- {f['what']}: exit {f['rc']}: {f['cmd']}\n  " + f["stderr_tail"].replace("\n", "\n  "))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
