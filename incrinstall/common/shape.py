"""The "shape" of a pyproject.toml: a digest of everything in it but what only changes the dependencies.

Dependencies, optional dependencies, dependency groups and uv's or incrinstall's own settings do
not change what a build backend builds beyond Requires-Dist / Provides-Extra, nor what it needs
to build; everything else (name, version, build system, scripts, entry points, hatch's build
settings) may. Equal shapes let an editable install be refreshed in place, a kept editable wheel
be reused and a kept get_requires_for_build_* answer stand.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def pyproject_shape(data: Mapping[str, object]) -> str:
    """The digest of `data` (a parsed pyproject.toml) without its dependency tables and uv's or incrinstall's own."""
    rest = {key: value for key, value in data.items() if key != "dependency-groups"}
    project, tool = rest.get("project"), rest.get("tool")
    if isinstance(project, dict):
        rest["project"] = {k: v for k, v in project.items() if k not in ("dependencies", "optional-dependencies")}
    if isinstance(tool, dict):
        rest["tool"] = {k: v for k, v in tool.items() if k not in ("uv", "incrinstall")}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode("utf-8")).hexdigest()
