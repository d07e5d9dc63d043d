"""Command-line face of incrinstall: arguments in, rendering out; the work happens in pipeline.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from incrinstall import __version__
from incrinstall.common.config import INDEX_STRATEGIES, PRERELEASE_MODES
from incrinstall.common.errors import IncrinstallError, ResolutionError
from incrinstall.resolve.kept import always_kept_text


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


class Console:
    """Plain lines for logs (Docker RUN steps); a little colour only on a terminal without NO_COLOR."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False):
        self.quiet = quiet
        self.verbose = verbose
        self.color = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def out(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def info(self, text: str) -> None:
        """Progress notes go to stderr, so stdout stays the result."""
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def debug(self, text: str) -> None:
        if self.verbose:
            print(text, file=sys.stderr, flush=True)


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


def _selection(args, index=None):
    """What to install; UV_CONSTRAINT's files (read into the IndexConfig) join the -c files."""
    from incrinstall.specs.model import Selection

    constraints = tuple(args.constraint) + (index.constraint_files if index is not None else ())
    return Selection(
        extras=tuple(args.extra), all_extras=args.all_extras, groups=tuple(args.group),
        requirement_files=tuple(args.requirement), constraint_files=tuple(dict.fromkeys(constraints)),
        providers=tuple(args.provider), provider_devel=args.provider_devel,
        all_packages=args.all_packages, packages=tuple(args.package), no_default_groups=args.no_default_groups,
        lock_file=getattr(args, "lock_file", None), no_lock=getattr(args, "no_lock", False),
    )


def _index(args, project_dir: Path | None = None):
    """The one configuration of where packages come from (options, uv's env vars, the project's [tool.uv])."""
    from incrinstall.common.config import index_config, refuse_insecure_indexes

    config = index_config(args.index_url, args.extra_index_url, args.find_links, offline=args.offline,
                          no_index=args.no_index, index_strategy=args.index_strategy, prerelease=args.prerelease,
                          exclude_newer=args.exclude_newer, exclude_newer_package=args.exclude_newer_package,
                          project_dir=project_dir, resolving=not _locked(args, project_dir))
    refuse_insecure_indexes(config, allowed=args.allow_insecure_http)
    return config


def _locked(args, project_dir: Path | None) -> bool:
    """Will a lock decide what is installed (so that incrinstall's resolver needs none of the project's settings)?"""
    if project_dir is None or not project_dir.is_dir():
        return False
    from incrinstall.specs import lockfile
    from incrinstall.specs.model import Selection

    chosen = Selection(lock_file=getattr(args, "lock_file", None), no_lock=getattr(args, "no_lock", False))
    return lockfile.find(project_dir, chosen) is not None


def _options(args, project_dir: Path, *, settings_dir: Path | None = None, read_settings: bool = True):
    """`settings_dir`: where the project's uv settings are read (default: `project_dir`)."""
    from incrinstall.pipeline import Options

    index = _index(args, (settings_dir or project_dir) if read_settings else None)
    return Options(
        project_dir=project_dir, selection=_selection(args, index), python=args.python, index=index,
        exact=getattr(args, "exact", False), prerelease=index.prerelease,
        editable=getattr(args, "editable", False), lock_timeout=getattr(args, "lock_timeout", None),
        compile_bytecode=getattr(args, "compile_bytecode", False),
        require_hashes=getattr(args, "require_hashes", False),
        break_system_packages=getattr(args, "break_system_packages", False),
        system=getattr(args, "system", False),
        frozen=getattr(args, "frozen", False),
    )


def _project_dir(path: str) -> Path:
    from incrinstall.common.errors import SpecError

    p = Path(path).resolve()
    if not p.is_dir():
        raise SpecError(f"project directory {path} does not exist")
    return p


def cmd_specs(args, console: Console) -> int:
    from incrinstall.specs import collect as specs
    from incrinstall.environment.interpreter import find_interpreter

    interpreter = find_interpreter(args.python)
    project_dir = _project_dir(args.project_dir)
    index = _index(args, project_dir)
    selection = _selection(args, index)
    specset = specs.collect(project_dir, selection, dict(interpreter.markers),
                            python_full_version=interpreter.version, python=interpreter.executable,
                            index=index)
    from incrinstall.specs import lockfile

    # The lock a sync would install from is a spec file too (its fingerprint is the one plan and sync record).
    specset = lockfile.watched(specset, lockfile.find(project_dir, selection), dict(interpreter.markers))
    for note in specset.notes:
        console.debug(note)
    if args.json:
        print(json.dumps(specset.to_json(), indent=2))
    else:
        console.out(specs.render_text(specset))
    return 0


def _describe_python(interpreter) -> str:
    return f"{interpreter.executable} (Python {interpreter.version}, from {interpreter.found_by})"


def cmd_plan(args, console: Console) -> int:
    from incrinstall import pipeline
    from incrinstall.environment.interpreter import find_interpreter
    from incrinstall.resolve.plan import render

    options = _options(args, _project_dir(args.project_dir))
    interpreter = find_interpreter(options.python)
    planned = pipeline.make_plan(options, interpreter, report=console.debug)
    for note in planned.specset.notes:
        console.debug(note)
    lock = planned.resolution.lock
    if args.json:
        data = planned.plan.to_json(python=interpreter.executable, fingerprint=planned.specset.fingerprint,
                                    index_requests=planned.index_requests)
        if lock is not None:
            data["lock"] = {"file": lock.file, "format": lock.format, "sha256": lock.sha256}
        print(json.dumps(data, indent=2))
    else:
        console.out(f"target: {_describe_python(interpreter)}")
        if lock is not None:
            console.out(f"lock: {lock.file} (sha256 {lock.sha256[:16]}...)")
        console.out(render(planned.plan, show_keep=args.all))
        console.out(f"index requests: {planned.index_requests}")
    return 1 if args.check and not planned.plan.is_empty else 0


def _summary_json(outcome, python: str) -> dict:
    if outcome.planned is None:
        return {"python": python, "noop": True, "seconds": round(outcome.seconds, 4),
                "installed": [], "removed": [], "changed": [], "unchanged": None, "index_requests": 0}
    plan = outcome.planned.plan
    return {
        "python": python,
        "noop": outcome.noop,
        "fingerprint": outcome.planned.specset.fingerprint,
        "installed": [f"{a.name}=={a.to_version}" for a in plan.of("install")],
        "removed": [f"{a.name}=={a.from_version}" for a in plan.of("remove")],
        "changed": [{"name": a.name, "from": a.from_version, "to": a.to_version}
                    for a in plan.of("upgrade", "downgrade", "reinstall")],
        "unchanged": len(plan.of("keep")),
        "editable": outcome.editable_installed,
        "index_requests": outcome.planned.index_requests,
        "seconds": round(outcome.seconds, 4),
    }


def _print_summary(outcome, console: Console, verb: str) -> None:
    if outcome.planned is None:
        console.out(f"{verb}: nothing to do, specs and environment unchanged ({outcome.seconds:.3f} s)")
        return
    plan = outcome.planned.plan
    for a in plan.of("install"):
        console.out(console.paint(f"+ {a.name}=={a.to_version}", "32"))
    for a in plan.of("upgrade", "downgrade"):
        console.out(console.paint(f"~ {a.name} {a.from_version} -> {a.to_version}", "33"))
    for a in plan.of("reinstall"):
        console.out(console.paint(f"~ {a.name} {a.to_version} ({a.reason})", "33"))
    for a in plan.of("remove"):
        console.out(console.paint(f"- {a.name}=={a.from_version}", "31"))
    if outcome.editable_installed:
        console.out(f"+ {outcome.planned.specset.project_name} (editable, {outcome.planned.specset.project_dir})")
    changed = len(plan.changes)
    console.out(f"{verb}: {changed} changed, {len(plan.of('keep'))} unchanged, "
                f"{outcome.planned.index_requests} index requests, {outcome.seconds:.2f} s")


def cmd_sync(args, console: Console) -> int:
    from incrinstall import pipeline

    if args.dry_run:
        args.check = False
        args.all = False
        return cmd_plan(args, console)
    options = _options(args, _project_dir(args.project_dir))
    outcome = pipeline.sync(options, report=console.info)
    for note in outcome.planned.specset.notes if outcome.planned else ():
        console.debug(note)
    from incrinstall.fastpath import remember_invocation

    # Next time, this exact command can be answered before it is even parsed (incrinstall/__main__.py).
    remember_invocation(args.raw_argv, outcome.prefix)
    if args.json:
        python = outcome.planned.interpreter.executable if outcome.planned else (args.python or "")
        print(json.dumps(_summary_json(outcome, python), indent=2))
    else:
        _print_summary(outcome, console, "sync")
    return 0


def cmd_baseline(args, console: Console) -> int:
    from incrinstall import pipeline

    # The project's uv settings are those of the unpacked tree: `configure` reads them once it exists.
    source = Path(args.archive)
    # (An empty argument is refused by the baseline itself; it must not read the current folder's settings first.)
    options = _options(args, Path.cwd(), settings_dir=source.resolve(),
                       read_settings=bool(args.archive.strip()) and source.is_dir())
    outcome = pipeline.baseline(args.archive, options, sha256=args.sha256,
                                allow_insecure_http=args.allow_insecure_http, max_size=args.max_size,
                                report=console.info, configure=lambda tree: _options(args, tree))
    if args.json:
        print(json.dumps(_summary_json(outcome, outcome.planned.interpreter.executable), indent=2))
    else:
        _print_summary(outcome, console, "baseline")
    return 0


def cmd_bench(args, console: Console) -> int:
    from incrinstall import bench

    project_dir = _project_dir(args.project_dir)
    index = _index(args, project_dir)
    report = bench.run_bench(
        project_dir, change_file=args.change, change_target=args.change_target, runs=args.runs,
        python=args.python, index=index, selection=_selection(args, index), report=console.info, keep=args.keep,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        console.out(bench.render_table(report))
    return 0


COMMANDS = {"specs": cmd_specs, "plan": cmd_plan, "sync": cmd_sync, "baseline": cmd_baseline, "bench": cmd_bench}


def cmd_recipe(args, console: Console) -> int:
    from incrinstall import recipe
    from incrinstall.specs import collect as specs
    from incrinstall.environment.interpreter import find_interpreter

    interpreter = find_interpreter(args.python)
    project_dir = _project_dir(args.project_dir)
    selection = _selection(args)
    index = _index(args)
    specset = specs.collect(project_dir, selection, dict(interpreter.markers),
                            python_full_version=interpreter.version, python=interpreter.executable,
                            index=index)
    # The lock the sync installs from is a spec file of the recipe (outside the project it cannot be one).
    from incrinstall.specs import lockfile

    lock = lockfile.find(project_dir, selection)
    if lock is not None:
        specset.files = sorted(set(specset.files) | {lock.rel})
    if args.out is None:
        return _recipe_dockerfile(args, console, specset, interpreter, index, project_dir)
    written = recipe.make(specset, args.out, python=interpreter.executable, python_version=interpreter.version,
                          index=index, editable=not args.no_editable, report=console.debug)
    if args.json:
        print(json.dumps(written.to_json(), indent=2))
    else:
        for rel in written.files:
            console.out(rel)
        for rel in written.placeholders:
            console.out(f"{rel}  (empty placeholder, for the backend to find the package)")
        for rel in written.excluded:
            console.debug(f"left out {rel}: a license, VCS or build-output file")
        roots = ", ".join(written.roots) if written.roots is not None else "none (no editable install from it)"
        console.info(f"recipe: {len(written.files)} files, {len(written.placeholders)} placeholders, "
                     f"import roots: {roots} -> {written.out}")
    return 0


COMMANDS["recipe"] = cmd_recipe


def _recipe_dockerfile(args, console: Console, specset, interpreter, index, project_dir: Path) -> int:
    """`recipe --dockerfile` / `--check DOCKERFILE`: the recipe made (and checked) in a scratch folder, as a stage."""
    import tempfile

    from incrinstall import recipe, recipe_dockerfile

    with tempfile.TemporaryDirectory(prefix="incrinstall-recipe-") as scratch:
        written = recipe.make(specset, Path(scratch) / "recipe", python=interpreter.executable,
                              python_version=interpreter.version, index=index, editable=not args.no_editable,
                              report=console.debug)
    stage = recipe_dockerfile.block(written.files, written.placeholders, stage=args.stage)
    if args.dockerfile:
        if args.json:
            print(json.dumps({"dockerfile": stage, "files": written.files, "placeholders": written.placeholders},
                             indent=2))
        else:
            console.out(stage.rstrip("\n"))
        return 0
    found = recipe_dockerfile.check(written.files, written.placeholders, args.check, project_dir, stage=args.stage)
    if args.json:
        print(json.dumps({"ok": found.ok, "missing": found.missing, "missing_placeholders": found.missing_placeholders,
                          "unneeded": found.unneeded, "dockerfile": stage}, indent=2))
        return 0 if found.ok else 1
    for rel in found.missing:
        console.out(f"{args.check}: stage {args.stage!r} does not copy {rel}, which the recipe holds")
    for rel in found.missing_placeholders:
        console.out(f"{args.check}: stage {args.stage!r} does not make {rel} (an empty placeholder)")
    for rel in found.unneeded:
        console.info(f"note: stage {args.stage!r} copies {rel}, which the recipe does not hold (an edit to it "
                     "reruns the install step)")
    if not found.ok:
        console.out(f"the stage to use (incrinstall recipe --dockerfile):\n{stage.rstrip()}")
        return 1
    console.info(f"{args.check}: stage {args.stage!r} provides the recipe's {len(written.files)} files and "
                 f"{len(written.placeholders)} placeholders")
    return 0


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


def error_json(exc: IncrinstallError) -> dict:
    """The error as --json reports it: its kind (the class name), message, where, detail, exit code and fields."""
    out: dict = {"kind": type(exc).__name__, "message": exc.message, "where": exc.where, "detail": exc.detail,
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
    console = Console(quiet=getattr(args, "quiet", False), verbose=getattr(args, "verbose", False))
    try:
        return _run(args, console)
    except BrokenPipeError:
        # The reader went away (`incrinstall plan --json | head`): stop quietly, as a shell tool does.
        # Python would report the pipe again when it flushes stdout at exit, so point stdout at nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _run(args, console: Console) -> int:
    try:
        return COMMANDS[args.command](args, console)
    except IncrinstallError as exc:
        print(f"error: {render_error(exc)}", file=sys.stderr)
        if getattr(args, "json", False):  # stdout stays one JSON object, failure or not
            print(json.dumps({"error": error_json(exc)}, indent=2))
        return exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
