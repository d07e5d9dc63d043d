"""README shows the Dockerfile the Docker integration test builds, verbatim, and that Dockerfile is safe to copy.

Safe to copy: incrinstall comes from a pinned URL checked against its sha256 (never a name an index
could serve), and nothing that may hold a credential is a build argument (those stay in the image's
history): the index comes in as BuildKit secrets, in every step that fetches.
"""

from __future__ import annotations

import re

from incrinstall import __version__
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
DOCKERFILE = (REPO / "examples" / "Dockerfile").read_text(encoding="utf-8")
# Each argument here was looked at: it names no index and cannot hold a credential (README says so).
ARGS = {"BASE_IMAGE", "INCRINSTALL_SOURCE", "INCRINSTALL_SHA256", "BASELINE_ARCHIVE", "BASELINE_FLAGS"}


def _instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    return [" ".join(part.split()) for part in re.split(r"(?<!\\)\n", "\n".join(lines).replace("\\\n", " "))
            if part.strip()]


def _defaults() -> dict[str, str]:
    return dict(m.groups() for m in re.finditer(r"^ARG (\w+)=(\S*)$", DOCKERFILE, re.MULTILINE))


def test_readme_shows_examples_dockerfile_verbatim():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"```dockerfile\n{DOCKERFILE}```\n" in readme


def test_incrinstall_comes_from_a_pinned_url_and_never_by_name():
    defaults = _defaults()
    source = defaults["INCRINSTALL_SOURCE"]
    assert source.startswith("https://") and source.endswith(f"/incrinstall-{__version__}-py3-none-any.whl"), source
    assert re.fullmatch(r"[0-9a-f]{64}", defaults["INCRINSTALL_SHA256"])
    installs = [i for i in _instructions() if i.startswith("RUN") and "pip " in i]
    assert installs and all("--require-hashes" in i and "${INCRINSTALL_SHA256}" in i for i in installs)
    # No argument of any pip install is a requirement on incrinstall by name (an index would choose the code).
    for instruction in _instructions():
        for command in re.split(r"&&|;|\|\|", instruction):
            words = command.split()
            if "install" not in words or not any(w.endswith(("pip", "pip3")) for w in words):
                continue
            by_name = [w for w in words if re.fullmatch(r"['\"]?incrinstall\s*(\[[^\]]*\])?\s*([<>=!~].*)?", w)]
            assert not by_name, command


def test_no_build_argument_or_env_can_carry_an_index_credential():
    declared = set(re.findall(r"^ARG (\w+)", DOCKERFILE, re.MULTILINE))
    assert declared == ARGS
    env = " ".join(i for i in _instructions() if i.startswith("ENV"))
    assert not re.search(r"INDEX|NETRC|TOKEN|PASSWORD", env), env


def test_every_step_that_fetches_gets_the_index_as_secrets():
    fetching = [i for i in _instructions() if i.startswith("RUN") and ("incrinstall " in i or "pip " in i)]
    assert len(fetching) == 3  # incrinstall's own install, baseline, recipe + sync
    for instruction in fetching:
        assert "--mount=type=secret,id=index_url" in instruction, instruction
        assert "--mount=type=secret,id=netrc,target=/root/.netrc" in instruction, instruction
        assert "$(cat /run/secrets/index_url" in instruction, instruction


def test_readme_says_how_long_the_test_suite_takes():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("To set up and run the test suite", 1)[1].split("```", 1)[0]
    assert re.search(r"about \d+-\d+ minutes", section), section
