"""Command-line face of incrinstall: arguments in, errors out (text, JSON and exit codes).

The parser and the error rendering live here, light enough for `--help`; what each command does
with its arguments is commands.py, imported once the arguments are parsed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from incrinstall import __version__
from incrinstall.common.config import INDEX_STRATEGIES, PRERELEASE_MODES
from incrinstall.common.errors import IncrinstallError, ResolutionError
from incrinstall.resolve.kept import always_kept_text

if TYPE_CHECKING:
    from incrinstall.commands import Console


DESCRIPTION = """\
Install only the dependency delta since a cached baseline.

  incrinstall baseline ARCHIVE       install a project's dependencies from its main-branch archive
  incrinstall sync [DIR]             bring the environment in line with DIR's current spec files
  incrinstall plan [DIR]             show what sync would change, and why
  incrinstall specs [DIR]            show the root requirements DIR's spec files ask for
  incrinstall recipe [DIR] --out D   copy only DIR's spec files to D (a Docker build's cached layer);
                                     --dockerfile / --check DOCKERFILE: the Dockerfile stage that copies them
  incrinstall bench [DIR]            time sync against a full uv install and the hand-made approach
"""
PROJECT_DIR_HELP = "the project's folder, where pyproject.toml is (default: the current folder)"
# README's --exact bullet says the same words (tests/e2e/test_cli_help.py compares them).
EXACT_KEEPS = (f"{always_kept_text()} are always kept, and so are the project's own packages and, when "
               "incrinstall runs inside the target, what it needs")


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what to install")
    g.add_argument("--extra", action="append", default=[], metavar="NAME",
                   help="include an optional-dependency group of the project (repeatable)")
    g.add_argument("--all-extras", action="store_true", help="include every optional-dependency group")
    g.add_argument("--group", action="append", default=[], metavar="NAME",
                   help="include a PEP 735 [dependency-groups] group (repeatable)")
    g.add_argument("--no-default-groups", action="store_true",
                   help="with a lock: leave out the groups uv sync installs unasked ([tool.uv] default-groups, "
                        "\"dev\" when unset; a pylock.toml's default-groups)")
    g.add_argument("--all-packages", action="store_true",
                   help="every uv workspace member, not only the root project and what it reaches "
                        "(as uv sync --all-packages); --group then also takes each member's group")
    g.add_argument("--package", action="append", default=[], metavar="NAME",
                   help="only this workspace member and what it reaches (repeatable; as uv sync --package)")
    g.add_argument("-r", "--requirement", action="append", default=[], metavar="FILE",
                   help="also install what a requirements file lists (repeatable)")
    g.add_argument("-c", "--constraint", action="append", default=[], metavar="FILE_OR_URL",
                   help="restrict versions with a constraints file; adds no packages (repeatable)")
    g.add_argument("--provider", action="append", default=[], metavar="ID",
                   help="only these in-tree providers (provider.yaml), e.g. amazon or apache.hive (repeatable)")
    g.add_argument("--provider-devel", action="store_true",
                   help="include the devel-dependencies of provider.yaml files")
    g.add_argument("--python", metavar="PATH",
                   help="target interpreter (default: the active virtualenv, else python3 on PATH); "
                        "markers and requires-python are evaluated for it")


def _add_index(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("package index")
    g.add_argument("--index-url", metavar="URL",
                   help="the default simple-API index (default: $UV_DEFAULT_INDEX, $UV_INDEX_URL, $PIP_INDEX_URL, "
                        "the project's [tool.uv] index, else PyPI); user:password@ in the URL is sent as Basic auth "
                        "and never shown; ~/.netrc ($NETRC) is read too")
    g.add_argument("--extra-index-url", action="append", default=[], metavar="URL",
                   help="another index, searched before the default one, earlier ones first "
                        "(default: $UV_INDEX, $UV_EXTRA_INDEX_URL, $PIP_EXTRA_INDEX_URL; plus the project's)")
    g.add_argument("--find-links", "-f", action="append", default=[], metavar="DIR_OR_URL",
                   help="a folder or page of distribution files to consider too (default: $UV_FIND_LINKS)")
    g.add_argument("--no-index", action="store_true", help="use only --find-links")
    g.add_argument("--allow-insecure-http", action="store_true",
                   help="accept plain http:// indexes, find-links and archive URLs (loopback indexes need no flag)")
    g.add_argument("--offline", action="store_true", help="never touch the network; use cached index pages")
    g.add_argument("--index-strategy", choices=list(INDEX_STRATEGIES), default=None,
                   help="how several indexes combine, as in uv (default: $UV_INDEX_STRATEGY, the project's, else "
                        "first-index: a package comes only from the first index that has it; unsafe-first-match: "
                        "the first index's versions first, then others'; unsafe-best-match: the best version "
                        "of any index)")
    g.add_argument("--exclude-newer", metavar="WHEN",
                   help="ignore files uploaded at or after WHEN: an RFC 3339 timestamp (2025-01-31T00:00:00Z), a "
                        "date (2025-01-31), or a duration back from now (\"4 days\", \"1 week\", P7D), as in uv "
                        "(default: $UV_EXCLUDE_NEWER, the project's [tool.uv] exclude-newer)")
    g.add_argument("--exclude-newer-package", action="append", default=[], metavar="NAME=WHEN",
                   help="a cutoff for one package, in the same forms (or NAME=false for none), over "
                        "--exclude-newer (repeatable)")
    g.add_argument("--prerelease", choices=PRERELEASE_MODES, default=None,
                   help="when to consider pre-releases (default: $UV_PRERELEASE, the project's, else "
                        "if-necessary-or-explicit: only if named by a root requirement's specifier or "
                        "if a package has nothing else)")


def _add_lock(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("lock file (uv.lock or pylock.toml at the project root: the lock is the truth)")
    g.add_argument("--frozen", action="store_true",
                   help="install the uv.lock as it is, without `uv lock --check` (as uv sync --frozen)")
    g.add_argument("--no-lock", action="store_true", help="ignore the tree's lock file and resolve the specs")
    g.add_argument("--lock", metavar="FILE", dest="lock_file",
                   help="install from this PEP 751 lock file (pylock.toml or pylock.NAME.toml)")


def _add_apply(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("applying")
    g.add_argument("--exact", action="store_true",
                   help=f"also remove packages that incrinstall did not install ({EXACT_KEEPS})")
    g.add_argument("--lock-timeout", type=float, metavar="SECONDS",
                   help="give up when another incrinstall holds the environment's lock this long (default: wait)")
    g.add_argument("--compile-bytecode", action="store_true", help="compile .pyc files after installing (uv)")
    g.add_argument("--require-hashes", action="store_true",
                   help="refuse to install any package whose file the index gives no sha256 for (nothing is changed)")
    g.add_argument("--break-system-packages", action="store_true",
                   help="allow changing an interpreter its distribution marks EXTERNALLY-MANAGED (PEP 668)")
    g.add_argument("--system", action="store_true",
                   help="allow changing the python3 found on PATH when no virtual environment is active (as uv's "
                        "--system); an interpreter named with --python needs no flag")


def _add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("-v", "--verbose", action="store_true", help="print what happens on the way")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="incrinstall", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 success, 1 unsatisfiable specs (or `plan --check` found changes), 2 bad input or failure.",
    )
    parser.add_argument("--version", action="version", version=f"incrinstall {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("specs", help="print the root requirements the spec files ask for, with provenance",
                       description="Print the root requirements that PROJECT_DIR's spec files ask for, where each "
                                   "came from (file:line), every file read, and the spec fingerprint.")
    p.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR", help=PROJECT_DIR_HELP)
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    _add_output(p)

    p = sub.add_parser("plan", help="show what a sync would install, upgrade, downgrade and remove, and why",
                       description="Resolve PROJECT_DIR's current specs against the target environment and print "
                                   "one line per change with its reason. Changes nothing.")
    p.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR", help=PROJECT_DIR_HELP)
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    p.add_argument("--exact", action="store_true",
                   help=f"plan removal of packages incrinstall did not install too ({EXACT_KEEPS})")
    p.add_argument("--check", action="store_true", help="exit 1 when the plan is not empty (is this image up to date?)")
    p.add_argument("--all", action="store_true", help="list unchanged packages too")
    _add_output(p)

    p = sub.add_parser("sync", help="install only what differs from PROJECT_DIR's current specs",
                       description="Resolve PROJECT_DIR's current spec files, preferring what is installed, then "
                                   "install only the packages that differ and remove those no longer needed.")
    p.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR", help=PROJECT_DIR_HELP)
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    _add_apply(p)
    p.add_argument("--editable", action="store_true",
                   help="install the project itself, editable and without dependencies, at the end")
    p.add_argument("--dry-run", action="store_true", help="only print the plan (same as `incrinstall plan`)")
    _add_output(p)

    p = sub.add_parser("baseline", help="install a project's dependencies from its source archive",
                       description="Unpack ARCHIVE (https URL, file:// URL, .tar.gz/.tgz/.tar/.zip or a directory), "
                                   "collect its spec files, and install its dependencies (never the project "
                                   "itself) into the target. Records the result as the baseline for later syncs.")
    p.add_argument("archive", metavar="ARCHIVE")
    p.add_argument("--sha256", metavar="HEX", help="verify the downloaded archive before unpacking")
    p.add_argument("--max-size", type=int, metavar="BYTES",
                   help="refuse archives that unpack to more than this (default 2 GiB)")
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    _add_apply(p)
    _add_output(p)

    p = sub.add_parser("bench", help="time sync against a full uv install and the hand-made approach",
                       description="Time `incrinstall sync` on PROJECT_DIR against a full uv install into a new "
                                   "venv and the hand-made approach (`uv pip install -r pyproject.toml` on a "
                                   "baseline), in scratch copies: your environment and files are never changed. "
                                   "Scenarios: no-op, and with --change FILE, your edited spec file.")
    p.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR", help=PROJECT_DIR_HELP)
    p.add_argument("--change", metavar="FILE",
                   help="an edited copy of one of the project's spec files; the sync after it is timed")
    p.add_argument("--change-target", metavar="RELPATH",
                   help="which project file --change replaces, when its name is not unique in the tree")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="timed runs per tool and scenario (default 5)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder and print where it is")
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    _add_output(p)

    p = sub.add_parser("recipe", help="copy only the spec files into a folder (the cached layer of a Docker build)",
                       description="Copy exactly the files spec collection and the build backend read (with the "
                                   "same selection options) into OUT, at their relative paths, with fixed metadata, "
                                   "leaving license and VCS files out, plus the import roots of the project's "
                                   "editable install. `sync` on OUT gives what it gives on PROJECT_DIR, and "
                                   "`sync --editable` on OUT imports the sources copied over it later.")
    p.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR", help=PROJECT_DIR_HELP)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", metavar="DIR", help="the recipe folder (replaced when it holds a recipe)")
    what.add_argument("--dockerfile", action="store_true",
                      help="print the Dockerfile stage that copies exactly the recipe's files (and makes its "
                           "placeholders) into /specs, for `recipe /specs --out .` in the install step")
    what.add_argument("--check", metavar="DOCKERFILE",
                      help="exit 1 when the Dockerfile's stage (--stage) no longer provides every file the recipe "
                           "holds; print the stage to use instead")
    p.add_argument("--stage", default="specs", metavar="NAME",
                   help="the Dockerfile stage --dockerfile writes and --check reads (default: specs)")
    p.add_argument("--no-editable", action="store_true",
                   help="a recipe for a sync without --editable: the project's editable install need not be "
                        "possible from it (use when `recipe` says it is not)")
    _add_selection(p)
    _add_index(p)
    _add_lock(p)
    _add_output(p)
    return parser


# -- errors: the one place an IncrinstallError becomes text, a JSON object and an exit code --

# 1: the requirements cannot be met (like a failed `plan --check`, an answer about the specs);
# 2: anything else went wrong (bad input, unreachable index, uv failed).
_EXIT_CODES: dict[type[IncrinstallError], int] = {ResolutionError: 1}


def exit_code(exc: IncrinstallError) -> int:
    """The exit code for `exc`: that of the nearest kind in its class hierarchy with one, else 2."""
    for kind in type(exc).__mro__:
        if kind in _EXIT_CODES:
            return _EXIT_CODES[kind]
    return 2


def render_error(exc: IncrinstallError) -> str:
    """`where: message`, then the detail lines (uv's output, a hook's traceback), as stderr shows them."""
    head = f"{exc.where}: {exc.message}" if exc.where else exc.message
    return f"{head}\n{exc.detail.rstrip()}" if exc.detail else head


def error_json(exc: IncrinstallError) -> dict[str, Any]:
    """The error as --json reports it: its kind (the class name), message, where, detail, exit code and fields."""
    out: dict[str, Any] = {"kind": type(exc).__name__, "message": exc.message, "where": exc.where, "detail": exc.detail,
                 "exit_code": exit_code(exc)}
    for key, value in vars(exc).items():  # the kind's own fields (HashMismatch.expected, ...)
        if not key.startswith("_") and key not in out and isinstance(value, (str, int, float, bool, type(None))):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw_argv)
    args.raw_argv = raw_argv
    if args.command is None:
        parser.print_help()
        return 2
    # The commands and the stages they run: `--help` and a misspelt option never pay for them.
    from incrinstall.commands import Console, run_command

    console = Console(quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False))
    try:
        return _run(args, console, run_command)
    except BrokenPipeError:
        # The reader went away (`incrinstall plan --json | head`): stop quietly, as a shell tool does.
        # Python would report the pipe again when it flushes stdout at exit, so point stdout at nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _run(args: argparse.Namespace, console: Console,
         run_command: Callable[[argparse.Namespace, Console], int]) -> int:
    try:
        return run_command(args, console)
    except IncrinstallError as exc:
        print(f"error: {render_error(exc)}", file=sys.stderr)
        if getattr(args, "json", False):  # stdout stays one JSON object, failure or not
            print(json.dumps({"error": error_json(exc)}, indent=2))
        return exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
