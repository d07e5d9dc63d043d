"""Where things are: the repository, its test data, the bundled example. One home, whatever folder a test sits in."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
AIRFLOW_LIKE = TEST_DATA / "airflow_like"
