"""Lay out a real Apache Airflow 3 uv workspace from the registry's sdists (issue #9).

Not part of the test suite (it needs PyPI). Run from a checkout:

    python benchmarks/airflow3_tree.py --out /tmp/af3/tree-3.3.2 [--version 3.3.2] [--sdists DIR]

The root `apache-airflow` sdist carries the workspace's pyproject.toml: `[tool.uv.workspace]
members`, `[tool.uv.sources]`, `[dependency-groups]` (`ci-image` = dev + docs + docs-gen + leveldb
through include-group) and `[tool.uv] exclude-newer = "4 days"` with `exclude-newer-package`. Each
member sdist (airflow-core, task-sdk, airflow-ctl, devel-common and a handful of providers) is
unpacked at its member path, so the tree is laid out as the workspace expects. The sdists are
downloaded once with `pip download --no-deps --no-binary :all:` into the cache folder.

The release ships only some of its ~130 members to the registry, so the root's workspace settings are
edited, and every edit is printed (and written to OUT/AIRFLOW3_TREE_EDITS.json):

- `[tool.uv.workspace] members` keeps only the paths present in the tree;
- names that exist only inside the Airflow repository (breeze, dev, scripts, the *-tests packages,
  the helm chart, shared/*) and that a dependency group or a dependency names get a stub member:
  a pyproject.toml with the name, version "0.0.0" and no dependencies (hatchling, empty wheel);
- `[tool.uv.sources]` entries `{workspace = true}` for packages that are neither laid out nor stubbed
  (the other ~120 providers, which are on the registry) are removed from the root and from the members,
  so those resolve from the index like any other dependency.

Check the result with `uv lock --directory OUT` and
`uv export --frozen --no-hashes --no-default-groups --group ci-image --directory OUT`
(`--check` runs both).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import tomlkit

# Release -> member path -> (distribution, version). Provider versions are the newest on the
# registry when this file was written; pass --provider PATH=DIST==VER to change or add one.
RELEASES: dict[str, dict[str, tuple[str, str]]] = {
    "3.3.2": {
        ".": ("apache-airflow", "3.3.2"),
        "airflow-core": ("apache-airflow-core", "3.3.2"),
        "task-sdk": ("apache-airflow-task-sdk", "1.3.2"),
        "airflow-ctl": ("apache-airflow-ctl", "0.1.5"),
        "devel-common": ("apache-airflow-devel-common", "0.1.1"),
        "providers/fab": ("apache-airflow-providers-fab", "3.10.2"),
        "providers/http": ("apache-airflow-providers-http", "6.3.0"),
        "providers/postgres": ("apache-airflow-providers-postgres", "7.1.1"),
        "providers/common/sql": ("apache-airflow-providers-common-sql", "2.4.0"),
        "providers/standard": ("apache-airflow-providers-standard", "1.21.0"),
        "providers/smtp": ("apache-airflow-providers-smtp", "3.2.0"),
        "providers/sqlite": ("apache-airflow-providers-sqlite", "4.3.4"),
        "providers/amazon": ("apache-airflow-providers-amazon", "9.39.0"),
    },
}

# Text edits to released member files, where sdists released at different times disagree in a way the
# real repository (all members at one commit) does not: uv locks every group of every member together.
FIXUPS: dict[str, list[tuple[str, str, str, str]]] = {
    "3.3.2": [
        ("airflow-ctl/pyproject.toml", '"datamodel-code-generator[http]==0.33.0"',
         '"datamodel-code-generator[http]>=0.71.0"',
         "airflow-ctl 0.1.5's codegen group pins datamodel-code-generator 0.33.0, task-sdk 1.3.2's asks >=0.71.0;"
         " the ctl of the 3.3.2 commit had moved on"),
    ],
}

STUB_PYPROJECT = """\
# Stub laid out by benchmarks/airflow3_tree.py: this workspace member exists only inside the
# Airflow repository (it is not on the registry); name and version only, no dependencies.
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.0.0"
dependencies = []

[tool.hatch.build.targets.wheel]
bypass-selection = true
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def req_name(req: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return canonical(m.group(1)) if m else ""


def download(dist: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"{canonical(dist).replace('-', '_')}-{version}"
    for found in cache.glob("*.tar.gz"):
        if canonical(found.name[: -len(".tar.gz")]) == canonical(stem):
            return found
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         f"{dist}=={version}", "-d", str(cache)],
        check=True,
    )
    return download(dist, version, cache)


def unpack_into(archive: Path, dest: Path) -> None:
    """Unpack the sdist's single top folder as DEST (no code is run)."""
    with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp:
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
        (top,) = Path(tmp).iterdir()
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            for item in top.iterdir():
                shutil.move(str(item), dest / item.name)
        else:
            shutil.move(str(top), dest)


def workspace_only_path(name: str, root_members: list[str]) -> str | None:
    """Where the real repository keeps a workspace-only package (None: not one we know)."""
    fixed = {
        "apache-airflow-breeze": "dev/breeze",
        "apache-airflow-dev": "dev",
        "apache-airflow-mypy": "dev/mypy",
        "apache-airflow-scripts": "scripts",
        "apache-airflow-docker-tests": "docker-tests",
        "apache-airflow-task-sdk-integration-tests": "task-sdk-integration-tests",
        "apache-airflow-helm-chart": "chart",
        "apache-airflow-kubernetes-tests": "kubernetes-tests",
        "apache-airflow-ctl-tests": "airflow-ctl-tests",
        "apache-airflow-e2e-tests": "airflow-e2e-tests",
        "apache-airflow-providers": "providers-summary-docs",
        "apache-airflow-docker-stack": "docker-stack-docs",
    }
    if name in fixed:
        return fixed[name]
    if name.startswith("apache-airflow-shared-"):
        tail = name[len("apache-airflow-shared-"):].replace("-", "_")
        path = f"shared/{tail}"
        return path if path in root_members else path
    return None


def referenced_names(doc) -> set[str]:
    """Names in [project] dependencies, optional-dependencies and [dependency-groups]."""
    names: set[str] = set()
    project = doc.get("project", {})
    for req in project.get("dependencies", []):
        names.add(req_name(str(req)))
    for reqs in project.get("optional-dependencies", {}).values():
        names.update(req_name(str(r)) for r in reqs)
    for reqs in doc.get("dependency-groups", {}).values():
        for r in reqs:
            if isinstance(r, str):
                names.add(req_name(r))
    names.discard("")
    return names


def build(out: Path, version: str, cache: Path, members: dict[str, tuple[str, str]]) -> list[str]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    edits: list[str] = []
    present: dict[str, str] = {}  # canonical name -> member path
    for path, (dist, ver) in members.items():
        archive = download(dist, ver, cache)
        dest = out if path == "." else out / path
        if path == ".":
            shutil.rmtree(out)
        unpack_into(archive, dest)
        present[canonical(dist)] = path
        has_yaml = (dest / "provider.yaml").exists()
        print(f"laid out {dist}=={ver} at {path}" + (" (with provider.yaml)" if has_yaml else ""))

    for rel, old, new, why in FIXUPS.get(version, []):
        file = out / rel
        if file.exists() and old in file.read_text():
            file.write_text(file.read_text().replace(old, new))
            edits.append(f"{rel}: {old} -> {new} ({why})")

    root_file = out / "pyproject.toml"
    root = tomlkit.parse(root_file.read_text())
    uv = root["tool"]["uv"]
    root_members = [str(m) for m in uv["workspace"]["members"]]
    root_sources = {canonical(k): v for k, v in uv.get("sources", {}).items()}
    workspace_names = {n for n, v in root_sources.items() if isinstance(v, dict) and v.get("workspace")}

    # Names any laid-out pyproject asks for, which the workspace (and only it) provides.
    docs = {path: tomlkit.parse((out / path / "pyproject.toml").read_text()) for path in present.values()}
    wanted: set[str] = set()
    for doc in docs.values():
        wanted |= referenced_names(doc)
    stubs: dict[str, str] = {}
    for name in sorted(wanted & workspace_names - present.keys()):
        path = workspace_only_path(name, root_members)
        if path is None:
            continue  # a provider: on the registry, so its source entry goes instead
        stubs[name] = path
    for name, path in sorted(stubs.items(), key=lambda kv: kv[1]):
        dest = out / path
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "pyproject.toml").write_text(STUB_PYPROJECT.format(name=name))
        edits.append(f"stub member {path}/pyproject.toml: {name} 0.0.0, no dependencies (workspace-only)")

    keep = set(present.values()) | set(stubs.values())
    kept = [m for m in root_members if m in keep]
    dropped = [m for m in root_members if m not in keep]
    extra = sorted(keep - set(kept))
    new_members = tomlkit.array()
    new_members.multiline(True)
    for m in kept + extra:
        new_members.append(m)
    uv["workspace"]["members"] = new_members
    edits.append(
        f"root [tool.uv.workspace] members: kept {len(kept) + len(extra)} of {len(root_members)} "
        f"(dropped {len(dropped)} not laid out: {', '.join(dropped[:6])}{', ...' if len(dropped) > 6 else ''})"
        + (f"; added {', '.join(extra)}" if extra else "")
    )

    local = set(present) | set(stubs)
    for label, doc, file in [("root", root, root_file)] + [
        (path, docs[path], out / path / "pyproject.toml") for path in present.values() if path != "."
    ]:
        sources = doc.get("tool", {}).get("uv", {}).get("sources")
        if not sources:
            continue
        gone = [k for k, v in sources.items()
                if isinstance(v, dict) and v.get("workspace") and canonical(k) not in local]
        for k in gone:
            del sources[k]
        if gone:
            edits.append(
                f"{label} [tool.uv.sources]: removed {len(gone)} workspace entries for packages not in the tree "
                f"(resolved from the index instead): {', '.join(gone[:5])}{', ...' if len(gone) > 5 else ''}"
            )
            if label != "root":
                file.write_text(tomlkit.dumps(doc))
    root_file.write_text(tomlkit.dumps(root))
    (out / "AIRFLOW3_TREE_EDITS.json").write_text(json.dumps(
        {"version": version, "members": {p: f"{d}=={v}" for p, (d, v) in members.items()},
         "stubs": stubs, "edits": edits}, indent=2) + "\n")
    return edits


def check(out: Path, uv: str) -> dict:
    result = {}
    lock = subprocess.run([uv, "lock", "--directory", str(out)], capture_output=True, text=True)
    result["uv_lock_rc"] = lock.returncode
    print(f"$ uv lock --directory {out}  -> exit {lock.returncode}")
    print("\n".join(lock.stderr.strip().splitlines()[-5:]))
    if lock.returncode == 0:
        exp = subprocess.run([uv, "export", "--frozen", "--no-hashes", "--no-default-groups", "--group", "ci-image",
                              "--directory", str(out)], capture_output=True, text=True)
        pins = [ln for ln in exp.stdout.splitlines() if ln and not ln.startswith((" ", "#", "-e", "."))]
        local = [ln for ln in exp.stdout.splitlines() if ln.startswith(("-e", "."))]
        result.update(uv_export_rc=exp.returncode, ci_image_pins=len(pins), ci_image_workspace=len(local))
        print(f"$ uv export --frozen --no-hashes --no-default-groups --group ci-image --directory {out}"
              f"  -> exit {exp.returncode}: {len(pins)} pinned packages + {len(local)} workspace members")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="folder to create (replaced if it exists)")
    ap.add_argument("--version", default="3.3.2", choices=sorted(RELEASES))
    ap.add_argument("--sdists", type=Path, help="download cache (default: OUT/../sdists)")
    ap.add_argument("--provider", action="append", default=[], metavar="PATH=DIST==VER",
                    help="add or replace a member, e.g. providers/ssh=apache-airflow-providers-ssh==4.1.0")
    ap.add_argument("--check", action="store_true", help="run uv lock and uv export on the result")
    ap.add_argument("--uv", default=None, help="uv binary for --check (default: incrinstall's bundled uv)")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    members = dict(RELEASES[args.version])
    for spec in args.provider:
        path, _, pin = spec.partition("=")
        dist, _, ver = pin.partition("==")
        members[path] = (dist, ver)
    edits = build(out, args.version, (args.sdists or out.parent / "sdists").resolve(), members)
    print(f"\nedits to the released workspace ({len(edits)}):")
    for e in edits:
        print(f"  - {e}")
    if args.check:
        uv = args.uv
        if uv is None:
            from incrinstall.common.uv import uv_binary
            uv = str(uv_binary())
        return 0 if check(out, uv).get("uv_lock_rc") == 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
