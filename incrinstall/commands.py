"""What each command does with its parsed arguments: run the pipeline (or the recipe, or the bench) and render the result.

cli.py parses the arguments and turns errors into exit codes; this module builds the Options,
answers an unchanged sync without importing the pipeline, and prints what the pipeline returns.
Its top-level imports are what that no-op answer needs; each command imports its heavier stage
where it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from incrinstall.common.config import IndexConfig, index_config, refuse_insecure_indexes
from incrinstall.common.errors import SpecError
from incrinstall.environment.interpreter import Interpreter, find_interpreter
from incrinstall.fastpath import remember_invocation
from incrinstall.install.model import Options, Outcome
from incrinstall.install.stamp import unchanged_since_last_sync
from incrinstall.specs import lockfile
from incrinstall.specs.model import Selection, SpecSet


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


def run_command(args: argparse.Namespace, console: Console) -> int:
    """Run the command `args` names; its exit code (errors propagate, cli.py renders them)."""
    return COMMANDS[args.command](args, console)


# -- from the arguments to the Options ------------------------------------------------------------


def _selection(args: argparse.Namespace, index: IndexConfig | None = None) -> Selection:
    """What to install; UV_CONSTRAINT's files (read into the IndexConfig) join the -c files."""
    constraints = tuple(args.constraint) + (index.constraint_files if index is not None else ())
    return Selection(
        extras=tuple(args.extra), all_extras=args.all_extras, groups=tuple(args.group),
        requirement_files=tuple(args.requirement), constraint_files=tuple(dict.fromkeys(constraints)),
        providers=tuple(args.provider), provider_devel=args.provider_devel,
        all_packages=args.all_packages, packages=tuple(args.package), no_default_groups=args.no_default_groups,
        lock_file=getattr(args, "lock_file", None), no_lock=getattr(args, "no_lock", False),
    )


def _index(args: argparse.Namespace, project_dir: Path | None = None) -> IndexConfig:
    """The one configuration of where packages come from (options, uv's env vars, the project's [tool.uv])."""
    config = index_config(args.index_url, args.extra_index_url, args.find_links, offline=args.offline,
                          no_index=args.no_index, index_strategy=args.index_strategy, prerelease=args.prerelease,
                          exclude_newer=args.exclude_newer, exclude_newer_package=args.exclude_newer_package,
                          project_dir=project_dir, resolving=not _locked(args, project_dir))
    refuse_insecure_indexes(config, allowed=args.allow_insecure_http)
    return config


def _locked(args: argparse.Namespace, project_dir: Path | None) -> bool:
    """Will a lock decide what is installed (so that incrinstall's resolver needs none of the project's settings)?"""
    if project_dir is None or not project_dir.is_dir():
        return False
    chosen = Selection(lock_file=getattr(args, "lock_file", None), no_lock=getattr(args, "no_lock", False))
    return lockfile.find(project_dir, chosen) is not None


def _options(args: argparse.Namespace, project_dir: Path, *, settings_dir: Path | None = None,
             read_settings: bool = True) -> Options:
    """`settings_dir`: where the project's uv settings are read (default: `project_dir`)."""
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
    p = Path(path).resolve()
    if not p.is_dir():
        raise SpecError(f"project directory {path} does not exist")
    return p


# -- the commands ---------------------------------------------------------------------------------


def cmd_specs(args: argparse.Namespace, console: Console) -> int:
    from incrinstall.specs import collect as specs  # the spec readers: not for an unchanged sync

    interpreter = find_interpreter(args.python)
    project_dir = _project_dir(args.project_dir)
    index = _index(args, project_dir)
    selection = _selection(args, index)
    specset = specs.collect(project_dir, selection, dict(interpreter.markers),
                            python_full_version=interpreter.version, python=interpreter.executable,
                            index=index)
    # The lock a sync would install from is a spec file too (its fingerprint is the one plan and sync record).
    specset = lockfile.watched(specset, lockfile.find(project_dir, selection), dict(interpreter.markers))
    for note in specset.notes:
        console.debug(note)
    if args.json:
        print(json.dumps(specset.to_json(), indent=2))
    else:
        console.out(specs.render_text(specset))
    return 0


def _describe_python(interpreter: Interpreter) -> str:
    return f"{interpreter.executable} (Python {interpreter.version}, from {interpreter.found_by})"


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    from incrinstall import pipeline  # every stage: not for an unchanged sync
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


def _summary_json(outcome: Outcome, python: str) -> dict[str, Any]:
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
        "members_editable": [{"name": name, "folder": folder} for name, folder in outcome.members_installed],
        "index_requests": outcome.planned.index_requests,
        "seconds": round(outcome.seconds, 4),
    }


def _print_summary(outcome: Outcome, console: Console, verb: str) -> None:
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
    for name, folder in outcome.members_installed:
        console.out(f"+ {name} (workspace member, editable, {folder})")
    changed = len(plan.changes)
    console.out(f"{verb}: {changed} changed, {len(plan.of('keep'))} unchanged, "
                f"{outcome.planned.index_requests} index requests, {outcome.seconds:.2f} s")


def cmd_sync(args: argparse.Namespace, console: Console) -> int:
    if args.dry_run:
        args.check = False
        args.all = False
        return cmd_plan(args, console)
    options = _options(args, _project_dir(args.project_dir))
    started = time.perf_counter()
    interpreter = find_interpreter(options.python)
    if unchanged_since_last_sync(interpreter.prefix, interpreter.site_dirs, dict(interpreter.markers),
                                 project_dir=str(options.project_dir), options=options.stamp_options(),
                                 selection=options.selection):
        outcome = Outcome(None, True, time.perf_counter() - started, prefix=interpreter.prefix)
    else:
        from incrinstall import pipeline  # every stage: only a sync with work to do pays for them

        outcome = pipeline.sync(options, report=console.info, known_changed=True)
    for note in outcome.planned.specset.notes if outcome.planned else ():
        console.debug(note)
    # Next time, this exact command can be answered before it is even parsed (incrinstall/__main__.py).
    remember_invocation(args.raw_argv, outcome.prefix)
    if args.json:
        python = outcome.planned.interpreter.executable if outcome.planned else (args.python or "")
        print(json.dumps(_summary_json(outcome, python), indent=2))
    else:
        _print_summary(outcome, console, "sync")
    return 0


def cmd_baseline(args: argparse.Namespace, console: Console) -> int:
    from incrinstall import pipeline  # every stage

    # The project's uv settings are those of the unpacked tree: `configure` reads them once it exists.
    source = Path(args.archive)
    # (An empty argument is refused by the baseline itself; it must not read the current folder's settings first.)
    options = _options(args, Path.cwd(), settings_dir=source.resolve(),
                       read_settings=bool(args.archive.strip()) and source.is_dir())
    outcome = pipeline.baseline(args.archive, options, sha256=args.sha256,
                                allow_insecure_http=args.allow_insecure_http, max_size=args.max_size,
                                report=console.info, configure=lambda tree: _options(args, tree))
    if args.json:
        python = outcome.planned.interpreter.executable if outcome.planned else ""
        print(json.dumps(_summary_json(outcome, python), indent=2))
    else:
        _print_summary(outcome, console, "baseline")
    return 0


def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    from incrinstall import bench  # the benchmark command's own machinery

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


def cmd_recipe(args: argparse.Namespace, console: Console) -> int:
    from incrinstall import recipe  # the recipe's machinery (build backends): not for an unchanged sync
    from incrinstall.specs import collect as specs

    interpreter = find_interpreter(args.python)
    project_dir = _project_dir(args.project_dir)
    selection = _selection(args)
    index = _index(args)
    specset = specs.collect(project_dir, selection, dict(interpreter.markers),
                            python_full_version=interpreter.version, python=interpreter.executable,
                            index=index)
    # The lock the sync installs from is a spec file of the recipe (outside the project it cannot be one).
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


def _recipe_dockerfile(args: argparse.Namespace, console: Console, specset: SpecSet, interpreter: Interpreter,
                       index: IndexConfig, project_dir: Path) -> int:
    """`recipe --dockerfile` / `--check DOCKERFILE`: the recipe made (and checked) in a scratch folder, as a stage."""
    import tempfile

    from incrinstall import recipe, recipe_dockerfile  # the recipe's machinery: not for an unchanged sync

    with tempfile.TemporaryDirectory(prefix="incrinstall-recipe-") as scratch:
        written = recipe.make(specset, Path(scratch) / "recipe", python=interpreter.executable,
                              python_version=interpreter.version, index=index, editable=not args.no_editable,
                              report=console.debug)
    stage = recipe_dockerfile.block(written.files, written.placeholders, written.roots, stage=args.stage)
    if args.dockerfile:
        if args.json:
            print(json.dumps({"dockerfile": stage, "files": written.files, "placeholders": written.placeholders},
                             indent=2))
        else:
            console.out(stage.rstrip("\n"))
        return 0
    found = recipe_dockerfile.check(written.files, written.placeholders, args.check, project_dir,
                                    roots=written.roots, stage=args.stage)
    if args.json:
        print(json.dumps({"ok": found.ok, "missing": found.missing, "missing_placeholders": found.missing_placeholders,
                          "unneeded": found.unneeded, "stale_manifest": found.stale_manifest, "dockerfile": stage},
                         indent=2))
        return 0 if found.ok else 1
    for rel in found.missing:
        console.out(f"{args.check}: stage {args.stage!r} does not copy {rel}, which the recipe holds")
    for rel in found.missing_placeholders:
        console.out(f"{args.check}: stage {args.stage!r} does not make {rel} (an empty placeholder)")
    if found.stale_manifest is not None:
        console.out(f"{args.check}: stage {args.stage!r} is stale: {found.stale_manifest}")
    for rel in found.unneeded:
        console.info(f"note: stage {args.stage!r} copies {rel}, which the recipe does not hold (an edit to it "
                     "reruns the install step)")
    if not found.ok:
        console.out(f"the stage to use (incrinstall recipe --dockerfile):\n{stage.rstrip()}")
        return 1
    console.info(f"{args.check}: stage {args.stage!r} provides the recipe's {len(written.files)} files and "
                 f"{len(written.placeholders)} placeholders")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, Console], int]] = {
    "specs": cmd_specs, "plan": cmd_plan, "sync": cmd_sync, "baseline": cmd_baseline, "bench": cmd_bench,
    "recipe": cmd_recipe,
}
