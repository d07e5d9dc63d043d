"""Issue 21's Docker table at Apache Airflow's scale: three Dockerfiles, real sdists, the real index, a private engine.

    python benchmarks/bench_docker_airflow.py [--runs 3] [--json out.json] [--work DIR]

Not run by CI (it needs PyPI, about 40 minutes and 20 GB of disk). What it does:

- Subject: the Apache Airflow 2.10.4 sdist tree with every provider extra whose dependencies install from
  wheels (EXCLUDED_EXTRAS need a compiler and system headers, which the base image has not), for Python 3.11.
  The baseline is the 2.10.0 sdist, fetched by the image from PyPI's file host, pinned by its sha256.
- Engine: a dockerd of its own (own data-root, exec-root and pidfile) listening on TCP on 127.0.0.1,
  driven by this script as a second client through DOCKER_HOST: the shared-builder path README describes.
  Its builder cache and cache mounts are emptied between cold and fresh-runner builds without touching
  the machine's other engine. A docker-registry on 127.0.0.1 holds the fresh runners' inline cache.
- Base image: the test suite's bookworm minbase (`python -m tests.support.docker_engine`) with this
  machine's CA bundle copied over the image's and named by SSL_CERT_FILE: the corporate way README
  describes, which is how the image trusts the TLS-intercepting proxy in front of PyPI.
- Dockerfiles: README's (examples/Dockerfile, with the specs stage `incrinstall recipe --dockerfile` writes
  for this tree and the extras in place of `--extra devel`; `recipe --check` passes on it first),
  hand-made (main's dependencies in a layer, then the spec files copied by a hand-written list and
  `uv pip install -e .[extras]`, uv's cache in the layers), and uv + cache mount (the spec files, then
  one `uv pip install -e .[extras]` with `--mount=type=cache,target=/root/.cache/uv`).
- Per run, each Dockerfile in turn (the order rotates between runs), on its own copy of the tree:
  cold (empty builder cache and cache mounts), a source-only edit, a one-dependency bump (a pin moved),
  the removal of a dependency, then the fresh runner: the image pushed with its inline cache, the
  builder emptied, and a source-only edit built with `--cache-from`; pushed again, emptied again, and a
  bump built the same way. Wall time of `docker build`; image size; what the removal left behind; the
  recipe manifest of every README build (it must not change with the cache's state).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support import docker_engine as engine  # noqa: E402

PYPI_FILES = "https://files.pythonhosted.org/packages"
SDISTS = {  # version -> (path under PYPI_FILES, sha256), from PyPI's simple page
    "2.10.0": ("ab/e2/7018bfe0cc561c127ad58f2a052605a75ede6d3d9cb6984f8bd1ea672bd9/apache_airflow-2.10.0.tar.gz",
               "1948c72dfe58d2979e06819c6b9441a572b20395dc6b4e0dae5e4cfecbb07209"),
    "2.10.4": ("e1/44/149c93a77328e1554ef917eaf4f9724a1ba66aba83c0380c23977a6a31e7/apache_airflow-2.10.4.tar.gz",
               "10ebf8b95c59ba229f06235665e92cc684577861cfd1e96bdbe3d3eb7cb5779a"),
}
# Provider extras whose dependency closure holds an sdist that needs a compiler or system headers
# (mysqlclient, gssapi/krb5, pyhive/pure-sasl, pydruid, kylinpy, ...): found with `uv pip compile
# --format pylock.toml` of every provider extra for cp311 manylinux_2_36 (packages with no wheel).
EXCLUDED_EXTRAS = ("alibaba", "apache-druid", "apache-hdfs", "apache-hive", "apache-impala", "apache-kylin",
                   "apache-spark", "jenkins", "microsoft-psrp", "microsoft-winrm", "mysql", "samba")
UV_VERSION = "0.13.10"  # the uv of the comparison Dockerfiles (incrinstall's stage gets PyPI's newest)
SOURCE_EDIT = "airflow/models/dag.py"
SPECS = "hatch_build.py"  # where Airflow 2.10 lists its core dependencies (pyproject.toml names them dynamic)
PIN = "termcolor"  # the bumped dependency: pinned in hatch_build.py, moved 2.3.0 -> 2.4.0 -> 2.5.0
# The removed dependency: nothing else in the resolution requires it. An sdist's PKG-INFO is read by hatchling
# too (its Requires-Dist joins the hook's), so the removal edits both files, as a release would.
REMOVED = "python-nvd3"
REMOVED_LINES = {"hatch_build.py": '    "python-nvd3>=0.15.0",\n', "PKG-INFO": "Requires-Dist: python-nvd3>=0.15.0\n"}
HAND_SPEC_FILES = ("pyproject.toml", "hatch_build.py", "PKG-INFO", "generated/", "airflow/__init__.py")

HAND_MADE = """\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ARG BASELINE_ARCHIVE
ENV UV_LINK_MODE=copy
RUN python3 -m venv /venv && /venv/bin/pip install --disable-pip-version-check uv=={uv}
RUN python3 -c "import io, sys, tarfile, urllib.request; tarfile.open(fileobj=io.BytesIO(urllib.request.urlopen(sys.argv[1]).read())).extractall('/baseline')" "$BASELINE_ARCHIVE" \\
    && /venv/bin/uv pip install --python /venv/bin/python -r /baseline/apache_airflow-2.10.0/pyproject.toml {extras} \\
    && rm -rf /baseline
WORKDIR /app
{copies}
RUN /venv/bin/uv pip install --python /venv/bin/python -e ".[{extra_list}]"
COPY . .
ENV PATH=/venv/bin:$PATH
"""

UV_CACHE_MOUNT = """\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}}
ENV UV_LINK_MODE=copy
RUN python3 -m venv /venv && /venv/bin/pip install --disable-pip-version-check uv=={uv}
WORKDIR /app
{copies}
# uv keys its cached metadata of the project by pyproject.toml alone: told to look again, or a hatch_build.py
# change would go unseen.
RUN --mount=type=cache,target=/root/.cache/uv \
    /venv/bin/uv pip install --python /venv/bin/python --refresh-package apache-airflow -e ".[{extra_list}]"
COPY . .
ENV PATH=/venv/bin:$PATH
"""

CORPORATE_BASE = """\
FROM {base}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
"""

TOOLS = ("readme", "hand-made", "uv-cache-mount")
ROWS = ("cold build", "source-only edit", "one-dependency bump", "removal of a dependency",
        "fresh runner, source-only edit", "fresh runner, bump")


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(*cmd, env=None, timeout=1800, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))[:300]}\n{proc.stdout[-3000:]}\n"
                         f"{proc.stderr[-3000:]}")
    return proc


# -- the private engine ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def private_engine(work: Path, port: int):
    """A dockerd of this script's own on tcp://127.0.0.1:port; yields the DOCKER_HOST value."""
    data = work / "engine-data"
    data.mkdir(parents=True, exist_ok=True)
    exec_root = Path(tempfile.mkdtemp(prefix="ib-exec-"))  # short: unix socket paths are limited to 108 bytes
    pidfile = work / "engine.pid"
    logfile = open(work / "engine.log", "w")
    proc = subprocess.Popen(["/usr/sbin/dockerd", "--data-root", str(data), "--exec-root", str(exec_root),
                             "--pidfile", str(pidfile), "-H", f"tcp://127.0.0.1:{port}",
                             "--bridge=none", "--iptables=false", "--ip-masq=false", "--storage-driver=overlay2"],
                            stdout=logfile, stderr=subprocess.STDOUT)
    host = f"tcp://127.0.0.1:{port}"
    try:
        for _ in range(60):
            if subprocess.run([engine.DOCKER, "-H", host, "version"], capture_output=True).returncode == 0:
                break
            if proc.poll() is not None:
                raise SystemExit(f"dockerd exited: see {work / 'engine.log'}")
            time.sleep(1)
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        logfile.close()
        shutil.rmtree(exec_root, ignore_errors=True)


def docker(*args, timeout=3600, check=True) -> subprocess.CompletedProcess:
    return run(engine.DOCKER, *args, env=engine.docker_env(), timeout=timeout, check=check)


def _named_stages(log_text: str) -> str:
    """A single-stage Dockerfile's steps print as `[2/7]`: name them `stage-0`, as BuildKit names the others."""
    return re.sub(r"^(#\d+ \[)(\d+/\d+\] )", r"\1stage-0 \2", log_text, flags=re.MULTILINE)


def build(context: Path, dockerfile: Path, tag: str, args: dict[str, str], *, cache_from: str | None = None
          ) -> engine.Build:
    cmd = ["build", "--progress=plain", "--network=host", "-f", str(dockerfile), "-t", tag,
           "--build-arg", "BUILDKIT_INLINE_CACHE=1"]
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    if cache_from:
        cmd += ["--cache-from", cache_from]
    started = time.perf_counter()
    proc = docker(*cmd, str(context), check=False)
    seconds = time.perf_counter() - started
    out = _named_stages(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"docker build of {dockerfile.name} failed:\n{out[-6000:]}")
    return engine.Build(log=out, seconds=seconds, steps=engine.parse_plain_log(out))


BASES: set[str] = set()  # the base images' tags: what a fresh runner has


def wipe() -> None:
    """A fresh runner: no image but the base images, no builder cache, no cache mount (this engine is the
    script's own). Every other image goes, untagged ones included: their layers would spare a pull."""
    keep = {docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip() for tag in BASES}
    images = set(docker("images", "-aq", "--no-trunc").stdout.split()) - keep
    if images:
        docker("image", "rm", "-f", *sorted(images), check=False)
    docker("builder", "prune", "-af")
    left = set(docker("images", "-aq", "--no-trunc").stdout.split()) - keep
    assert not left, f"images left after the wipe: {left}"


# -- the subject ---------------------------------------------------------------------------------------------


def fetch_sdist(work: Path, version: str) -> Path:
    path, sha256 = SDISTS[version]
    dest = work / "sdists" / Path(path).name
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(f"{PYPI_FILES}/{path}") as response:
            dest.write_bytes(response.read())
    import hashlib

    assert hashlib.sha256(dest.read_bytes()).hexdigest() == sha256, dest
    return dest


def extras_of(tree: Path) -> list[str]:
    providers = json.loads((tree / "generated" / "provider_dependencies.json").read_text())
    return sorted(p.replace(".", "-") for p in providers if p.replace(".", "-") not in EXCLUDED_EXTRAS)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def prepare_tree(work: Path, tool: str) -> Path:
    """The branch: 2.10.4's sdist tree, with the bumped dependency pinned at its first version."""
    root = work / "trees" / tool
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with tarfile.open(fetch_sdist(work, "2.10.4")) as tf:
        tf.extractall(root, filter="data")
    tree = root / "apache_airflow-2.10.4"
    reset_tree(tree)
    (tree / ".dockerignore").write_text("Dockerfile*\n")
    return tree


def reset_tree(tree: Path) -> None:
    """The files the rows edit, back as the sdist has them, with the pin of the bump at its first version."""
    with tarfile.open(fetch_sdist(tree.parents[2], "2.10.4")) as tf:
        for rel in (SPECS, "PKG-INFO", SOURCE_EDIT):
            member = tf.extractfile(f"apache_airflow-2.10.4/{rel}")
            assert member is not None, rel
            (tree / rel).write_bytes(member.read())
    edit(tree / SPECS, '"termcolor>=1.1.0",', f'"{PIN}==2.3.0",')


def readme_dockerfile(tree: Path, extras: list[str], uv_env: dict[str, str]) -> str:
    """examples/Dockerfile with this tree's specs stage and its extras; `recipe --check` must pass on it."""
    extra_args = " ".join(f"--extra {e}" for e in extras)
    text = (REPO / "examples" / "Dockerfile").read_text()
    stage = run(sys.executable, "-m", "incrinstall", "recipe", tree, "--dockerfile", *extra_args.split(),
                "--python", "python3.11", env=uv_env).stdout
    start = text.index("FROM ${BASE_IMAGE} AS specs")
    end = text.index("\n\n", start)
    text = text[:start] + stage.rstrip("\n") + text[end:]
    lines = text.splitlines(keepends=True)
    commands = [i for i, line in enumerate(lines) if not line.lstrip().startswith("#") and "--extra devel " in line]
    assert len(commands) == 3, "examples/Dockerfile changed: update this script"  # baseline, recipe, sync
    for i in commands:
        lines[i] = lines[i].replace("--extra devel ", f"{extra_args} ")
    text = "".join(lines)
    path = tree / "Dockerfile.readme"
    path.write_text(text)
    run(sys.executable, "-m", "incrinstall", "recipe", tree, "--check", path, *extra_args.split(),
        "--python", "python3.11", env=uv_env)
    return text


def comparison_dockerfile(template: str, extras: list[str]) -> str:
    copies = "\n".join(f"COPY {p} {p if p.endswith('/') else (os.path.dirname(p) + '/' if '/' in p else './')}"
                       for p in HAND_SPEC_FILES)
    return template.format(uv=UV_VERSION, extras=" ".join(f"--extra {e}" for e in extras),
                           extra_list=",".join(extras), copies=copies)


def packages(tag: str) -> dict[str, str]:
    out = docker("run", "--rm", "--network=none", tag, "/venv/bin/python", "-c",
                 "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name'].lower(): d.version "
                 "for d in m.distributions()}))").stdout
    return json.loads(out)


def recipe_manifest(tag: str) -> str:
    return docker("run", "--rm", "--network=none", tag, "cat", "/app/.incrinstall-recipe.json").stdout


# -- one run ---------------------------------------------------------------------------------------------------


def one_run(number: int, order: list[str], ctx: dict) -> dict:
    results: dict[str, dict] = {}
    for tool in order:
        log(f"run {number}: {tool}")
        results[tool] = one_tool(number, tool, ctx)
    return results


def one_tool(number: int, tool: str, ctx: dict) -> dict:
    """Every row for one Dockerfile, in order, on its own tree."""
    tree, dockerfile, tag = ctx["trees"][tool], ctx["dockerfiles"][tool], f"ib-airflow-{tool}:{number}"
    remote = f"{ctx['registry']}/ib-airflow-{tool}:run{number}"
    res: dict[str, dict] = {}
    args = ctx["args"][tool]

    def timed(row: str, cache_from: str | None = None) -> engine.Build:
        b = build(tree, tree / dockerfile, tag, args, cache_from=cache_from)
        res[row] = {"seconds": round(b.seconds, 2), "ran": b.ran(),
                    "step_seconds": {f"{s.stage} {s.instruction[:60]}": s.seconds for s in b.steps
                                     if not s.cached}}
        if tool == "readme":
            res[row]["recipe"] = recipe_manifest(tag)
        log(f"  {row}: {b.seconds:.1f} s; ran {b.ran()}")
        return b

    wipe()
    timed("cold build")
    res["cold build"]["image_bytes"] = int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout)
    before = packages(tag)
    counter = f"# edited by bench_docker_airflow run {number}"
    with open(tree / SOURCE_EDIT, "a") as fh:
        fh.write(f"\n{counter} (local)\n")
    timed("source-only edit")
    edit(tree / SPECS, f'"{PIN}==2.3.0",', f'"{PIN}==2.4.0",')
    timed("one-dependency bump")
    after_bump = packages(tag)
    res["one-dependency bump"]["changed"] = sorted(n for n in set(before) | set(after_bump)
                                                   if before.get(n) != after_bump.get(n))
    for rel, line in REMOVED_LINES.items():
        edit(tree / rel, line, "")
    timed("removal of a dependency")
    after = packages(tag)
    res["removal of a dependency"]["kept_removed"] = sorted({REMOVED} & set(after))
    res["removal of a dependency"]["packages"] = len(after)
    res["removal of a dependency"]["image_bytes"] = int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout)
    # The fresh runner: what the registry holds (this image, built on a warm builder) is all it has. Both rows
    # start from it: on this engine an image whose layers all came from --cache-from can carry an incomplete
    # inline cache (moby/buildkit#1981), which would measure that bug instead.
    docker("tag", tag, remote)
    docker("push", remote)
    wipe()
    with open(tree / SOURCE_EDIT, "a") as fh:
        fh.write(f"{counter} (fresh runner)\n")
    timed("fresh runner, source-only edit", cache_from=remote)
    wipe()
    edit(tree / SPECS, f'"{PIN}==2.4.0",', f'"{PIN}==2.5.0",')
    timed("fresh runner, bump", cache_from=remote)
    res["fresh runner, bump"][PIN] = packages(tag).get(PIN)
    reset_tree(tree)  # back to the branch's state for the next run
    docker("image", "rm", "-f", tag, remote, check=False)
    return res


# -- the table -----------------------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f} s (n=1)"
    return f"{statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})"


def table(runs: list[dict]) -> str:
    lines = ["| rebuild after | README's | hand-made | uv + cache mount | README's / hand-made | README's / uv + cache mount |",
             "|---|---|---|---|---|---|"]
    for row in ROWS:
        cells, medians = [], {}
        for tool in TOOLS:
            values = [r[tool][row]["seconds"] for r in runs if tool in r and row in r[tool]]
            cells.append(spread(values))
            medians[tool] = statistics.median(values) if values else None
        ratios = [f"{medians['readme'] / medians[t]:.2f}x" if medians["readme"] and medians[t] else "-"
                  for t in ("hand-made", "uv-cache-mount")]
        lines.append(f"| {row} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    sizes = [f"{statistics.median([r[t]['cold build']['image_bytes'] for r in runs if t in r]) / 1e6:,.0f} MB"
             for t in TOOLS]
    lines.append(f"| image size | {' | '.join(sizes)} | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work" / "docker-airflow")
    parser.add_argument("--port", type=int, default=23751, help="the private dockerd's TCP port on 127.0.0.1")
    parser.add_argument("--registry-port", type=int, default=5061)
    parser.add_argument("--json", type=Path, help="write every build's numbers here (also after each run)")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    uv_env = {**os.environ, "INCRINSTALL_CACHE_DIR": str(work / "host-incrinstall-cache")}
    ctx: dict = {"trees": {}, "dockerfiles": {}, "args": {}}
    baseline_path, baseline_sha = SDISTS["2.10.0"]
    fetch_sdist(work, "2.10.0")
    wheels = work / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir()
    run(sys.executable, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", wheels, REPO)
    (wheel,) = wheels.glob("incrinstall-*.whl")
    import hashlib

    wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    for tool in TOOLS:
        ctx["trees"][tool] = prepare_tree(work, tool)
    extras = extras_of(ctx["trees"]["readme"])
    log(f"{len(extras)} provider extras: {' '.join(extras)}")
    readme_dockerfile(ctx["trees"]["readme"], extras, uv_env)
    ctx["dockerfiles"]["readme"] = "Dockerfile.readme"
    for tool, template in (("hand-made", HAND_MADE), ("uv-cache-mount", UV_CACHE_MOUNT)):
        (ctx["trees"][tool] / f"Dockerfile.{tool}").write_text(comparison_dockerfile(template, extras))
        ctx["dockerfiles"][tool] = f"Dockerfile.{tool}"
    runs: list[dict] = []
    with private_engine(work, args.port) as host, engine.registry(args.registry_port) as registry, \
            engine.serve_folder(wheels) as wheel_base:
        os.environ["DOCKER_HOST"] = host
        ctx["registry"] = registry.address
        if docker("image", "inspect", engine.BASE_TAG, check=False).returncode != 0:
            docker("load", "-i", str(engine.base_tarball()))
        base_dir = work / "corporate-base"
        base_dir.mkdir(exist_ok=True)
        shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", base_dir / "ca-certificates.crt")
        (base_dir / "Dockerfile").write_text(CORPORATE_BASE.format(base=engine.BASE_TAG))
        base = "ib-airflow-base:corporate"
        build(base_dir, base_dir / "Dockerfile", base, {})
        BASES.update({engine.BASE_TAG, base})
        baseline_url = f"{PYPI_FILES}/{baseline_path}"
        ctx["args"]["readme"] = {"BASE_IMAGE": base, "INCRINSTALL_SOURCE": f"{wheel_base}/{wheel.name}",
                                 "INCRINSTALL_SHA256": wheel_sha, "BASELINE_ARCHIVE": baseline_url,
                                 "BASELINE_FLAGS": f"--sha256 {baseline_sha}"}
        ctx["args"]["hand-made"] = {"BASE_IMAGE": base, "BASELINE_ARCHIVE": baseline_url}
        ctx["args"]["uv-cache-mount"] = {"BASE_IMAGE": base}
        for number in range(args.runs):
            order = list(TOOLS[number % len(TOOLS):] + TOOLS[:number % len(TOOLS)])
            runs.append(one_run(number, order, ctx))
            if args.json:
                args.json.write_text(json.dumps({"extras": extras, "runs": runs}, indent=2) + "\n")
            print(table(runs), flush=True)
        docker("image", "rm", "-f", base, check=False)
    manifests = {r["readme"][row]["recipe"] for r in runs for row in ROWS if row in r.get("readme", {})}
    print(f"\nrecipe manifests across every README build (cold and warm caches): {len(manifests)} distinct")
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
