"""The packages a sync never removes, not even with --exact: the tools an environment needs to stay usable.

Its own module, importing nothing, so the command line can name them in its help without loading the planner.
"""

from __future__ import annotations

ALWAYS_KEEP = frozenset({"pip", "setuptools", "wheel", "uv", "incrinstall"})


def always_kept_text() -> str:
    """"pip, setuptools, uv, wheel and incrinstall": the list as --help and README word it."""
    others = sorted(ALWAYS_KEEP - {"incrinstall"})
    return f"{', '.join(others)} and incrinstall"
