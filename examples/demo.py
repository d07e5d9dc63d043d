"""Run incrinstall's main job on a bundled example, with nothing beyond this machine.

1. Build ~60 small wheels and serve them from a package index on 127.0.0.1.
2. Pack examples/demo-project as a "main-branch archive" and `incrinstall baseline` it.
3. Edit the specs as a branch would (bump, add, remove, a provider.yaml change).
4. `incrinstall plan` explains the delta; `incrinstall sync` applies it.
5. For comparison, a full install of the new specs with uv into a fresh venv (same warm cache).

Usage:  python examples/demo.py [--keep] [--bench]
        (run it with the Python incrinstall is installed in: it needs incrinstall's dependencies, uv among them)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETUP = "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python examples/demo.py"

# name -> {version: [requirements]}; a small but realistic graph with shared deep dependencies.
WEB_EXT = [f"web-ext-{i}" for i in range(12)]
UNIVERSE: dict[str, dict[str, list[str]]] = {
    "webkit-lite": {"2.0": ["http-core>=1", "template-lite", "router-lite", *WEB_EXT],
                    "2.1": ["http-core>=1.1", "template-lite", "router-lite", *WEB_EXT]},
    "http-core": {"1.0": ["idna-lite", "certs-lite"], "1.1": ["idna-lite", "certs-lite"]},
    "template-lite": {"3.1": ["markup-safe-lite"]},
    "router-lite": {"0.9": ["regex-lite"]},
    "orm-lite": {"1.4": ["sql-core>=2", "pool-lite"], "1.5": ["sql-core>=2", "pool-lite", "typing-ext-lite"]},
    "sql-core": {"2.0": [], "2.1": []},
    "pool-lite": {"1.0": []},
    "typing-ext-lite": {"4.0": []},
    "cli-kit": {"3.0": ["color-lite", "args-lite"]},
    "yaml-lite": {"6.0": ["scanner-lite"]},
    "scanner-lite": {"1.0": []},
    "test-runner": {"7.0": ["plugin-base", "assert-lite", "iniconfig-lite"]},
    "coverage-lite": {"7.2": []},
    "cloud-sdk-lite": {"1.0": ["http-core>=1", "auth-lite", "retry-lite", "json-fast"]},
    "db-driver-lite": {"2.1": ["sql-core>=2"], "2.2": ["sql-core>=2.1", "wire-proto-lite"]},
    "metrics-lite": {"0.5": ["exporter-lite", "histogram-lite", "http-core>=1"]},
}
for _leaf in (*WEB_EXT, "idna-lite", "certs-lite", "markup-safe-lite", "regex-lite", "color-lite", "args-lite",
              "plugin-base", "assert-lite", "iniconfig-lite", "auth-lite", "retry-lite", "json-fast",
              "wire-proto-lite", "exporter-lite", "histogram-lite"):
    UNIVERSE.setdefault(_leaf, {"1.0": []})


def incrinstall(*args: str, check: bool = True, show: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "incrinstall", *args]
    print(f"\n$ incrinstall {' '.join(args)}", flush=True)
    proc = subprocess.run(cmd, text=True, capture_output=True)
    if show:
        sys.stdout.write(proc.stdout)
    sys.stdout.write("".join(f"  | {line}\n" for line in proc.stderr.splitlines()))
    if check and proc.returncode != 0:
        raise SystemExit(f"incrinstall exited {proc.returncode}")
    return proc


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))
    print(f"  edit {path.name}: {old.strip()!r} -> {new.strip()!r}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    summary, _, steps = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(prog="examples/demo.py", description=summary,
                                     epilog=steps.split("\nUsage:")[0].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (a temporary one) and say where")
    parser.add_argument("--bench", action="store_true",
                        help="also run `incrinstall bench` on the example, the branch's pyproject.toml as the change")
    return parser.parse_args(argv)


def missing_dependency() -> str | None:
    """The first module (or program) the demo needs that this Python lacks; None when all are there."""
    sys.path.insert(0, str(REPO))  # for tests.support (wheel builder and loopback index) and incrinstall
    for module in ("uv", "incrinstall.cli", "tests.support.index_server", "tests.support.venvs"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return exc.name or module
    from uv import find_uv_bin

    try:
        find_uv_bin()
    except FileNotFoundError:
        return "uv (the package is there, its binary is not)"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_dependency()
    if missing is not None:
        print(f"examples/demo.py needs incrinstall's dependencies in the Python that runs it, and {sys.executable} "
              f"has no {missing}.\nFrom the repository folder:\n  {SETUP}", file=sys.stderr)
        return 2
    from tests.support.index_server import LoopbackIndex
    from tests.support.venvs import installed, make_venv, pip_check, run_uv

    keep = args.keep
    work = Path(tempfile.mkdtemp(prefix="incrinstall-demo-"))
    os.environ["UV_CACHE_DIR"] = str(work / "uv-cache")
    os.environ["INCRINSTALL_CACHE_DIR"] = str(work / "incrinstall-cache")
    os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
    index = LoopbackIndex(work / "dists")
    index.start()
    try:
        for name, versions in UNIVERSE.items():
            for version, requires in versions.items():
                index.add_wheel(name, version, requires_dist=requires)
        print(f"index: {sum(len(v) for v in UNIVERSE.values())} wheels served at {index.url}")

        # The "main-branch archive", as GitHub would serve it: one top-level folder.
        archive = work / "demo-app-main.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(REPO / "examples" / "demo-project", arcname="demo-app-main")
        env = make_venv(work / "env")
        common = ["--python", str(env), "--index-url", index.url]

        incrinstall("baseline", str(archive), "--extra", "devel", *common)

        # A branch edits its spec files.
        print("\nthe branch changes its specs:")
        checkout = work / "checkout"
        shutil.copytree(REPO / "examples" / "demo-project", checkout)
        edit(checkout / "pyproject.toml", '"orm-lite>=1.4,<1.5"', '"orm-lite>=1.5"')
        edit(checkout / "pyproject.toml", '    "yaml-lite",\n', '    "metrics-lite",\n')
        edit(checkout / "providers" / "db" / "provider.yaml", "db-driver-lite>=2.1,<2.2", "db-driver-lite>=2.2")

        incrinstall("plan", str(checkout), "--extra", "devel", *common)
        index.reset_log()
        started = time.perf_counter()
        proc = incrinstall("sync", str(checkout), "--extra", "devel", *common)
        sync_seconds = time.perf_counter() - started
        noop_started = time.perf_counter()
        incrinstall("sync", str(checkout), "--extra", "devel", *common)
        noop_seconds = time.perf_counter() - noop_started

        # The same new specs, installed from scratch by uv into a fresh venv (same warm cache).
        specs = json.loads(incrinstall("specs", str(checkout), "--extra", "devel", "--json",
                                       "--python", str(env), show=False).stdout)
        requirements = [r["requirement"] for r in specs["requirements"]]
        fresh = make_venv(work / "fresh")
        started = time.perf_counter()
        run_uv(["pip", "install", "--python", str(fresh), "--index-url", index.url, *requirements])
        full_seconds = time.perf_counter() - started

        if args.bench:
            # The same target interpreter as the demo's environment: bench times its runs on it and says so.
            incrinstall("bench", str(REPO / "examples" / "demo-project"), "--change",
                        str(checkout / "pyproject.toml"), "--extra", "devel", "--runs", "3",
                        "--python", str(env), "--index-url", index.url)

        same = installed(env) == installed(fresh)
        ok, _ = pip_check(env)
        print("\nresult")
        print(f"  incrinstall sync (the delta):       {sync_seconds:6.2f} s wall")
        print(f"  incrinstall sync again (no-op):     {noop_seconds:6.2f} s wall")
        print(f"  full install with uv, fresh venv:   {full_seconds:6.2f} s wall")
        print(f"  synced env equals the fresh install: {'yes' if same else 'NO'}; dependency check clean: "
              f"{'yes' if ok else 'NO'}")
        return 0 if same and ok and proc.returncode == 0 else 1
    finally:
        index.stop()
        if keep:
            print(f"\nwork files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
