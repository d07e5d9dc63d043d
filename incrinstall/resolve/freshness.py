"""Is the uv.lock still the lock of the specs? uv's own answer, `uv lock --check`, asked as `uv sync --locked` asks it.

uv reads the project as the user's uv would (its `[tool.uv]` settings, uv.toml, UV_* variables): the
lock records those settings (exclude-newer as a span, the indexes), and the flags incrinstall spells
out for its own resolution (an exclude-newer counted back to a timestamp, the default index by URL)
would make uv call a fresh lock stale. Only what uv cannot find itself is passed on: the index
options given on incrinstall's command line or in pip's variables (IndexConfig.given_args), which a
stale lock's check needs to reach the index. A lock that matches its specs costs uv no request to any
index (0.05 to 0.1 s for a lock of 900 packages), and uv's "fresh" is remembered under everything that
could change it: the spec fingerprint (the lock and every pyproject.toml and uv.toml read), the
interpreter, the flags, uv itself and every UV_* variable.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from incrinstall.common.atomic import write_atomic
from incrinstall.common.errors import SpecError, UvError
from incrinstall.common.paths import cache_dir
from incrinstall.common.uv import run_uv, uv_binary

# uv's words when the lock does not match (exit 1); any other failure is uv's own, reported as it is.
_STALE = "needs to be updated"


def check_uv_lock(project_dir: Path, rel: str, *, python: str, given_args: Sequence[str] = (),
                  spec_fingerprint: str | None = None) -> None:
    """Nothing when uv says the lock at `project_dir` is up to date; SpecError naming it when it is not.

    `spec_fingerprint` (of the spec files, the lock among them): a "fresh" uv said under the same one is remembered.
    """
    args = ["lock", "--check", "--python", python, *given_args]
    remembered = _verdict_file(project_dir, args, spec_fingerprint) if spec_fingerprint else None
    if remembered is not None and remembered.is_file():
        return
    try:
        run_uv(args, cwd=project_dir, what=f"checking {rel} with `uv lock --check`", own_settings=True)
    except UvError as exc:
        said = exc.output or exc.detail or exc.message
        if _STALE not in said:
            raise
        causes = [line.strip().removeprefix("cause:").strip() for line in said.splitlines()
                  if line.strip().startswith("cause:")]
        why = f" ({'; '.join(causes)})" if causes else ""
        raise SpecError(f"the lock does not match the project's specs{why}: run `uv lock`, or pass --frozen to "
                        "install the lock as it is (--no-lock to resolve the specs instead)", where=rel,
                        detail=said.strip()) from None
    if remembered is not None:
        try:
            write_atomic(remembered, json.dumps({"fresh": True, "args": args}))
        except OSError:
            pass  # only a check more next time


def _verdict_file(project_dir: Path, args: list[str], spec_fingerprint: str) -> Path:
    """Where uv's "fresh" for these specs, flags, interpreter, uv, its user and system settings and UV_* is kept."""
    binary = uv_binary()
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    identities = []
    for path in (binary, os.path.join(config_home, "uv", "uv.toml"), "/etc/uv/uv.toml"):
        try:
            st = os.stat(path)
            identities.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            identities.append([path])
    material = json.dumps([str(project_dir), args, spec_fingerprint, identities,
                           sorted((k, v) for k, v in os.environ.items() if k.startswith("UV_"))])
    return Path(cache_dir()) / "lock-check" / (hashlib.sha256(material.encode("utf-8", "surrogateescape"))
                                               .hexdigest() + ".json")
