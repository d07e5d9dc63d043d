"""What keying the backend's answer by folder names costs, on a real large tree: Apache Airflow 2.10's sdist.

The backend's answer (specs/backend_metadata.py) is keyed by the files the backend read, the names in
every folder it touched, and the VCS state when it ran git. This script
1. downloads apache_airflow-2.10.x's sdist from PyPI and unpacks it twice: as the sdist (with
   PKG-INFO) and as a git archive has it (without PKG-INFO);
2. runs `incrinstall specs` on each with one shared cache, and counts the requirements (the issue's
   case: with a shared key the second tree got the first tree's answer);
3. times computing the key on the warm cache (`_load_cached`: read the index, hash the files, list
   the folders), split into its parts, over many repetitions.

    python benchmarks/bench_backend_key.py [--version 2.10.0] [--repeat 50]

Needs the network (PyPI) the first time; scratch files go to benchmarks/work/backend-key/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work" / "backend-key"


def fetch(version: str) -> Path:
    target = WORK / f"apache_airflow-{version}.tar.gz"
    if not target.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        project_json = "https://pypi.org/pypi/apache-airflow/json"
        with urllib.request.urlopen(project_json, timeout=60) as answer:
            data = json.load(answer)
        [sdist] = [u for u in data["releases"][version] if u["packagetype"] == "sdist"]
        # (a mirror may answer with URLs relative to the JSON document)
        with urllib.request.urlopen(urllib.parse.urljoin(project_json, sdist["url"]), timeout=600) as answer, open(f"{target}.part", "wb") as out:
            shutil.copyfileobj(answer, out)
        os.replace(f"{target}.part", target)
    return target


def unpack(sdist: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(sdist) as tf:
        tf.extractall(into, filter="data")
    [top] = list(into.iterdir())
    return top


def specs(tree: Path, env: dict[str, str]) -> tuple[dict, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "incrinstall", "specs", str(tree), "--json"], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"specs failed on {tree}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default="2.10.0")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    sdist = fetch(args.version)
    with_pkg_info = unpack(sdist, WORK / "sdist")
    git_archive = unpack(sdist, WORK / "git-archive")
    (git_archive / "PKG-INFO").unlink()
    cache = WORK / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(PYTHONPATH=str(REPO), INCRINSTALL_CACHE_DIR=str(cache), UV_CACHE_DIR=str(WORK / "uv-cache"))

    first, cold = specs(git_archive, env)
    second, cold2 = specs(with_pkg_info, env)
    print(f"specs, tree without PKG-INFO (cold):  {len(first['requirements'])} requirements, {cold:.1f} s")
    print(f"specs, the sdist with PKG-INFO next:  {len(second['requirements'])} requirements, {cold2:.1f} s "
          f"({'its own answer' if first['requirements'] != second['requirements'] else 'THE SAME ANSWER'})")

    # The key on a warm cache, in this process: what a `specs` whose spec cache missed pays before it
    # knows no backend has to run.
    os.environ["INCRINSTALL_CACHE_DIR"] = str(cache)
    sys.path.insert(0, str(REPO))
    from incrinstall.specs import backend_metadata as bm

    index = cache / "hooks" / "index"
    for tree in (git_archive, with_pkg_info):
        root = tree.resolve()
        for entry in sorted(index.iterdir()):
            material = entry.stem
            totals = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                hit = bm._load_cached(material, root)
                totals.append(time.perf_counter() - started)
            # The look-up that answered: its files and folders, timed apart.
            for seen in json.loads(entry.read_text())["seen"]:
                key = bm._result_key(material, root, seen["files"], seen["folders"], seen["vcs"])
                if (cache / "hooks" / f"{key}.json").is_file():
                    break
            files_t, folders_t = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                bm._result_key(material, root, seen["files"])
                files_t.append(time.perf_counter() - started)
                started = time.perf_counter()
                for rel in seen["folders"]:
                    bm.folder_names(root, rel)
                folders_t.append(time.perf_counter() - started)
            names = sum(len(bm.folder_names(root, rel) or []) for rel in seen["folders"])
            size = sum((root / rel).stat().st_size for rel in seen["files"] if (root / rel).is_file())
            print(f"{tree.parent.name}: {'hit' if hit else 'MISS'}; key over {len(seen['files'])} files "
                  f"({size / 1e6:.2f} MB), {len(seen['folders'])} folders ({names} names), vcs "
                  f"{seen['vcs'] or 'none'}: look-up {statistics.median(totals) * 1000:.1f} ms median of "
                  f"{args.repeat} (hashing the files {statistics.median(files_t) * 1000:.1f} ms, listing the "
                  f"folders {statistics.median(folders_t) * 1000:.1f} ms)")
    tree_files = sum(len(files) for _, _, files in os.walk(with_pkg_info))
    tree_dirs = sum(1 for _ in os.walk(with_pkg_info))
    print(f"(the tree: {tree_files} files in {tree_dirs} folders)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
