"""incrinstall against uv on real sdists from PyPI, one per project shape: the same environment, or not?

For each project it downloads the sdist (the newest, or the version given), unpacks it, and runs
- `incrinstall specs` on the tree,
- `incrinstall sync --editable` into a fresh venv,
- `uv pip install -e` into another fresh venv,
then compares the installed names and versions and runs `uv pip check` on both; then the Docker flow
without Docker: `incrinstall recipe` of the tree into a folder, `sync --editable` there into a third venv,
the sources copied over the recipe, and `import` of the project's module, which must come from that folder.
It prints a table: project, backend, names equal to uv, versions equal, `uv pip check` clean (both venvs),
the recipe flow's import, and times.

    python benchmarks/real_projects.py                      # the default projects, Python 3.12
    python benchmarks/real_projects.py --python python3.13 textual celery==5.7.0
    python benchmarks/real_projects.py --json out.json

Needs the network (PyPI and the sdists; `--index-url` for a mirror). Not run by CI. Scratch files go
to benchmarks/work/real-projects/ (delete it to start cold); each tool gets its own fresh cache there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work" / "real-projects"

# Popular projects of different shapes (the shape is what their sdist has; see `backend` in the table).
DEFAULT_PROJECTS = (
    "textual",   # poetry-core, [tool.poetry] only (Poetry 1 style)
    "celery",    # setup.py reading requirements/*.txt
    "jinja2",    # flit-core
    "django",    # setuptools, [project] in pyproject.toml
    "unearth",   # pdm-backend, dynamic version
    "uvicorn",   # hatchling, sdist `include`
    "flake8",    # setup.cfg
    "mcp",       # hatchling + uv-dynamic-versioning, uv.lock in the sdist
    "rich",      # poetry-core
    "requests",  # setup.py + setup.cfg
)


@dataclass
class Row:
    project: str
    version: str
    backend: str
    shape: str
    names_equal: bool
    versions_equal: bool
    check_ours: bool
    check_uv: bool
    specs_seconds: float
    sync_seconds: float
    uv_seconds: float
    recipe_import: bool = False
    note: str = ""


def uv_binary() -> str:
    from uv import find_uv_bin

    return find_uv_bin()


def fetch_sdist(spec: str, index_json: str) -> tuple[str, str, Path]:
    """(name, version, path of the downloaded sdist) for `name` or `name==version`."""
    name, _, version = spec.partition("==")
    project_json = f"{index_json}/{name}/json"
    with urllib.request.urlopen(project_json, timeout=60) as answer:
        data = json.load(answer)
    version = version or data["info"]["version"]
    sdists = [u for u in data["releases"].get(version, []) if u["packagetype"] == "sdist"]
    if not sdists:
        raise SystemExit(f"{name} {version}: no sdist on the index")
    target = WORK / "sdists" / sdists[0]["filename"]
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        # (a mirror may answer with URLs relative to the JSON document)
        with urllib.request.urlopen(urllib.parse.urljoin(project_json, sdists[0]["url"]), timeout=300) as answer, open(f"{target}.part", "wb") as out:
            shutil.copyfileobj(answer, out)
        os.replace(f"{target}.part", target)
    return data["info"]["name"], version, target


def unpack(sdist: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(sdist) as tf:
            tf.extractall(into, filter="data")
    [top] = [p for p in into.iterdir() if p.is_dir()]
    return top


def shape_of(tree: Path) -> tuple[str, str]:
    """(build-backend, the shape: what says the dependencies) as the tree declares them."""
    import tomllib

    data = {}
    if (tree / "pyproject.toml").is_file():
        data = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    backend = (data.get("build-system") or {}).get("build-backend", "setuptools (legacy)")
    project = data.get("project")
    if isinstance(project, dict):
        dynamic = set(project.get("dynamic", [])) & {"dependencies", "optional-dependencies", "version"}
        shape = f"[project], dynamic {','.join(sorted(dynamic))}" if dynamic else "[project], static"
    elif "poetry" in (data.get("tool") or {}):
        shape = "[tool.poetry]"
    else:
        shape = " + ".join(n for n in ("setup.py", "setup.cfg") if (tree / n).is_file()) or "?"
    if (tree / "uv.lock").is_file():
        shape += ", uv.lock"
    return backend, shape


def make_venv(path: Path, python: str) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([uv_binary(), "venv", "--quiet", "--python", python, str(path)], check=True)
    return path / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    out = subprocess.run([uv_binary(), "pip", "list", "--python", str(python), "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(out)}


def pip_check(python: Path) -> bool:
    return subprocess.run([uv_binary(), "pip", "check", "--python", str(python)], capture_output=True).returncode == 0


def timed(argv: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    return proc, time.perf_counter() - started


def recipe_flow(tree: Path, base: Path, python: str, incr: list[str], index: list[str], env: dict[str, str],
                module: str) -> tuple[bool, str]:
    """recipe -> sync --editable on the recipe -> the sources copied over it -> `import module` from there."""
    app = base / "app"
    shutil.rmtree(app, ignore_errors=True)
    py = make_venv(base / "venv-recipe", python)
    recipe, _ = timed([*incr, "recipe", str(tree), "--out", str(app), "--python", str(py), *index], env)
    if recipe.returncode != 0:
        return False, f"recipe exit {recipe.returncode}: {(recipe.stderr.strip().splitlines() or ['?'])[-1][:160]}"
    sync, _ = timed([*incr, "sync", str(app), "--editable", "--python", str(py), *index], env)
    if sync.returncode != 0:
        return False, f"recipe sync exit {sync.returncode}: {(sync.stderr.strip().splitlines() or ['?'])[-1][:160]}"
    shutil.copytree(tree, app, dirs_exist_ok=True)  # COPY . . over the recipe
    probe = subprocess.run([str(py), "-c", f"import {module}; print({module}.__file__)"], capture_output=True,
                           text=True, cwd=base)
    where = probe.stdout.strip()
    if probe.returncode != 0 or not where.startswith(str(app) + os.sep):
        return False, f"import {module}: {where or (probe.stderr.strip().splitlines() or ['?'])[-1][:160]}"
    return True, ""


def run_one(spec: str, python: str, index_url: str, index_json: str) -> Row:
    name, version, sdist = fetch_sdist(spec, index_json)
    base = WORK / f"{name}-{version}"
    tree = unpack(sdist, base / "tree")
    backend, shape = shape_of(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(PYTHONPATH=str(REPO), UV_NO_CONFIG="1")
    ours_env = dict(env, INCRINSTALL_CACHE_DIR=str(base / "incrinstall-cache"), UV_CACHE_DIR=str(base / "uv-cache-ours"))
    uv_env = dict(env, UV_CACHE_DIR=str(base / "uv-cache-uv"))
    for cache in ("incrinstall-cache", "uv-cache-ours", "uv-cache-uv"):
        shutil.rmtree(base / cache, ignore_errors=True)
    incr = [sys.executable, "-m", "incrinstall"]
    # `uv pip install -e` reads no lock: neither does incrinstall here (an sdist may carry a uv.lock, as mcp's).
    index = ["--index-url", index_url, "--no-lock"]

    ours = make_venv(base / "venv-incrinstall", python)
    specs, specs_seconds = timed([*incr, "specs", str(tree), "--python", str(ours), *index], ours_env)
    sync, sync_seconds = timed([*incr, "sync", str(tree), "--editable", "--python", str(ours), *index], ours_env)
    theirs = make_venv(base / "venv-uv", python)
    uv, uv_seconds = timed([uv_binary(), "pip", "install", "--python", str(theirs), "-e", str(tree), *index[:2]],
                           uv_env)
    note = ""
    for label, proc in (("specs", specs), ("sync", sync), ("uv", uv)):
        if proc.returncode != 0:
            note += f"{label} exit {proc.returncode}: {(proc.stderr.strip().splitlines() or ['?'])[-1][:160]}; "
    (base / "specs.txt").write_text(specs.stdout + specs.stderr)
    (base / "sync.txt").write_text(sync.stdout + sync.stderr)
    (base / "uv.txt").write_text(uv.stdout + uv.stderr)
    a, b = installed(ours), installed(theirs)
    if set(a) != set(b):
        note += f"only incrinstall: {sorted(set(a) - set(b))}; only uv: {sorted(set(b) - set(a))}; "
    differ = sorted(n for n in set(a) & set(b) if a[n] != b[n])
    if differ:
        note += "versions differ: " + ", ".join(f"{n} {a[n]} vs {b[n]}" for n in differ) + "; "
    imported, why = recipe_flow(tree, base, python, incr, index, ours_env, name.lower().replace("-", "_"))
    if why:
        note += f"recipe flow: {why}; "
    return Row(name, version, backend, shape, set(a) == set(b) and bool(a), not differ and bool(a), pip_check(ours),
               pip_check(theirs), specs_seconds, sync_seconds, uv_seconds, imported, note.strip())


def render(rows: list[Row]) -> str:
    yn = {True: "y", False: "n"}
    lines = ["| project | backend (shape) | names equal to uv | versions equal | `uv pip check` clean "
             "(incrinstall / uv) | recipe flow imports the copied sources | specs (s) | sync --editable (s) | "
             "uv pip install -e (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.project} {r.version} | {r.backend} ({r.shape}) | {yn[r.names_equal]} | "
                     f"{yn[r.versions_equal]} | {yn[r.check_ours]} / {yn[r.check_uv]} | {yn[r.recipe_import]} | "
                     f"{r.specs_seconds:.1f} | "
                     f"{r.sync_seconds:.1f} | {r.uv_seconds:.1f} |")
    notes = [f"- {r.project}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("projects", nargs="*", default=list(DEFAULT_PROJECTS), help="NAME or NAME==VERSION")
    parser.add_argument("--python", default="python3.12", help="the target venvs' interpreter (default python3.12)")
    parser.add_argument("--index-url", default="https://pypi.org/simple/")
    parser.add_argument("--index-json", default="https://pypi.org/pypi", help="PyPI's JSON API, to find the sdists")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    for spec in args.projects:
        row = run_one(spec, args.python, args.index_url, args.index_json)
        print(f"{row.project} {row.version}: names {row.names_equal}, versions {row.versions_equal}, "
              f"check {row.check_ours}/{row.check_uv} {row.note}", file=sys.stderr, flush=True)
        rows.append(row)
    print(render(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0 if all(r.names_equal and r.versions_equal and r.check_ours and r.recipe_import for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
