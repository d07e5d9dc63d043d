"""Is the uv.lock still the lock of the specs? uv's own answer, `uv lock --check`, asked as `uv sync --locked` asks it.

uv reads the project as the user's uv would (its `[tool.uv]` settings, uv.toml, UV_* variables): the
lock records those settings (exclude-newer as a span, the indexes), and the flags incrinstall spells
out for its own resolution (an exclude-newer counted back to a timestamp, the default index by URL)
would make uv call a fresh lock stale. Only what uv cannot find itself is passed on: the index
options given on incrinstall's command line or in pip's variables (IndexConfig.given_args), which a
stale lock's check needs to reach the index. A lock that matches its specs costs uv no request to any
index (a few tens of milliseconds for a lock of 900 packages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from incrinstall.common.errors import InstallError, SpecError
from incrinstall.common.uv import run_uv

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

# uv's words when the lock does not match (exit 1); any other failure is uv's own, reported as it is.
_STALE = "needs to be updated"


def check_uv_lock(project_dir: Path, rel: str, *, python: str, given_args: Sequence[str] = ()) -> None:
    """Nothing when uv says the lock at `project_dir` is up to date; SpecError naming it when it is not."""
    args = ["lock", "--check", "--python", python, *given_args]
    try:
        run_uv(args, cwd=project_dir, what=f"checking {rel} with `uv lock --check`", own_settings=True)
    except InstallError as exc:
        said = getattr(exc, "output", "") or exc.detail or exc.message
        if _STALE not in said:
            raise
        causes = [line.strip().removeprefix("cause:").strip() for line in said.splitlines()
                  if line.strip().startswith("cause:")]
        why = f" ({'; '.join(causes)})" if causes else ""
        raise SpecError(f"the lock does not match the project's specs{why}: run `uv lock`, or pass --frozen to "
                        "install the lock as it is (--no-lock to resolve the specs instead)", where=rel,
                        detail=said.strip()) from None
