"""README's Dockerfile (examples/Dockerfile), built as README shows it by a real engine on the bundled example.

Everything the builds fetch comes from 127.0.0.1 (`docker build --network=host`): the loopback
index serves the example's test wheels and the wheels incrinstall needs inside the image (cached
by `python -m tests.support.docker_engine`); a folder server serves the main-branch archive and
incrinstall's own wheel, built here from the checkout. The only build arguments swapped are the
ones README names for the purpose: the base image, the archive, and the source of incrinstall
(INCRINSTALL_SOURCE, INCRINSTALL_SHA256: the local wheel and its sha256). The index is private:
it wants a password, which reaches the builds only as README says, in the `index_url` BuildKit
secret; one test looks for it in the image's files, its history and the registry's cache.

Each scenario is asserted from the plain build log (which steps ran, which were CACHED) and from
inside the image. The tests run in file order: each scenario edits the project the previous one
left. The last one builds again with an https index and archive whose certificate a private CA
signed, that CA installed in the base image the corporate way (the CA bundle file replaced,
SSL_CERT_FILE naming it, the hashed folder not regenerated).

Select with `-m docker`; skipped with the reason where no engine can start, failed instead
when CI=true. INCRINSTALL_DOCKER_REPORT=PATH writes the timings as JSON.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.support import docker_engine as engine
from tests.support.index_server import LoopbackIndex
from tests.support.paths import REPO_ROOT
from tests.support.tls import make_ca, server_context

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = REPO_ROOT
DOCKERFILE = REPO / "examples" / "Dockerfile"
EXTRA = "devel"
# The private index's login: the password must reach no layer, no history line and no cache export.
INDEX_USER = "ci-reader"
SENTINEL = "Sentinel-pw-7c1e9a4f"

# The hand-made approach, given the index the same way (a secret), so it is timed on the same footing.
HAND_MADE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG BASELINE_ARCHIVE
RUN --mount=type=secret,id=index_url \\
    python3 -m venv /venv && PIP_INDEX_URL="$(cat /run/secrets/index_url)" /venv/bin/pip install --disable-pip-version-check uv
RUN --mount=type=secret,id=index_url \\
    python3 -c "import io, sys, tarfile, urllib.request; tarfile.open(fileobj=io.BytesIO(urllib.request.urlopen(sys.argv[1]).read())).extractall('/baseline')" "$BASELINE_ARCHIVE" \\
    && /venv/bin/uv pip install --python /venv/bin/python --index-url "$(cat /run/secrets/index_url)" -r /baseline/demo-app-main/pyproject.toml --extra devel \\
    && rm -rf /baseline
WORKDIR /app
COPY pyproject.toml ./
COPY providers/ providers/
RUN --mount=type=secret,id=index_url \\
    /venv/bin/uv pip install --python /venv/bin/python --index-url "$(cat /run/secrets/index_url)" -r pyproject.toml --extra devel
COPY . .
RUN --mount=type=secret,id=index_url \\
    /venv/bin/uv pip install --python /venv/bin/python --index-url "$(cat /run/secrets/index_url)" --no-deps -e .
"""

# Cache left in the image: files under the cache homes and incrinstall's temporary caches.
CACHE_BYTES = ("find /root/.cache /tmp /var/tmp -type f 2>/dev/null | xargs -r stat -c %s "
               "| awk '{s+=$1} END {print s+0}'")
PIP_LIST = "/venv/bin/python -m pip list --disable-pip-version-check --format=json"


def _engine_or_skip() -> None:
    problem = engine.engine_problem()
    if problem is None:
        try:
            engine.ensure_base_image()
            engine.require_image_wheels()
            return
        except engine.EngineUnavailable as exc:
            problem = str(exc)
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and no Docker engine can be used: {problem}")
    pytest.skip(f"no Docker engine: {problem}")


def _demo_universe() -> dict[str, dict[str, list[str]]]:
    spec = importlib.util.spec_from_file_location("incrinstall_demo", REPO / "examples" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UNIVERSE


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


class World:
    """The project, the servers and what the scenarios measured."""

    def __init__(self, root: Path, index: LoopbackIndex, archive_url: str, wheel_url: str, wheel_sha256: str) -> None:
        self.root = root
        self.project = root / "project"
        self.hand = root / "hand-made"
        self.index = index
        # README's Dockerfile as it is; what differs from its defaults is named by the arguments it offers.
        self.args = {"BASE_IMAGE": engine.BASE_TAG, "INCRINSTALL_SOURCE": wheel_url,
                     "INCRINSTALL_SHA256": wheel_sha256,
                     "BASELINE_ARCHIVE": archive_url, "BASELINE_FLAGS": "--allow-insecure-http"}
        secret = root / "secrets" / "index-url.txt"
        secret.parent.mkdir()
        secret.write_text(index.url.replace("http://", f"http://{INDEX_USER}:{SENTINEL}@", 1) + "\n")
        self.secrets = {"index_url": secret}
        self.tag = f"incrinstall-test-demo:{os.getpid()}"
        self.hand_tag = f"incrinstall-test-hand:{os.getpid()}"
        self.report: dict[str, dict] = {}

    def build(self, scenario: str, *, cache_from: str | None = None, extra_args: dict | None = None
              ) -> engine.Build:
        result = engine.build(self.project, DOCKERFILE, self.tag, {**self.args, **(extra_args or {})},
                              cache_from=cache_from, secrets=self.secrets)
        self.report.setdefault(scenario, {})["incrinstall_seconds"] = round(result.seconds, 2)
        self.report[scenario]["incrinstall_ran"] = result.ran()
        self.report[scenario]["incrinstall_step_seconds"] = {
            f"{s.stage.split()[0]} {s.instruction[:40]}": s.seconds for s in result.steps if not s.cached}
        return result

    def build_hand_made(self, scenario: str) -> engine.Build:
        shutil.rmtree(self.hand, ignore_errors=True)
        shutil.copytree(self.project, self.hand)
        (self.hand / "Dockerfile.hand").write_text(HAND_MADE)
        result = engine.build(self.hand, self.hand / "Dockerfile.hand", self.hand_tag,
                              {"BASE_IMAGE": engine.BASE_TAG, "BASELINE_ARCHIVE": self.args["BASELINE_ARCHIVE"]},
                              secrets=self.secrets)
        self.report.setdefault(scenario, {})["hand_made_seconds"] = round(result.seconds, 2)
        self.report[scenario]["hand_made_step_seconds"] = {
            f"{s.stage.split()[0]} {s.instruction[:40]}": s.seconds for s in result.steps if not s.cached}
        return result

    def packages(self, tag: str | None = None) -> dict[str, str]:
        listed = json.loads(engine.run_in(tag or self.tag, PIP_LIST))
        return {p["name"].lower(): p["version"] for p in listed}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    _engine_or_skip()
    root = tmp_path_factory.mktemp("docker")
    dists = root / "dists"
    # Bookworm's pip 23.0 misreads PEP 691 metadata keys and PEP 658 files: plain HTML for it.
    index = LoopbackIndex(dists, json=False, serve_metadata=False, auth=(INDEX_USER, SENTINEL)).start()
    for name, versions in _demo_universe().items():
        for version, requires in versions.items():
            index.add_wheel(name, version, requires_dist=requires)
    for wheel in engine.require_image_wheels().glob("*.whl"):
        index.add_file(wheel)

    project = root / "project"
    shutil.copytree(REPO / "examples" / "demo-project", project)
    (project / "demo_app" / "__init__.py").write_text('GREETING = "hello"\n')
    (project / ".dockerignore").write_text("Dockerfile*\n")
    archives = root / "archives"
    archives.mkdir()
    with tarfile.open(archives / "demo-app-main.tar.gz", "w:gz") as tar:
        tar.add(project, arcname="demo-app-main")
    # incrinstall's release wheel, as a user would fetch it from the project: here, built from this checkout.
    wheel = _build_incrinstall_wheel(archives, root)
    with engine.serve_folder(archives) as archive_base:
        made = World(root, index, f"{archive_base}/demo-app-main.tar.gz", f"{archive_base}/{wheel.name}",
                     hashlib.sha256(wheel.read_bytes()).hexdigest())
        made.dists = dists
        made.archives = archives
        try:
            yield made
        finally:
            index.stop()
            for tag in (made.tag, made.hand_tag):
                engine.docker("image", "rm", "-f", tag, check=False)
            report = os.environ.get("INCRINSTALL_DOCKER_REPORT")
            if report:
                Path(report).write_text(json.dumps(made.report, indent=2) + "\n")
            print("\n" + json.dumps(made.report, indent=2))


def _build_incrinstall_wheel(dest: Path, root: Path) -> Path:
    """incrinstall's own wheel, built from this checkout with the cached hatchling (no network)."""
    from tests.support.real_wheels import ensure_real_wheels
    from tests.support.venvs import uv_bin

    env = {**os.environ, "UV_CACHE_DIR": str(root / "uv-cache"), "UV_NO_CONFIG": "1"}
    subprocess.run([uv_bin(), "build", "--wheel", "--quiet", "--no-index", "--find-links", str(ensure_real_wheels()),
                    "--out-dir", str(dest), str(REPO)], check=True, env=env, capture_output=True,
                   timeout=300)
    (wheel,) = dest.glob("incrinstall-*.whl")
    return wheel


def _final(build: engine.Build) -> list[engine.Step]:
    stages = sorted({s.stage.split()[0] for s in build.steps} - {"incrinstall", "specs"})
    stages = [name for name in stages if any(s.instruction.startswith("COPY . .") for s in build.steps
                                             if s.stage.split()[0] == name)]
    assert len(stages) == 1, stages
    return [s for s in build.steps if s.stage.split()[0] == stages[0]]


def _final_step(build: engine.Build, contains: str) -> engine.Step:
    found = [s for s in _final(build) if contains in " ".join(s.instruction.split())]
    assert len(found) == 1, (contains, [s.instruction[:60] for s in _final(build)])
    return found[0]


def _assert_no_cache_left(world: World, tag: str) -> None:
    assert engine.run_in(tag, CACHE_BYTES).strip() == "0", engine.run_in(
        tag, "find /root/.cache /tmp /var/tmp -type f | head -20")


def test_first_build_installs_the_specs_the_project_editable_and_no_cache(world: World):
    build = world.build("first build")
    assert not _baseline_step(build).cached and not _sync_step(build).cached
    packages = world.packages()
    for name in ("webkit-lite", "orm-lite", "yaml-lite", "test-runner", "cloud-sdk-lite", "db-driver-lite"):
        assert name in packages, (name, sorted(packages))
    assert packages["orm-lite"] == "1.4"
    assert packages["demo-app"] == "1.0.0"
    assert engine.run_in(world.tag, "cd / && /venv/bin/python -c 'import demo_app; print(demo_app.GREETING)'"
                         ).strip() == "hello"
    assert engine.run_in(world.tag, "/venv/bin/python -m pip check --disable-pip-version-check; echo rc=$?"
                         ).strip().endswith("rc=0")
    _assert_no_cache_left(world, world.tag)
    assert _image_recipe(world) == _cold_recipe(world), "the recipe depends on the state of a cache"
    world.report["first build"]["image_bytes"] = engine.image_size(world.tag)
    world.report["first build"]["cache_bytes_in_image"] = 0
    world.first_packages = packages


def test_the_index_password_reaches_no_layer_and_no_history(world: World):
    """README passes index settings as BuildKit secrets: the password is used (the index wants it) and kept nowhere."""
    assert world.index.request_log and all(r.status != 401 for r in world.index.request_log)
    history = engine.docker("history", "--no-trunc", world.tag).stdout
    assert "incrinstall baseline" in history and SENTINEL not in history
    assert SENTINEL not in engine.docker("image", "inspect", world.tag).stdout
    assert engine.where_in_image(world.tag, SENTINEL.encode()) == []


def _sync_step(build: engine.Build) -> engine.Step:
    return _final_step(build, "incrinstall sync")


def _baseline_step(build: engine.Build) -> engine.Step:
    return _final_step(build, "incrinstall baseline")


def _image_recipe(world: World, tag: str | None = None) -> str:
    """The recipe manifest the install step wrote into the image (COPY . . leaves it: the context has none)."""
    return engine.run_in(tag or world.tag, "cat /app/.incrinstall-recipe.json")


def _cold_recipe(world: World, project: Path | None = None) -> str:
    """The recipe manifest of the project's tree, written on this machine from an empty incrinstall cache."""
    cold = world.root / f"cold-recipe-{time.monotonic_ns()}"
    url = world.index.url.replace("http://", f"http://{INDEX_USER}:{SENTINEL}@", 1)
    env = {**os.environ, "INCRINSTALL_CACHE_DIR": str(cold / "cache"), "UV_CACHE_DIR": str(cold / "uv")}
    proc = subprocess.run([sys.executable, "-m", "incrinstall", "recipe", str(project or world.project), "--out",
                           str(cold / "recipe"), "--extra", EXTRA, "--index-url", url, "--python", sys.executable],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return (cold / "recipe" / ".incrinstall-recipe.json").read_text()


def _ran_runs(build: engine.Build) -> list[str]:
    """The RUN steps of any stage that executed (BuildKit printed no CACHED for them)."""
    return [f"{s.stage} {s.instruction[:70]}" for s in build.steps if s.instruction.startswith("RUN") and not s.cached]


def test_the_readme_dockerfile_specs_stage_covers_the_test_project(world: World):
    """What README tells CI to run: the Dockerfile's spec stage still provides everything the recipe holds."""
    url = world.index.url.replace("http://", f"http://{INDEX_USER}:{SENTINEL}@", 1)
    proc = subprocess.run([sys.executable, "-m", "incrinstall", "recipe", str(world.project), "--check",
                           str(DOCKERFILE), "--extra", EXTRA, "--index-url", url, "--python", sys.executable],
                          env={**os.environ, "INCRINSTALL_CACHE_DIR": str(world.root / "check-cache"),
                               "UV_CACHE_DIR": str(world.root / "check-uv")},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_source_only_edit_runs_no_install_step(world: World):
    _edit(world.project / "demo_app" / "__init__.py", '"hello"', '"hello, edited"')
    build = world.build("source-only edit")
    # No RUN executes in any stage: the install step's inputs are the spec files and empty placeholders.
    assert _ran_runs(build) == [], build.ran()
    final = _final(build)
    # BuildKit prints the FROM of a locally stored image as CACHED or as DONE, depending on whether it
    # re-read the image config; either way nothing is installed there, so only the other steps count.
    ran = [s.instruction for s in final if not s.cached and not s.instruction.startswith("FROM")]
    assert ran == ["COPY . ."], build.ran()
    assert not any(s.instruction.startswith("RUN") and not s.cached for s in final)
    assert engine.run_in(world.tag, "cd / && /venv/bin/python -c 'import demo_app; print(demo_app.GREETING)'"
                         ).strip() == "hello, edited"
    assert world.packages() == world.first_packages


def test_bump_reruns_only_the_sync_layer_and_changes_exactly_the_bumped_packages(world: World):
    before = world.packages()
    _edit(world.project / "pyproject.toml", '"orm-lite>=1.4,<1.5"', '"orm-lite>=1.5"')
    build = world.build("one-package bump")
    assert _baseline_step(build).cached
    assert not _sync_step(build).cached
    after = world.packages()
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    assert changed == {"orm-lite", "typing-ext-lite"}, changed
    assert after["orm-lite"] == "1.5"
    _assert_no_cache_left(world, world.tag)
    # Written with the caches warm from every build before: the bytes of a cold cache's recipe all the same.
    assert _image_recipe(world) == _cold_recipe(world)


def test_removal_drops_the_package_and_its_orphans(world: World):
    before = world.packages()
    _edit(world.project / "pyproject.toml", '    "yaml-lite",\n', "")
    build = world.build("removal")
    assert _baseline_step(build).cached
    assert not _sync_step(build).cached
    after = world.packages()
    assert set(before) - set(after) == {"yaml-lite", "scanner-lite"}
    assert set(after) <= set(before)
    assert engine.run_in(world.tag, "/venv/bin/python -m pip check --disable-pip-version-check; echo rc=$?"
                         ).strip().endswith("rc=0")
    world.report["removal"]["image_bytes"] = engine.image_size(world.tag)


def test_provider_yaml_change_is_noticed(world: World):
    before = world.packages()
    _edit(world.project / "providers" / "db" / "provider.yaml", "db-driver-lite>=2.1,<2.2", "db-driver-lite>=2.2")
    build = world.build("provider.yaml change")
    assert _baseline_step(build).cached
    assert not _sync_step(build).cached
    after = world.packages()
    assert after["db-driver-lite"] == "2.2"
    changed = {n for n in set(before) | set(after) if before.get(n) != after.get(n)}
    assert {"db-driver-lite", "wire-proto-lite"} <= changed <= {"db-driver-lite", "wire-proto-lite", "sql-core"}


def test_plain_run_without_a_cache_mount_leaves_no_cache(world: World):
    tool = f"incrinstall-test-tool:{os.getpid()}"
    tag = f"incrinstall-test-plain:{os.getpid()}"
    dockerfile = world.root / "Dockerfile.plain"
    dockerfile.write_text(
        f"FROM {tool}\nARG BASELINE_ARCHIVE\n"
        "RUN --mount=type=secret,id=index_url python3 -m venv /venv2 "
        "&& UV_DEFAULT_INDEX=\"$(cat /run/secrets/index_url)\" /opt/incrinstall/bin/incrinstall baseline "
        "\"$BASELINE_ARCHIVE\" --allow-insecure-http --extra devel --python /venv2/bin/python\n")
    try:
        engine.build(world.project, DOCKERFILE, tool, world.args, target="incrinstall", secrets=world.secrets)
        engine.build(world.root, dockerfile, tag, {"BASELINE_ARCHIVE": world.args["BASELINE_ARCHIVE"]},
                     secrets=world.secrets)
        assert "webkit-lite" in engine.run_in(tag, "/venv2/bin/python -m pip list --disable-pip-version-check")
        _assert_no_cache_left(world, tag)
        # incrinstall's own stage, where pip used the index: the password stays out of it too.
        assert engine.where_in_image(tool, SENTINEL.encode()) == []
    finally:
        engine.docker("image", "rm", "-f", tag, tool, check=False)


def test_registry_cache_reuses_the_baseline_layer_after_a_wipe(world: World):
    with engine.registry() as registry:
        remote = f"{registry.address}/incrinstall-demo:cache"
        world.build("registry push", extra_args={"BUILDKIT_INLINE_CACHE": "1"})
        engine.docker("tag", world.tag, remote)
        engine.docker("push", remote)
        # What a CI fleet shares: the layers and the inline cache's metadata, as the registry stores them.
        assert list(registry.storage.rglob("*")) and engine.where_in_folder(registry.storage, SENTINEL.encode()) == []
        engine.docker("image", "rm", "-f", world.tag, remote)
        engine.docker("builder", "prune", "-af")
        _edit(world.project / "pyproject.toml", '"cli-kit>=3.0",\n', '"cli-kit>=3.0",\n    "metrics-lite",\n')
        build = world.build("registry rebuild after a spec change", cache_from=remote,
                            extra_args={"BUILDKIT_INLINE_CACHE": "1"})
        assert _baseline_step(build).cached, build.log[-3000:]
        assert not _sync_step(build).cached
        assert "metrics-lite" in world.packages()
        # A fresh runner again, after a source-only edit: the inline cache of the final stage is enough,
        # since no step before `COPY . .` reads the sources; nothing runs but that COPY.
        engine.docker("tag", world.tag, remote)
        engine.docker("push", remote)
        engine.docker("image", "rm", "-f", world.tag, remote)
        engine.docker("builder", "prune", "-af")
        _edit(world.project / "demo_app" / "__init__.py", "GREETING = ", "GREETING = 'fresh runner' or ")
        build = world.build("registry rebuild after a source-only edit", cache_from=remote)
        assert _ran_runs(build) == [], build.ran()
        assert [s.instruction for s in _final(build) if not s.cached and not s.instruction.startswith("FROM")] \
            == ["COPY . ."], build.ran()
        assert engine.run_in(world.tag, "cd / && /venv/bin/python -c 'import demo_app; print(demo_app.GREETING)'"
                             ).strip() == "fresh runner"


def test_hand_made_dockerfile_for_timing(world: World):
    """The Airflow-style Dockerfile on the same edits; it keeps what the specs dropped, and its uv cache."""
    for scenario, edit in (
        ("first build", None),
        ("source-only edit", (world.project / "demo_app" / "__init__.py", '"hello, edited"', '"hello, again"')),
        ("one-package bump", (world.project / "pyproject.toml", '"webkit-lite>=2.0"', '"webkit-lite>=2.1"')),
        ("removal", (world.project / "pyproject.toml", '    "coverage-lite",\n', "")),  # whether or not the registry test ran
    ):
        if edit:
            _edit(*edit)
            world.build(scenario + " (2nd)")
        world.build_hand_made(scenario)
    # Dropped by the branch, installed by the baseline layer: the hand-made sync never removes them.
    world.report["removal"]["hand_made_keeps"] = sorted(
        {"yaml-lite", "scanner-lite"} & set(world.packages(world.hand_tag)))
    assert not {"yaml-lite", "scanner-lite"} & set(world.packages())
    world.report["hand-made image"] = {
        "image_bytes": engine.image_size(world.hand_tag),
        "cache_bytes_in_image": int(engine.run_in(world.hand_tag, CACHE_BYTES).strip()),
    }
    world.report["incrinstall image"] = {
        "image_bytes": engine.image_size(world.tag),
        "cache_bytes_in_image": int(engine.run_in(world.tag, CACHE_BYTES).strip()),
    }
    assert world.report["incrinstall image"]["cache_bytes_in_image"] == 0


# The corporate pattern of the issue: the proxy's CA appended to the CA bundle, the bundle copied over the
# system one and named by SSL_CERT_FILE; /etc/ssl/certs/*.0 not regenerated (no update-ca-certificates).
CORPORATE_BASE = """\
FROM {base}
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
"""


def test_https_index_and_archive_signed_by_a_private_ca_installed_the_corporate_way(world: World):
    started = time.perf_counter()
    ca = make_ca(world.root / "corporate-ca")
    tls = server_context(ca)
    base_dir = world.root / "corporate-base"
    base_dir.mkdir()
    system_bundle = engine.run_in(engine.BASE_TAG, "cat /etc/ssl/certs/ca-certificates.crt")
    (base_dir / "ca-certificates.crt").write_text(system_bundle.rstrip("\n") + "\n" + (ca / "ca.pem").read_text())
    (base_dir / "Dockerfile").write_text(CORPORATE_BASE.format(base=engine.BASE_TAG))
    base_tag = f"incrinstall-test-corporate-base:{os.getpid()}"
    tag = f"incrinstall-test-corporate:{os.getpid()}"

    project = world.root / "corporate-project"
    shutil.copytree(REPO / "examples" / "demo-project", project)
    (project / "demo_app" / "__init__.py").write_text('GREETING = "hello"\n')
    (project / ".dockerignore").write_text("Dockerfile*\n")
    files = world.root / "corporate-files"
    files.mkdir()
    with tarfile.open(files / "demo-app-main.tar.gz", "w:gz") as tar:
        tar.add(project, arcname="demo-app-main")
    (wheel,) = world.archives.glob("incrinstall-*.whl")
    shutil.copy2(wheel, files / wheel.name)
    # The branch moved on: its sync is a delta incrinstall resolves itself, asking the https index.
    _edit(project / "pyproject.toml", '"orm-lite>=1.4,<1.5"', '"orm-lite>=1.5"')
    secret = world.root / "secrets" / "https-index-url.txt"
    ca_line = (ca / "ca.pem").read_text().splitlines()[1]  # a line of the CA's base64, found only where it is
    try:
        engine.build(base_dir, base_dir / "Dockerfile", base_tag, {})
        with LoopbackIndex(world.dists, json=False, serve_metadata=False, tls=tls) as index, \
                engine.serve_folder(files, tls=tls) as files_url:
            secret.write_text(index.url + "\n")
            assert index.url.startswith("https://") and files_url.startswith("https://")
            args = {"BASE_IMAGE": base_tag, "INCRINSTALL_SOURCE": f"{files_url}/{wheel.name}",
                    "INCRINSTALL_SHA256": world.args["INCRINSTALL_SHA256"],
                    "BASELINE_ARCHIVE": f"{files_url}/demo-app-main.tar.gz"}
            build = engine.build(project, DOCKERFILE, tag, args, secrets={"index_url": secret})
            agents = {r.headers.get("user-agent", "").split("/")[0] for r in index.request_log}
        # pip (incrinstall's stage), uv (the baseline's resolution, every install) and incrinstall's own
        # requests (the sync's delta) all trusted the CA that only the replaced bundle file names.
        assert {"pip", "uv", "incrinstall"} <= agents, agents
        assert not _baseline_step(build).cached and not _sync_step(build).cached
        packages = world.packages(tag)
        assert packages["orm-lite"] == "1.5" and packages["typing-ext-lite"] == "4.0" and packages["demo-app"] == "1.0.0"
        assert engine.run_in(tag, "/venv/bin/python -m pip check --disable-pip-version-check; echo rc=$?"
                             ).strip().endswith("rc=0")
        # The image is the corporate pattern as claimed: the CA is in the bundle, in no hashed entry.
        assert engine.run_in(tag, f"grep -c -F '{ca_line}' /etc/ssl/certs/ca-certificates.crt").strip() == "1"
        assert engine.run_in(tag, f"grep -l -F '{ca_line}' /etc/ssl/certs/*.0 | wc -l").strip() == "0"
        assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in engine.docker(
            "image", "inspect", "-f", "{{.Config.Env}}", tag).stdout
    finally:
        engine.docker("image", "rm", "-f", tag, base_tag, check=False)
    world.report["https index and archive, private CA (corporate pattern)"] = {
        "incrinstall_seconds": round(build.seconds, 2), "test_seconds": round(time.perf_counter() - started, 2),
        "incrinstall_step_seconds": {f"{s.stage.split()[0]} {s.instruction[:40]}": s.seconds
                                     for s in build.steps if not s.cached}}
