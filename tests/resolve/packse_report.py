"""Print pass/fail/unsupported counts of the packse scenario tests, with the reason for each non-pass.

Usage:
    python tests/resolve/packse_report.py                 # runs tests/resolve/test_packse.py under pytest
    python tests/resolve/packse_report.py --xml FILE      # reads an existing junit xml instead
    python tests/resolve/packse_report.py -- -k extras    # extra arguments go to pytest

Exit status: 0 when no incrinstall scenario failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEST_FILE = HERE / "test_packse.py"
_CASE = re.compile(r"^(test_packse(?:_index_matches_uv)?)\[(.+)\]$")


@dataclass
class Outcome:
    test: str  # "test_packse" or "test_packse_index_matches_uv"
    scenario: str
    status: str  # passed | failed | unsupported | skipped | xfailed | xpassed
    reason: str = ""


def run_pytest(xml_path: Path, extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", str(TEST_FILE), "-q", "-p", "no:cacheprovider",
           "-o", "junit_family=xunit2", f"--junitxml={xml_path}", *extra]
    return subprocess.run(cmd, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def _verdict(element: ET.Element) -> str:
    """The first line of a failure message (an assertion's verdict, or the exception raised)."""
    message = element.get("message") or element.text or ""
    line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    return line.removeprefix("AssertionError: ")


def parse_junit(xml_path: Path) -> list[Outcome]:
    outcomes = []
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        match = _CASE.match(case.get("name", ""))
        if not match:
            continue
        test, scenario = match.groups()
        failure = case.find("failure")
        error = case.find("error")
        skipped = case.find("skipped")
        if failure is not None or error is not None:
            node = failure if failure is not None else error
            status = "xpassed" if "XPASS" in (node.get("message") or "") else "failed"
            outcomes.append(Outcome(test, scenario, status, _verdict(node)))
        elif skipped is not None:
            message = skipped.get("message") or ""
            if skipped.get("type") == "pytest.xfail":
                outcomes.append(Outcome(test, scenario, "xfailed", message))
            elif "unsupported:" in message:
                outcomes.append(Outcome(test, scenario, "unsupported", message.split("unsupported:", 1)[1].strip()))
            else:
                outcomes.append(Outcome(test, scenario, "skipped", message))
        else:
            outcomes.append(Outcome(test, scenario, "passed"))
    return outcomes


def _section(title: str, outcomes: list[Outcome]) -> list[str]:
    if not outcomes:
        return []
    return [f"  {title}:"] + [f"    {o.scenario}: {o.reason}" for o in sorted(outcomes, key=lambda o: o.scenario)]


def report(outcomes: list[Outcome]) -> tuple[str, int]:
    def pick(test: str, status: str) -> list[Outcome]:
        return [o for o in outcomes if o.test == test and o.status == status]

    ours = "test_packse"
    failed = pick(ours, "failed")
    lines = [
        f"packse: {len(pick(ours, 'passed'))} passed, {len(failed)} failed, "
        f"{len(pick(ours, 'unsupported'))} unsupported"
        + (f", {len(pick(ours, 'skipped'))} skipped" if pick(ours, "skipped") else ""),
    ]
    lines += _section("failed", failed)
    lines += _section("unsupported", pick(ours, "unsupported"))
    lines += _section("skipped", pick(ours, "skipped"))

    uv = "test_packse_index_matches_uv"
    uv_failed = pick(uv, "failed") + pick(uv, "xpassed")
    lines.append(
        f"uv cross-check (is the built index right?): {len(pick(uv, 'passed'))} passed, {len(uv_failed)} failed, "
        f"{len(pick(uv, 'xfailed'))} known uv disagreements, {len(pick(uv, 'unsupported'))} unsupported"
    )
    lines += _section("failed", uv_failed)
    lines += _section("known uv disagreements", pick(uv, "xfailed"))
    return "\n".join(lines), (1 if failed else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xml", type=Path, help="read this junit xml instead of running pytest")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    if args.xml:
        outcomes = parse_junit(args.xml)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            xml_path = Path(tmp) / "packse.xml"
            run_pytest(xml_path, args.pytest_args)
            if not xml_path.exists():
                print("packse: pytest produced no report (collection failed?)", file=sys.stderr)
                return 2
            outcomes = parse_junit(xml_path)
    text, status = report(outcomes)
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
