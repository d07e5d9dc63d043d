"""README shows the Dockerfile the Docker integration test builds, verbatim."""

from __future__ import annotations

from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


def test_readme_shows_examples_dockerfile_verbatim():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    dockerfile = (REPO / "examples" / "Dockerfile").read_text(encoding="utf-8")
    assert f"```dockerfile\n{dockerfile}```\n" in readme
