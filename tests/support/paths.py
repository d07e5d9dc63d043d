"""Where things are: the repository, its test data, the bundled example, the harness's own caches.

One home, whatever folder a test sits in.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
AIRFLOW_LIKE = TEST_DATA / "airflow_like"


def harness_cache(name: str, variable: str) -> Path:
    """A cache the harness keeps between runs (real wheels, Docker images): `$variable` when set, else
    ~/.cache/incrinstall-tests/<name>."""
    explicit = os.environ.get(variable)
    if explicit:
        return Path(explicit)
    return Path(os.path.expanduser("~")) / ".cache" / "incrinstall-tests" / name
