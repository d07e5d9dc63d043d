"""A real Docker engine for tests: the base image made without a registry, builds, and their plain logs.

One-time setup step (network: Debian's mirror and the package registry), run by .ci/run:

    python -m tests.support.docker_engine

It makes the base image (`debootstrap --variant=minbase --include=python3,python3-venv,
ca-certificates bookworm`, then `docker import`) and keeps it as a `docker save` tarball, and
downloads the wheels incrinstall needs inside that image (its dependencies, for the image's
Python and platform), all under ~/.cache/incrinstall-tests/docker. The tests then need nothing
beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DOCKER = "/usr/bin/docker"
BASE_TAG = "incrinstall-test-base:bookworm"
IMAGE_PYTHON = "3.11"  # bookworm's python3


def _image_wheels() -> tuple[str, ...]:
    """incrinstall's own dependencies (from pyproject.toml, so a new one is fetched too) and the example's backend."""
    import tomlkit

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    dependencies = tomlkit.parse(text).unwrap()["project"]["dependencies"]
    return (*dependencies, "hatchling", "editables")


IMAGE_WHEELS = _image_wheels()
SETUP_COMMAND = "python -m tests.support.docker_engine"
GUARD_PROXY = "http://127.0.0.1:9"  # the conftest's dead proxy


class EngineUnavailable(RuntimeError):
    """No engine, or the setup step has not been run."""


def cache_dir() -> Path:
    explicit = os.environ.get("INCRINSTALL_TEST_DOCKER")
    if explicit:
        return Path(explicit)
    return Path(os.path.expanduser("~")) / ".cache" / "incrinstall-tests" / "docker"


def base_tarball() -> Path:
    return cache_dir() / "base-bookworm.tar"


def image_wheels_dir() -> Path:
    return cache_dir() / "image-wheels"


def docker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DOCKER_BUILDKIT"] = "1"
    # The conftest's network guard points proxies at a dead port: the client talks to a unix socket.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(key, None)
    return env


def docker(*args: str, check: bool = True, timeout: float = 600, input: str | None = None
           ) -> subprocess.CompletedProcess:
    proc = subprocess.run([DOCKER, *args], env=docker_env(), capture_output=True, text=True, timeout=timeout,
                          input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def engine_problem() -> str | None:
    """Why no engine can be used here (None: it can)."""
    if not os.path.exists(DOCKER):
        return f"{DOCKER} not found (apt-get install docker.io)"
    try:
        proc = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker version: {exc}"
    if proc.returncode != 0:
        return f"the Docker engine is not reachable: {(proc.stderr or proc.stdout).strip()[-300:]}"
    return None


def ensure_base_image() -> str:
    """The base image in the engine: loaded from the cached tarball (made by the setup step)."""
    if docker("image", "inspect", BASE_TAG, check=False).returncode == 0:
        return BASE_TAG
    if not base_tarball().is_file():
        raise EngineUnavailable(f"the base image is not cached ({base_tarball()}); run `{SETUP_COMMAND}` once")
    docker("load", "-i", str(base_tarball()))
    return BASE_TAG


def prepare() -> None:
    """The setup step: the base image tarball and the image's wheels (uses the network once)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if not base_tarball().is_file():
        if docker("image", "inspect", BASE_TAG, check=False).returncode != 0:
            with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache) as rootfs:
                subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                                "bookworm", rootfs], check=True, stdout=subprocess.DEVNULL)
                tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
                subprocess.run([DOCKER, "import", "-", BASE_TAG], stdin=tar.stdout, check=True, env=docker_env(),
                               stdout=subprocess.DEVNULL)
                tar.wait()
        partial = base_tarball().with_suffix(".part")
        docker("save", "-o", str(partial), BASE_TAG)
        partial.replace(base_tarball())
    wheels = image_wheels_dir()
    marker = wheels / ".complete"
    if not _wheels_ok(marker):
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--isolated", "--quiet", "--only-binary=:all:",
                        "--python-version", IMAGE_PYTHON, "--implementation", "cp", "--abi", "cp311",
                        "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
                        "--platform", "manylinux_2_28_x86_64", "--platform", "any",
                        "--dest", str(wheels), *IMAGE_WHEELS], check=True)
        marker.write_text(json.dumps(list(IMAGE_WHEELS)) + "\n")


def _wheels_ok(marker: Path) -> bool:
    """The wheels were fetched for exactly today's list (a dependency added since means fetch again)."""
    try:
        return json.loads(marker.read_text()) == list(IMAGE_WHEELS)
    except (OSError, ValueError):
        return False


def require_image_wheels() -> Path:
    wheels = image_wheels_dir()
    if not _wheels_ok(wheels / ".complete"):
        raise EngineUnavailable(f"the image's wheels are not cached ({wheels}); run `{SETUP_COMMAND}` once")
    return wheels


# -- builds and their logs ------------------------------------------------------------------

_STEP = re.compile(r"^#(\d+) \[([^\]]+)\] (.*)$")


@dataclass
class Step:
    stage: str  # "planner 3/3"
    instruction: str  # "RUN /opt/incrinstall/bin/incrinstall recipe ..."
    cached: bool = False
    seconds: float = 0.0


@dataclass
class Build:
    log: str
    seconds: float
    steps: list[Step] = field(default_factory=list)

    def step(self, stage: str, startswith: str) -> Step:
        """The one step of `stage` ("planner", "stage-2") whose instruction starts with `startswith`."""
        found = [s for s in self.steps if s.stage.split()[0] == stage and s.instruction.startswith(startswith)]
        assert len(found) == 1, (stage, startswith, [(s.stage, s.instruction[:60]) for s in self.steps])
        return found[0]

    def ran(self) -> list[str]:
        """The steps that executed (not CACHED), as "stage instruction"."""
        return [f"{s.stage.split()[0]} {s.instruction[:70]}" for s in self.steps
                if not s.cached and not s.instruction.startswith("FROM")]


def parse_plain_log(log: str) -> list[Step]:
    """BuildKit's --progress=plain log, one Step per Dockerfile instruction."""
    steps: dict[str, Step] = {}
    for line in log.splitlines():
        match = _STEP.match(line)
        if match:
            number, stage, instruction = match.groups()
            if stage.startswith("internal]") or stage == "internal":
                continue
            steps.setdefault(number, Step(stage=stage, instruction=instruction))
            continue
        head, _, rest = line.partition(" ")
        if not head.startswith("#") or head[1:] not in steps:
            continue
        if rest.strip() == "CACHED":
            steps[head[1:]].cached = True
        done = re.match(r"DONE (\d+(?:\.\d+)?)s", rest.strip())
        if done:
            steps[head[1:]].seconds = float(done.group(1))
    return [s for s in steps.values() if re.match(r"\S+ \d+/\d+$", s.stage)]


def build(context: Path, dockerfile: Path, tag: str, build_args: dict[str, str], *,
          cache_from: str | None = None, target: str | None = None, secrets: dict[str, Path] | None = None,
          timeout: float = 600) -> Build:
    """`docker build`; `secrets` are BuildKit secrets (id -> file), which no layer, history or cache keeps."""
    cmd = ["build", "--progress=plain", "--network=host", "-f", str(dockerfile), "-t", tag]
    # The network guard inside the build: Docker's predefined proxy ARGs reach every RUN step (and
    # stay out of the cache key), so anything not for loopback goes to a dead port and fails.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        cmd += ["--build-arg", f"{key}={GUARD_PROXY}"]
    cmd += ["--build-arg", "NO_PROXY=127.0.0.1,localhost", "--build-arg", "no_proxy=127.0.0.1,localhost"]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    for secret_id, path in (secrets or {}).items():
        cmd += ["--secret", f"id={secret_id},src={path}"]
    if cache_from:
        cmd += ["--cache-from", cache_from]
    if target:
        cmd += ["--target", target]
    cmd.append(str(context))
    started = time.perf_counter()
    proc = docker(*cmd, check=False, timeout=timeout)
    seconds = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise AssertionError(f"docker build failed ({proc.returncode}):\n{log[-6000:]}")
    return Build(log=log, seconds=seconds, steps=parse_plain_log(log))


def run_in(tag: str, script: str, *, check: bool = True) -> str:
    """Run a shell script in a throwaway container of `tag` (no network); its stdout."""
    proc = docker("run", "--rm", "--network=none", tag, "sh", "-c", script, check=check, timeout=120)
    return proc.stdout


def image_size(tag: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())


# -- where a secret could have gone --------------------------------------------------------------


def where_in_image(tag: str, needle: bytes) -> list[str]:
    """Every place `needle` is in the image as `docker save` exports it: its config (history, labels, the
    inline cache's metadata), its manifest, and every file of every layer (streamed, one file at a time)."""
    found: list[str] = []
    with tempfile.TemporaryDirectory(prefix="image-scan-") as tmp:
        saved = Path(tmp) / "image.tar"
        docker("save", "-o", str(saved), tag)
        with tarfile.open(saved, mode="r|") as outer:
            for member in outer:
                if not member.isfile():
                    continue
                stream = outer.extractfile(member)
                if member.name.endswith("layer.tar"):
                    with tarfile.open(fileobj=stream, mode="r|") as layer:
                        found += [f"{member.name}:{f.name}" for f in layer
                                  if f.isfile() and _stream_has(layer.extractfile(f), needle)]
                elif _stream_has(stream, needle):
                    found.append(member.name)
    return found


def where_in_folder(folder: Path, needle: bytes) -> list[str]:
    """The files under `folder` (a registry's storage) holding `needle`, gzip-compressed blobs read unpacked."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            packed = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if packed else open
        with opener(path, "rb") as fh:
            if _stream_has(fh, needle):
                found.append(str(path.relative_to(folder)))
    return found


def _stream_has(stream, needle: bytes, chunk: int = 1 << 20) -> bool:
    tail = b""
    while block := stream.read(chunk):
        if needle in tail + block:
            return True
        tail = block[-len(needle):]
    return False


# -- loopback servers -----------------------------------------------------------------------

@contextlib.contextmanager
def serve_folder(folder: Path, port: int = 0, tls: ssl.SSLContext | None = None):
    """Serve `folder` over HTTP on 127.0.0.1 (https with a server-side `tls` context); yields the base URL."""
    handler = type("Handler", (http.server.SimpleHTTPRequestHandler,), {
        "log_message": lambda self, *a: None,
        "__init__": lambda self, *a, **kw: http.server.SimpleHTTPRequestHandler.__init__(
            self, *a, directory=str(folder), **kw),
    })
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls is not None else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Registry:
    address: str  # "127.0.0.1:5000"
    storage: Path  # where it keeps blobs and manifests


@contextlib.contextmanager
def registry(port: int = 5000):
    """Debian's docker-registry on 127.0.0.1:port, storing into a temporary folder; yields a Registry."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        raise EngineUnavailable("docker-registry not found (apt-get install docker-registry)")
    with tempfile.TemporaryDirectory(prefix="registry-") as tmp:
        config = Path(tmp) / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {tmp}/data\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n")
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            import urllib.request

            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            for _ in range(100):
                try:
                    opener.open(f"http://127.0.0.1:{port}/v2/", timeout=1).read()
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise EngineUnavailable(f"docker-registry exited: {proc.stderr.read().decode()[-500:]}") from None
                    time.sleep(0.1)
            yield Registry(f"127.0.0.1:{port}", Path(tmp) / "data")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    problem = engine_problem()
    if problem:
        raise SystemExit(f"no Docker engine: {problem}")
    prepare()
    print(f"docker test cache ready in {cache_dir()}")
