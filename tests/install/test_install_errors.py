"""When uv cannot build or fetch a package, the error starts with that package and version.

uv's headline ("Failed to build `badpkg==1.0`") comes first in its output and used to scroll
out of the 25-line tail; the build's own last words (here the backend's RuntimeError) must
stay too. The sdist's build backend is real (an in-tree backend through `backend-path`), and
it fails the way a C extension without pkg-config does.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.support.venvs import installed

pytestmark = pytest.mark.slow

BACKEND = '''\
def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    for step in range(40):  # a long build log, as a real one is
        print(f"checking for feature {step}... yes")
    raise RuntimeError("pkg-config is required to build badpkg")
'''


def failing_sdist(folder: Path) -> Path:
    files = {
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "failing_backend"\nbackend-path = ["."]\n'
                          '[project]\nname = "badpkg"\nversion = "1.0"\n',
        "failing_backend.py": BACKEND,
        # Static metadata (2.2, nothing dynamic): resolving needs no build, only installing does.
        "PKG-INFO": "Metadata-Version: 2.2\nName: badpkg\nVersion: 1.0\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "badpkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"badpkg-1.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_a_package_that_fails_to_build_is_named_first_with_the_builds_last_words(
        index, tmp_path, run_cli, venv_factory):
    index.add_wheel("goodpkg", "1.0")
    index.add_file(failing_sdist(tmp_path / "sdists"))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "pyproject.toml").write_text('[project]\nname = "myproj"\nversion = "1.0"\n'
                                         f'dependencies = {json.dumps(["goodpkg", "badpkg"])}\n')
    python = venv_factory("target")

    proc = run_cli("sync", tree, "--python", python, "--index-url", index.url)
    assert proc.returncode != 0
    first = proc.stderr.strip().splitlines()[0]
    assert "Failed to build `badpkg==1.0`" in first, proc.stderr
    assert "pkg-config is required to build badpkg" in proc.stderr
    assert "checking for feature 0..." not in proc.stderr  # the middle of the log is cut, and says so
    assert "lines)" in proc.stderr
    assert installed(python) == {}  # uv installs all or nothing
